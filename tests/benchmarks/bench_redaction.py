"""Redaction: what the secret rules cost each ``remember`` (issue 13), before and after, same run.

``redact`` runs on every text that enters the store, so its cost is paid per write. Measured on
2 KB texts of three sorts: prose and code with no secret (the common case), a config block
with secret-like names and references but no secret, and a text holding six secrets. Each
figure is the median over ``--rounds`` rounds of ``--texts`` distinct texts (so no cache of
names or values answers for a repeated text), in microseconds per text; for scale, the same
run measures ``json.dumps`` of the same text (what storing it costs at the least). Before and
after are measured twice each, alternating (before, after, before, after), and each cell keeps
its fastest round: on a machine shared with other work, the minimum is what the code costs.

    python tests/benchmarks/bench_redaction.py                   # this checkout and main~ (REV)
    python tests/benchmarks/bench_redaction.py --baseline REV
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _baseline import measure_baseline, use_code_root

use_code_root()

from smartcontext_cli.redaction import redact  # noqa: E402

PROSE = (
    "The compiler packs memories by score until the budget is spent; the session log keeps "
    "every tool call. def pack(items, budget):\n    used = 0\n    for item in items:\n"
    "        if used + item.tokens > budget: break\n        used += item.tokens\n"
    "commit 3f2a9c1e0b7d4a5e6f8091a2b3c4d5e6f7a8b9c0 fixed the tokenizer cache (#{n}).\n"
    "request id 5b2f7c1e-8d4a-4f0e-9b6c-2a1d3e4f5a6b took 412 ms; see https://docs.example.com.\n"
)
CONFIG = (
    "database:\n  host: db.internal\n  password: ${{DB_PASSWORD}}\n  pool_size: {n}\n"
    "api_key = os.environ['API_KEY']\nmax_tokens = 1024\ntoken_count = len(tokens)\n"
    "export AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY\nSECRET_KEY: <your-secret-key>\n"
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08  app.tar.gz\n"
)
SECRETS = (
    "deploy notes {n}: export GITHUB_TOKEN=ghp_{r36}\n"
    "DATABASE_URL=postgres://app:Harbor{n}%maple@db.internal:5432/app\n"
    "aws_secret_access_key = {r40}\nAuthorization: Bearer {r40}\n"
    "STRIPE_WEBHOOK_SECRET=whsec_{r36}\nmysql -u root -pQuartz{n}#x app\n"
)


def texts(kind: str, count: int, seed: int = 13) -> list[str]:
    rng = random.Random(seed)
    alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    out = []
    for i in range(count):
        template = {"prose": PROSE, "config": CONFIG, "secrets": SECRETS}[kind]
        text = ""
        while len(text) < 2048:
            text += template.format(
                n=i * 100 + len(text),
                r36="".join(rng.choice(alnum) for _ in range(36)),
                r40="".join(rng.choice(alnum) for _ in range(40)),
            )
        out.append(text[:2048])
    return out


def per_text_us(fn, items: list[str], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            fn(item)
        samples.append((time.perf_counter() - start) / len(items) * 1e6)
    return min(samples)


FIRST_USE = (
    "import sys, time; sys.path.insert(0, sys.argv[1]); t = time.perf_counter(); "
    "from smartcontext_cli.redaction import redact; redact(sys.argv[2]); "
    "print((time.perf_counter() - t) * 1e6)"
)


def first_use_us(runs: int = 5) -> float:
    """Import plus the first ``redact`` of a 2 KB text, in a fresh interpreter: what one
    ``smartcontext remember`` process pays for redaction (fastest of ``runs``)."""
    import subprocess

    root = str(Path(sys.modules["smartcontext_cli"].__file__).parents[1])  # type: ignore[arg-type]
    text = texts("config", 1)[0]
    return min(
        float(
            subprocess.run(
                [sys.executable, "-c", FIRST_USE, root, text],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
        )
        for _ in range(runs)
    )


def measure(count: int, rounds: int) -> dict[str, dict[str, float]]:
    out = {"first use (import + 1 text)": {"redact": first_use_us(), "json": float("nan")}}
    for kind in ("prose", "config", "secrets"):
        items = texts(kind, count)
        out[kind] = {
            "redact": per_text_us(redact, items, rounds),
            "json": per_text_us(json.dumps, items, rounds),
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--texts", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", default="main")
    parser.add_argument("--raw", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw:
        print(json.dumps(measure(args.texts, args.rounds)))
        return
    extra = ["--texts", str(args.texts), "--rounds", str(args.rounds)]
    befores: list[dict[str, dict[str, float]]] = []
    afters: list[dict[str, dict[str, float]]] = []
    for _ in range(2):
        befores.append(measure_baseline(__file__, args.baseline, extra))
        afters.append(measure(args.texts, args.rounds))
    before = {k: {m: min(b[k][m] for b in befores) for m in befores[0][k]} for k in befores[0]}
    after = {k: {m: min(a[k][m] for a in afters) for m in afters[0][k]} for k in afters[0]}
    print(
        "| 2 KB text | before (" + args.baseline + ") us | after us | after / before |"
        " json.dumps us (same run) | after / json.dumps |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for kind in after:
        b, a = before[kind]["redact"], after[kind]["redact"]
        j = after[kind]["json"]
        if j != j:  # no json.dumps figure for the first-use row
            print(f"| {kind} | {b:.1f} | {a:.1f} | {a / b:.2f}x | - | - |")
        else:
            print(f"| {kind} | {b:.1f} | {a:.1f} | {a / b:.2f}x | {j:.1f} | {a / j:.1f}x |")


if __name__ == "__main__":
    main()
