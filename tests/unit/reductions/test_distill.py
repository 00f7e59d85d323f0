"""distill: student layers, the loss, and a student trained through the Runner from its teacher."""

import pytest
import torch
from torch.nn import functional as F

from joulebench.configuration import parse_config
from joulebench.errors import UserError
from joulebench.models.checkpoints import CheckpointCache
from joulebench.reductions.distill import distillation_loss, student_layers
from joulebench.runner import Runner, RunOptions


def test_every_other_takes_layers_0_2_4_as_distilbert_does():
    assert student_layers(6, 3, "every_other") == [0, 2, 4]
    assert student_layers(12, 6, "every_other") == [0, 2, 4, 6, 8, 10]


def test_spread_keeps_bottom_and_top_layers_and_bottom_keeps_the_first():
    assert student_layers(6, 4, "spread") == [0, 2, 3, 5]
    assert student_layers(6, 2, "spread") == [0, 5]
    assert student_layers(6, 4, "bottom") == [0, 1, 2, 3]


def test_student_must_be_shallower_and_every_other_must_fit():
    with pytest.raises(UserError, match=r"keep_layers=6 but the teacher has 6"):
        student_layers(6, 6, "spread")
    with pytest.raises(UserError, match="every_other needs"):
        student_layers(6, 4, "every_other")


def test_loss_is_hard_cross_entropy_at_alpha_0_and_temperature_scaled_kl_at_alpha_1():
    student = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    teacher = torch.tensor([[1.0, 1.0], [-2.0, 2.0]])
    labels = torch.tensor([0, 1])
    assert torch.isclose(distillation_loss(student, teacher, labels, 2.0, 0.0), F.cross_entropy(student, labels))
    # by hand: KL(p_t || p_s) at T=2, times T^2, averaged over the batch
    p_t, log_p_s = F.softmax(teacher / 2, -1), F.log_softmax(student / 2, -1)
    by_hand = 4 * (p_t * (p_t.log() - log_p_s)).sum(-1).mean()
    assert torch.isclose(distillation_loss(student, teacher, labels, 2.0, 1.0), by_hand)
    assert float(distillation_loss(teacher, teacher, labels, 3.0, 1.0)) == pytest.approx(0.0, abs=1e-6)


def test_distill_must_come_before_quantization():
    with pytest.raises(UserError, match="distill must come before quantize"):
        parse_config({"task": "sst2", "reductions": ["int8", {"name": "distill", "keep_layers": 1}]})


def _config(reductions, **train):
    (config,) = parse_config({
        "task": "sst2", "model": "tiny-random-bert", "max_seq_len": 32,
        "train": {"batch_size": 16, **train},
        "measure": {"batch_size": 16, "repeats": 2, "warmup_calls": 1}, "reductions": reductions})
    return config


def test_student_trained_from_teacher_through_the_runner_is_cached(fixture_data_dir, cache_dir):
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    spec = {"name": "distill", "keep_layers": 1, "layer_init": "bottom", "hidden_weight": 0.5}
    first = runner.run(_config([spec]))
    details = first["reductions"][0]["details"]
    assert details["layers_kept"] == 1 and details["teacher_layers"] == [0] and details["student_reused"] is False
    training = first["train"]["retraining"]
    assert [t["what"] for t in training] == ["distill student"] and training[0]["steps"] > 0
    assert training[0]["cost"]["energy_j"] is not None
    dense = runner.run(_config([]))
    assert first["cost"]["param_count"] < dense["cost"]["param_count"]
    second = runner.run(_config([spec]))
    assert second["reductions"][0]["details"]["student_reused"] is True
    assert second["quality"]["predictions"] == first["quality"]["predictions"]
    # a different temperature is a different student
    other = runner.run(_config([{**spec, "temperature": 4.0}]))
    assert other["reductions"][0]["details"]["student_reused"] is False


def test_distilled_student_differs_from_layer_drop_retrain_at_the_same_depth(fixture_data_dir, cache_dir):
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    student = runner.run(_config([{"name": "distill", "keep_layers": 1, "layer_init": "bottom", "alpha": 1.0}]))
    dropped = runner.run(_config([{"name": "layer_drop", "keep_layers": 1, "retrain": True}]))
    assert student["train"]["retraining"][0]["steps"] == dropped["train"]["retraining"][0]["steps"]
    assert student["train"]["retraining"][0]["checkpoint"] != dropped["train"]["retraining"][0]["checkpoint"]


def test_a_warm_cache_rerun_trains_nothing_and_the_log_says_each_training_was_reused(fixture_data_dir, cache_dir):
    spec = {"name": "distill", "keep_layers": 1, "layer_init": "bottom"}
    Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir))).run(_config([spec]))
    lines: list[str] = []
    warm = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir),
                             progress=lambda what, done, total: lines.append(what)))
    record = warm.run(_config([spec]))
    assert record["train"]["reused"] is True and record["reductions"][0]["details"]["student_reused"] is True
    assert "train sst2/full: reused from the cache" in lines
    assert "distill student: reused from the cache" in lines
    assert not [line for line in lines if line in ("train sst2/full", "distill student")]  # no training step
