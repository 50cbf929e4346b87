"""Redaction recall and false-positive rate on the committed corpus (``build_corpus.py``).

``python -m tests.reliability.redaction_figures`` prints the figures per split; with
``--show-dev`` it also lists the dev split's misses and altered clean lines, which is what the
rules were tuned on. The held-out split's lines are never printed here.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from smartcontext_cli.redaction import redact

CORPUS = Path(__file__).parent / "corpus"


def load(name: str) -> list[dict]:
    with open(CORPUS / name, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh]


@dataclass
class Figures:
    split: str
    secrets: int = 0
    caught: int = 0
    kinds: int = 0
    clean: int = 0
    altered: int = 0
    misses: list[dict] = field(default_factory=list)
    false_positives: list[tuple[str, str]] = field(default_factory=list)

    @property
    def recall(self) -> float:
        return self.caught / self.secrets if self.secrets else 1.0

    @property
    def false_positive_rate(self) -> float:
        return self.altered / self.clean if self.clean else 0.0


def figures(split: str, clean_split: str | None = None) -> Figures:
    """``split`` is "dev", "heldout" or "all"."""
    fig = Figures(split)
    if split == "heldout2":
        secret_rows, clean_rows = load("secrets2.jsonl"), load("clean2.jsonl")
    else:
        secret_rows, clean_rows = load("secrets.jsonl"), load("clean.jsonl")
    secrets = [s for s in secret_rows if split in ("all", s["split"])]
    fig.secrets, fig.kinds = len(secrets), len({s["kind"] for s in secrets})
    for row in secrets:
        if row["secret"] in redact(row["text"]):
            fig.misses.append(row)
        else:
            fig.caught += 1
    wanted = clean_split or split
    for row in clean_rows:
        if wanted not in ("all", row["split"]):
            continue
        fig.clean += 1
        out = redact(row["text"])
        if out != row["text"]:
            fig.altered += 1
            fig.false_positives.append((row["text"], out))
    return fig


def main(argv: list[str]) -> None:
    for split in ("dev", "heldout", "heldout2", "all"):
        f = figures(split)
        print(
            f"{split:8} secrets {f.caught}/{f.secrets} caught ({f.recall:.1%}) of {f.kinds} kinds; "
            f"clean lines altered {f.altered}/{f.clean} ({f.false_positive_rate:.2%})"
        )
        if split == "dev" and "--show-dev" in argv:
            for miss in f.misses:
                print(f"  MISS [{miss['kind']}] {miss['text']!r}")
            for before, after in f.false_positives:
                print(f"  FP   {before!r}\n    -> {after!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
