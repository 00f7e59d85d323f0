"""Do the training defaults learn at small budgets? Frozen and full fine-tuning against a linear probe.

For each budget (500, 1,000 and 4,000 SST-2 training sentences, seed 0) it trains the packaged MiniLM
with the default training settings (1 epoch; everything else as `joulebench validate --explain` lists it),
frozen and fully fine-tuned, and scores both on the 872 dev sentences; beside them, a logistic regression
(scikit-learn, default C, 1,000 iterations) on the same model's mean-pooled embeddings of the same
sentences: the linear probe the defaults must at least match. With --old it also trains with the defaults
before head_lr and min_steps existed (head at the encoder's rate, steps = one epoch), for comparison.

    python benchmarks/small_budget.py --data-dir ../shared/data [--old]

Exit status 1 when a default-settings row is below its budget's probe.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

BUDGETS = (500, 1000, 4000)


def probe_accuracy(model_name: str, train: list, dev: list, max_seq_len: int, seed: int) -> float:
    """Logistic regression on the pre-trained model's mean-pooled embeddings (no fine-tuning)."""
    from sklearn.linear_model import LogisticRegression
    from transformers import AutoModel, AutoTokenizer

    from joulebench.models.loading import resolve_model

    path = resolve_model(model_name)
    tokenizer, encoder = AutoTokenizer.from_pretrained(path), AutoModel.from_pretrained(path).eval()

    @torch.inference_mode()
    def embed(examples: list) -> np.ndarray:
        out = []
        for start in range(0, len(examples), 64):
            batch = tokenizer([e.text_a for e in examples[start:start + 64]], truncation=True,
                              max_length=max_seq_len, padding=True, return_tensors="pt")
            hidden = encoder(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            out.append(((hidden * mask).sum(1) / mask.sum(1)).numpy())
        return np.concatenate(out)

    clf = LogisticRegression(max_iter=1000, random_state=seed)
    clf.fit(embed(train), [e.label for e in train])
    return float(clf.score(embed(dev), [e.label for e in dev]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--old", action="store_true", help="also the defaults before head_lr and min_steps")
    parser.add_argument("--budgets", type=int, nargs="+", default=list(BUDGETS))
    args = parser.parse_args()

    from joulebench.config.schema import TrainConfig
    from joulebench.configuration import parse_config
    from joulebench.env_info import cpu_model
    from joulebench.models.checkpoints import CheckpointCache
    from joulebench.runner import Runner, RunOptions
    from joulebench.tasks import get_task, resolve_data_dir

    data_dir = resolve_data_dir(args.data_dir)
    task = get_task("sst2")
    dev = task.load("validation", data_dir)
    defaults = TrainConfig()
    from joulebench.training.trainer import HEAD_LR, HEAD_ONLY_LR

    print(f"machine: {cpu_model()}, {torch.get_num_threads()} threads; model minilm-l6, max_seq_len 64; dev "
          f"{len(dev)} sentences; defaults: lr {defaults.lr}, head_lr {HEAD_ONLY_LR} (frozen) / {HEAD_LR} (full), "
          f"min_steps "
          f"{defaults.min_steps}, batch {defaults.batch_size}, warm-up {defaults.warmup_ratio}, 1 epoch, seed 0\n")
    settings = [("defaults", {})]
    if args.old:
        settings.append(("old defaults (head at lr, no min_steps)", {"head_lr": 5e-5, "min_steps": 0}))
    rows, ok = [], True
    with tempfile.TemporaryDirectory(prefix="joulebench-small-budget-") as tmp:
        runner = Runner(RunOptions(data_dir=data_dir, cache=CheckpointCache(Path(tmp))))
        for n in args.budgets:
            train = task.load("train", data_dir, n, 0)
            probe = probe_accuracy("minilm-l6", train, dev, 64, 0)
            rows.append((n, "linear probe (logistic regression on mean-pooled embeddings)", "-", probe))
            for name, train_overrides in settings:
                for regime in ("frozen", "full"):
                    (config,) = parse_config({"task": "sst2", "model": "minilm-l6", "regime": regime,
                                              "max_seq_len": 64,
                                              "train": {"max_train_examples": n, "seed": 0, **train_overrides},
                                              "measure": {"repeats": 1}})
                    record = runner.run(config)
                    accuracy = record["quality"]["accuracy"]
                    rows.append((n, f"{regime}, {name}", record["train"]["steps"], accuracy))
                    if name == "defaults" and accuracy < probe:
                        ok = False
    print("| training sentences | model | optimizer steps | dev accuracy |\n|---|---|---|---|")
    for n, what, steps, accuracy in rows:
        print(f"| {n:,} | {what} | {steps} | {accuracy:.4f} |")
    print("\nevery default-settings row at least its probe" if ok else "\nsome default-settings row is BELOW its probe")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
