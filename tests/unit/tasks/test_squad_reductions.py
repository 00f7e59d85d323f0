"""Reductions on question answering through the runner (tiny random BERT, the SQuAD fixture):
shorter windows paired per question, structured pruning and lottery tickets with a span head."""

from __future__ import annotations

import pytest
import torch

from joulebench.configuration import parse_config
from joulebench.models.checkpoints import CheckpointCache
from joulebench.results.store import ResultStore
from joulebench.runner import Runner, RunOptions, paired_baseline
from joulebench.tasks.kinds import supervised_loss

BASE = {"task": "squad", "model": "tiny-random-bert", "max_seq_len": 48, "doc_stride": 16,
        "train": {"batch_size": 4, "epochs": 1},
        "measure": {"batch_size": 8, "repeats": 2, "warmup_calls": 1}}


def _run(tmp_path, fixture_data_dir, cache_dir, reductions, paired=False):
    (config,) = parse_config({**BASE, "reductions": reductions})
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    return runner.run(config, ResultStore.in_dir(tmp_path), baseline=paired_baseline(config) if paired else None)


def test_shorter_windows_are_paired_per_question(tmp_path, fixture_data_dir, cache_dir):
    record = _run(tmp_path, fixture_data_dir, cache_dir, [{"name": "seq_len", "fraction": 0.75}], paired=True)
    vs = record["cost"]["vs_baseline"]
    assert record["reductions"][0]["details"] == {"max_seq_len": 36}
    assert vs["windows"]["target"] > vs["windows"]["baseline"]  # the same questions, cut into more windows
    factor = vs["windows"]["target"] / vs["windows"]["baseline"]
    per_window = [t["energy_j_per_example"] / b["energy_j_per_example"]
                  for t, b in zip(record["cost"]["windows"], vs["baseline_windows"], strict=True)]
    assert vs["energy"]["per_round"] == pytest.approx([r * factor for r in per_window], rel=1e-3)
    assert vs["ratio_unit"].startswith("per question")


def test_the_span_loss_is_the_heads_own_loss_summed(fixture_data_dir):
    from joulebench.models.batching import collate
    from joulebench.models.loading import load_span_model
    from joulebench.tasks import get_task
    from joulebench.tasks.qa import encode_qa

    loaded = load_span_model("tiny-random-bert")
    windows = encode_qa(loaded.tokenizer, get_task("squad").load("train", fixture_data_dir)[:5], 48, 16)
    batch = collate(windows, loaded.tokenizer.pad_token_id, with_labels=True)
    inputs = {k: v for k, v in batch.items() if k not in ("start_positions", "end_positions")}
    with torch.no_grad():
        output = loaded.model.eval()(**inputs)
        own = loaded.model(**batch).loss
    loss, right = supervised_loss(output, batch)
    assert float(loss) == pytest.approx(float(own) * len(windows), rel=1e-5)
    starts, ends = output.start_logits.argmax(-1), output.end_logits.argmax(-1)
    expected = int(((starts == batch["start_positions"]) & (ends == batch["end_positions"])).sum())
    assert right == expected


@pytest.mark.parametrize("params", [
    {"heads_frac": 0.5, "ffn_frac": 0.5, "importance": "gradient", "score_examples": 8},
    {"heads_frac": 0.25, "importance": "magnitude", "retrain": True},
])
def test_structured_pruning_runs_on_question_answering(tmp_path, fixture_data_dir, cache_dir, params):
    record = _run(tmp_path, fixture_data_dir, cache_dir, [{"name": "structured_prune", **params}])
    details = record["reductions"][0]["details"]
    assert details["param_count_after"] < details["param_count_before"]
    kept = sum(len(h) for h in details["heads_kept_per_layer"])
    assert kept == round((1 - params["heads_frac"]) * 2 * 4)  # of 2 layers x 4 heads in the tiny model
    if params["importance"] == "gradient":
        assert details["n_score_examples"] >= 8  # windows of 8 scoring questions
    assert 0 <= record["quality"]["f1"] <= 100 and record["quality"]["predictions_file"]
    assert record["cost"]["param_count"] == details["param_count_after"]


def test_a_lottery_ticket_rewinds_to_the_span_model_and_trains_masked(tmp_path, fixture_data_dir, cache_dir):
    from joulebench.models.loading import load_span_model
    from joulebench.reductions.lottery import TicketMask, global_magnitude_mask, save_mask
    from joulebench.reductions.lottery.targets import prunable_weights

    model = load_span_model("tiny-random-bert", seed=0).model
    weights = {k: w.detach() for k, w in prunable_weights(model, "encoder").items()}
    mask = TicketMask(global_magnitude_mask(weights, 0.5), {"model": "tiny-random-bert", "task": "squad"},
                      targets="encoder")
    path = save_mask(mask, tmp_path / "qa_ticket.safetensors")
    record = _run(tmp_path, fixture_data_dir, cache_dir, [{"name": "ticket", "mask": str(path)}])
    details = record["reductions"][0]["details"]
    assert details["sparsity"] == pytest.approx(0.5, abs=0.01) and details["init"] == "pretrained"
    assert [r["what"] for r in record["train"]["retraining"]] == ["ticket pretrained retrain"]
    assert 0 <= record["quality"]["f1"] <= 100
