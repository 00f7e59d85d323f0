"""Write the own-task example data (CSV and JSON Lines) from the benchmark data in ../shared/data.

    python examples/own_task/make_data.py [--data ../shared/data] [--out data/own]

It makes three small tasks a user could have brought, in formats joulebench reads without code:

- ``sst2_train.csv`` / ``sst2_dev.csv``: SST-2 as a CSV with other column names (``review``,
  ``sentiment`` as the words negative/positive): declared in configs/tasks/sst2_csv.yaml, it must give
  the built-in ``sst2`` task's predictions exactly.
- ``source3_train.csv`` / ``source3_dev.csv``: a 3-class task, "negative review", "positive review"
  or "news": SST-2 sentences by their label, and single sentences of MRPC (newswire); the column
  ``origin`` (sst2/mrpc) is a slice column.
- ``overlap_train.jsonl`` / ``overlap_dev.jsonl``: a sentence-pair regression task, STS-B style: MRPC
  pairs scored 0-5 by their word overlap (5 x Jaccard of the lower-cased word sets). The target is a
  deterministic function of the text, made up for the example; a real similarity set goes the same way.

Nothing here is tuned: subsets are the first rows of each file, in file order.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
from pathlib import Path

WORD = re.compile(r"[a-z0-9]+")


def read_tsv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def overlap(a: str, b: str) -> float:
    x, y = set(WORD.findall(a.lower())), set(WORD.findall(b.lower()))
    return round(5 * len(x & y) / max(1, len(x | y)), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=Path("data/own"))
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    sst2 = {split: read_tsv(args.data / "glue" / "SST-2" / f"{split}.tsv") for split in ("train", "dev")}
    mrpc = {split: read_tsv(args.data / "glue" / "MRPC" / f"{split}.tsv") for split in ("train", "test")}
    names = ["negative", "positive"]

    for split in ("train", "dev"):
        write_csv(args.out / f"sst2_{split}.csv", ["review", "sentiment"],
                  [[r["sentence"], names[int(r["label"])]] for r in sst2[split]])

    plan = {"train": (sst2["train"][:3000], mrpc["train"][:750]), "dev": (sst2["dev"], mrpc["test"][:218])}
    for split, (reviews, pairs) in plan.items():
        rows = [[r["sentence"].strip(), f"{names[int(r['label'])]} review", "sst2"] for r in reviews]
        rows += [[p[key].strip(), "news", "mrpc"] for p in pairs for key in ("#1 String", "#2 String")]
        write_csv(args.out / f"source3_{split}.csv", ["text", "source", "origin"], rows)

    for split, name in (("train", "train"), ("dev", "test")):
        with (args.out / f"overlap_{split}.jsonl").open("w", encoding="utf-8") as handle:
            for p in mrpc[name]:
                a, b = p["#1 String"], p["#2 String"]
                handle.write(json.dumps({"first": a, "second": b, "similarity": overlap(a, b),
                                         "paraphrase": p["Quality"]}) + "\n")
    print(f"wrote {', '.join(sorted(p.name for p in args.out.iterdir()))} to {args.out}")


if __name__ == "__main__":
    main()
