"""SQuAD v1.1: the scorer on hand-made cases, the loader's one-line errors, windows and span decoding."""

from __future__ import annotations

import json

import pytest
import torch

from joulebench.errors import UserError
from joulebench.tasks import get_task
from joulebench.tasks.qa import SpanSearch, encode_qa
from joulebench.tasks.squad import QAExample, parse_squad
from joulebench.tasks.squad_metrics import exact_match, f1, normalize_answer, squad_scores


@pytest.mark.parametrize("text, normal", [
    ("The Eiffel Tower!", "eiffel tower"),
    ("  an   apple,  a pear ", "apple pear"),
    ("Theatre", "theatre"),  # "the" only as a word
    ("U.S.A.", "usa"),
])
def test_normalisation_is_the_official_one(text, normal):
    assert normalize_answer(text) == normal


def test_exact_match_and_f1_on_hand_worked_cases():
    assert exact_match("The Eiffel Tower!", "eiffel tower") == 1.0
    # "in swiss alps" against "swiss alps": 2 common tokens, precision 2/3, recall 1 -> F1 0.8
    assert exact_match("in the Swiss Alps", "the Swiss Alps") == 0.0
    assert f1("in the Swiss Alps", "the Swiss Alps") == pytest.approx(0.8)
    # "cat sat" against "cat sat on mat": precision 1, recall 1/2 -> F1 2/3
    assert f1("cat sat", "the cat sat on the mat") == pytest.approx(2 / 3)
    assert f1("", "anything") == 0.0
    # tokens count with multiplicity: "a a b" -> ["b"]; "b b" vs "b": common 1, P 1/2, R 1 -> 2/3
    assert f1("b b", "b") == pytest.approx(2 / 3)


def test_scores_take_the_best_gold_answer_and_average_over_all_questions():
    golds = {"q1": ["eiffel tower"], "q2": ["the Swiss Alps", "Alps mountains"], "q3": ["1903"]}
    scores = squad_scores({"q1": "The Eiffel Tower", "q2": "in the Swiss Alps"}, golds, resamples=200)
    # q1: EM 1, F1 1; q2: best of 0.8 and F1("in swiss alps", "alps mountains") = 0.4 -> 0.8; q3 unanswered: 0
    assert scores["exact_match"] == pytest.approx(100 / 3)
    assert scores["f1"] == pytest.approx(60.0)
    assert scores["n_examples"] == 3 and scores["unanswered"] == 1
    low, high = scores["f1_ci95"]
    assert 0 <= low <= 60.0 <= high <= 100


def _doc(**qa_overrides):
    qa = {"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": 10}], **qa_overrides}
    return {"data": [{"paragraphs": [{"context": "He lived, Paris.", "qas": [qa]}]}]}


@pytest.mark.parametrize("doc, message", [
    ({"version": "1.1"}, "key 'data': expected a list of articles"),
    ({"data": [{"title": "x"}]}, r"data\[0\].paragraphs: expected a list"),
    ({"data": [{"paragraphs": [{"qas": []}]}]}, r"paragraphs\[0\].context: expected the context text"),
    (_doc(question=7), r"qas\[0\].question \(id q1\): expected the question text, got int"),
    (_doc(question="  "), "empty question"),
    (_doc(answers=[]), "no answer"),
    (_doc(answers=[{"text": "Rome", "answer_start": 10}]),
     "answer 'Rome' does not occur in its context at answer_start 10"),
    (_doc(answers=[{"text": "Paris", "answer_start": "10"}]), "answer_start: expected a character offset"),
    ({"data": []}, "no questions in the validation split"),
])
def test_bad_squad_documents_are_one_line_errors_naming_where(doc, message):
    with pytest.raises(UserError, match=message):
        parse_squad(doc, "dev-v1.1.json", "validation")


def test_malformed_json_names_the_file_and_position(tmp_path):
    (tmp_path / "squad").mkdir()
    (tmp_path / "squad" / "dev-v1.1.json").write_text('{"data": [')
    with pytest.raises(UserError, match=r"dev-v1.1.json: malformed JSON at line 1 column 11"):
        get_task("squad").load("validation", tmp_path)


def test_a_missing_file_says_what_is_expected(tmp_path):
    with pytest.raises(UserError, match="squad/train-v1.1.json not found; expected .*official SQuAD v1.1 layout"):
        get_task("squad").load("train", tmp_path)


def test_the_fixture_loads_with_subsets_that_nest(fixture_data_dir):
    task = get_task("squad")
    every = task.load("validation", fixture_data_dir)
    assert len(every) == 12 and every[0].id == "dev-0-0"
    four = task.load("validation", fixture_data_dir, 4, seed=1)
    eight = task.load("validation", fixture_data_dir, 8, 1)
    assert len(four) == 4 and {e.id for e in four} <= {e.id for e in eight}


@pytest.fixture(scope="module")
def tokenizer():
    from joulebench.models.loading import load_span_model

    return load_span_model("tiny-random-bert").tokenizer


def _example(context: str, answer: str, question: str = "Which city?") -> QAExample:
    return QAExample("q", question, context, (answer,), (context.index(answer),))


def test_a_short_context_is_one_window_whose_label_spans_the_answer(tokenizer):
    example = _example("The meeting is held in Geneva every spring.", "Geneva")
    (window,) = encode_qa(tokenizer, [example], 64, 16)
    start, end = window.label
    assert start > 0 and window.offsets[start] is not None
    assert example.context[window.offsets[start][0]:window.offsets[end][1]] == "Geneva"
    assert all(o is None for o in window.offsets[: window.input_ids.index(tokenizer.sep_token_id) + 1])


def test_a_long_context_is_cut_into_overlapping_windows_and_the_answer_is_found_where_it_is(tokenizer):
    filler = " ".join(f"word{i}" for i in range(120))
    example = _example(f"{filler} The treaty was signed in Lisbon after long talks.", "Lisbon")
    windows = encode_qa(tokenizer, [example], 48, 16)
    assert len(windows) > 3 and all(len(w.input_ids) <= 48 for w in windows)
    first_chars = [next(o for o in w.offsets if o is not None)[0] for w in windows]
    last_chars = [[o for o in w.offsets if o is not None][-1][1] for w in windows]
    assert all(nxt < end for nxt, end in zip(first_chars[1:], last_chars, strict=False))  # they overlap
    holding = [w for w in windows if w.label != (0, 0)]
    assert holding and all(example.context[w.offsets[w.label[0]][0]:w.offsets[w.label[1]][1]] == "Lisbon"
                           for w in holding)
    assert windows[0].label == (0, 0)  # the answer is not in the first window: [CLS]


def test_span_search_picks_the_best_span_over_windows_within_the_length_limit(tokenizer):
    example = _example("Alpha beta gamma delta epsilon.", "gamma")
    (window,) = encode_qa(tokenizer, [example], 64, 16)
    context = [i for i, o in enumerate(window.offsets) if o is not None]
    n = len(window.input_ids)
    start, end = torch.zeros(n), torch.zeros(n)
    start[0] = end[0] = 50.0  # [CLS] is never an answer
    start[context[2]], end[context[2]] = 5.0, 5.0  # "gamma"
    end[context[1]] = 9.0  # an end before the start: not a span
    search = SpanSearch(n_best=5, max_answer_len=30)
    search.add(window, start, end)
    assert search.answers([example]) == {"q": "gamma"}
    long_span = SpanSearch(n_best=5, max_answer_len=30)
    start2 = torch.zeros(n)
    start2[context[0]] = 8.0
    end2 = torch.zeros(n)
    end2[context[-1]] = 8.0
    long_span.add(window, start2, end2)
    assert long_span.answers([example])["q"].startswith("Alpha")
    limited = SpanSearch(n_best=1, max_answer_len=2)
    limited.add(window, start2, end2)
    assert limited.answers([example]) == {}  # the only candidate is longer than 2 tokens


@pytest.mark.parametrize("reduction", ["early_exit", "token_prune", "distill"])
def test_reductions_without_a_span_design_refuse_question_answering_at_load_time(reduction):
    from joulebench.configuration import parse_config

    params = {"early_exit": {"threshold": 0.5}, "token_prune": {"keep_ratio": 0.5},
              "distill": {"keep_layers": 2}}[reduction]
    with pytest.raises(UserError, match=f"\\({reduction}\\): not available for question answering: "):
        parse_config({"task": "squad", "reductions": [{"name": reduction, **params}]})


def test_reductions_with_a_span_design_are_accepted_for_question_answering():
    from joulebench.configuration import parse_config

    (config,) = parse_config({"task": "squad", "reductions": [
        {"name": "layer_drop", "keep_layers": 4}, {"name": "seq_len", "max_seq_len": 256}, "int8"]})
    assert [r.name for r in config.reductions] == ["layer_drop", "seq_len", "int8"]


def test_predictions_written_by_a_run_rescore_to_the_record(tmp_path, fixture_data_dir, cache_dir):
    from joulebench.configuration import parse_config
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.results.store import ResultStore
    from joulebench.runner import Runner, RunOptions

    (config,) = parse_config({"task": "squad", "model": "tiny-random-bert", "max_seq_len": 48, "doc_stride": 16,
                              "train": {"batch_size": 4, "epochs": 1, "min_steps": 0},
                              "measure": {"batch_size": 8, "repeats": 2, "warmup_calls": 1}})
    store = ResultStore.in_dir(tmp_path)
    record = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir))).run(config, store)
    q, cost = record["quality"], record["cost"]
    assert q["n_examples"] == 12 and q["n_windows"] >= 12 and len(q["question_exact"]) == 12
    answers = json.loads((tmp_path / q["predictions_file"]).read_text())
    assert set(answers) <= {e.id for e in get_task("squad").load("validation", fixture_data_dir)}
    rescored = get_task("squad").score(answers, get_task("squad").load("validation", fixture_data_dir))
    assert (rescored["exact_match"], rescored["f1"]) == (q["exact_match"], q["f1"])
    assert cost["per_question"]["windows_per_question"] == pytest.approx(q["windows_per_question"], abs=1e-4)
    assert cost["flops_per_example"] > 0 and cost["per_question"]["flops"] >= cost["flops_per_example"]
    from joulebench.models.loading import load_span_model

    train = encode_qa(load_span_model("tiny-random-bert").tokenizer,
                      get_task("squad").load("train", fixture_data_dir), 48, 16)
    assert len(train) > 12  # a question longer than one 48-token window is cut in two
    assert record["train"]["steps"] == -(-len(train) // 4)  # every training window, batches of 4


def test_layer_drop_with_retraining_and_int8_run_on_question_answering(tmp_path, fixture_data_dir, cache_dir):
    from joulebench.configuration import parse_config
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.results.store import ResultStore
    from joulebench.runner import Runner, RunOptions, paired_baseline

    (config,) = parse_config({"task": "squad", "model": "tiny-random-bert", "max_seq_len": 48, "doc_stride": 16,
                              "train": {"batch_size": 4, "epochs": 1},
                              "measure": {"batch_size": 8, "repeats": 2, "warmup_calls": 1},
                              "reductions": [{"name": "layer_drop", "keep_layers": 1, "retrain": True},
                                             {"name": "int8"}]})
    runner = Runner(RunOptions(data_dir=fixture_data_dir, cache=CheckpointCache(cache_dir)))
    record = runner.run(config, ResultStore.in_dir(tmp_path), baseline=paired_baseline(config))
    drop, int8 = record["reductions"]
    assert (drop["details"]["layers_kept"], drop["details"]["retrained"]) == (1, True)
    assert int8["details"]["backend"] == "torchao"  # int8 in torch: the span head stays a torch module
    assert record["engine_run"]["precision_ran"] == "int8"
    assert record["train"]["retraining"] and record["cost"]["vs_baseline"]["energy"]["ratio"] > 0
    assert 0 <= record["quality"]["f1"] <= 100 and record["quality"]["predictions_file"]
