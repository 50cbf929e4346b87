"""The reliability campaign of issue 13, and the figures table it asks for.

    python -m tests.reliability.campaign            # the bounded run the test suite also does
    python -m tests.reliability.campaign --full     # load 8 x 30 s, 100 kills per operation and
                                                    # backend, every damage, 10,000 fuzz cases
    python -m tests.reliability.campaign --full --only kills,fuzz --json figures.json

Run it from the repository root; it works in a temporary directory outside any git repository
(so the namespace is "default") and never touches your data directory. Parts: load, kills,
corruption, fuzz, secrets. Prints a markdown table (stdout) and, with --json, every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

PARTS = ("load", "kills", "corruption", "fuzz", "secrets")
BOUNDED = {"processes": 2, "seconds": 5.0, "kills": 1, "fuzz": 150, "secrets": 5}
FULL = {"processes": 8, "seconds": 30.0, "kills": 100, "fuzz": 10_000, "secrets": None}


def run(parts: tuple[str, ...] = PARTS, full: bool = False, root: Path | None = None) -> dict:
    from . import corruption, fuzz, kills, load, secrets_e2e
    from .redaction_figures import SPLITS
    from .redaction_figures import figures as rule_figures

    size = FULL if full else BOUNDED
    results: dict[str, Any] = {"full": full, "parts": list(parts)}
    with tempfile.TemporaryDirectory(prefix="smartcontext-campaign-") as scratch:
        base = root or Path(scratch)
        cwd = os.getcwd()
        os.chdir(base)  # outside any git repository: the namespace is "default"
        try:
            for part in parts:
                start = time.perf_counter()
                where = base / part
                where.mkdir(exist_ok=True)
                if part == "load":
                    results[part] = load.figures(where, size["processes"], size["seconds"])
                elif part == "kills":
                    results[part] = kills.figures(
                        where, size["kills"], small=not full, report=_progress
                    )
                elif part == "corruption":
                    results[part] = corruption.figures(where, full)
                elif part == "fuzz":
                    results[part] = fuzz.figures(where, size["fuzz"])
                elif part == "secrets":
                    results[part] = {
                        "rules": [
                            vars(f) | {"recall": f.recall, "fp": f.false_positive_rate}
                            for f in map(rule_figures, SPLITS)
                        ],
                        "store": secrets_e2e.figures(where, size["secrets"]),
                    }
                results[f"{part}_seconds"] = round(time.perf_counter() - start, 1)
        finally:
            os.chdir(cwd)
    return results


def _progress(row: dict[str, Any]) -> None:
    print(json.dumps(row), file=sys.stderr, flush=True)


# the table -----------------------------------------------------------------------------------


def failures(results: dict[str, Any]) -> list[str]:
    """Every figure that misses what the issue asks (empty: the campaign passed)."""
    out = []
    for r in results.get("load", []):
        if r["present_once"] != r["acknowledged"] or r["contract_failures"] or not r["doctor_ok"]:
            out.append(f"load {r['backend']}: {r}")
    for r in results.get("kills", []):
        if r["survived"] != r["trials"]:
            out.append(f"kills {r['backend']} {r['operation']}: {r['failures']}")
    for r in results.get("corruption", []):
        named = not r["detected"] or r["named"]
        wrong = r["silent"] or not named or r["overwritten"] or r["contract_failures"]
        if (wrong or not r["repair_ok"]) and not r["by_design"]:
            out.append(f"corruption {r['backend']} {r['file']} {r['damage']}: {r}")
    for r in results.get("fuzz", []):
        out += [f"fuzz {r['kind']}: {f}" for f in r["failures"]]
    return out


def table(results: dict[str, Any]) -> str:
    rows = ["| part | backend / split | figure | result |", "| --- | --- | --- | --- |"]
    for r in results.get("load", []):
        rows.append(
            f"| load ({r['processes']} processes x {r['seconds']:g} s, "
            f"{r.get('mcp_clients', 0)} of them MCP) | {r['backend']} | "
            f"writes acknowledged / present exactly once | {r['acknowledged']} / "
            f"{r['present_once']} ({r['operations']} operations, "
            f"{r.get('mcp_operations', 0)} through MCP, "
            f"{len(r['contract_failures'])} contract failures, doctor "
            f"{'ok' if r['doctor_ok'] else 'FAILED'}) |"
        )
    for r in results.get("kills", []):
        rows.append(
            f"| kills: {r['operation']} | {r['backend']} | trials survived (killed inside the "
            f"operation) | {r['survived']} / {r['trials']} ({r['killed_mid_operation']}) |"
        )
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in results.get("corruption", []):
        by_variant.setdefault(r["backend"], []).append(r)
    for variant, cases in by_variant.items():
        detected = [c for c in cases if c["detected"]]
        rows.append(
            f"| corruption | {variant} | detected and named / cases (harmless; "
            f"indistinguishable by design; silent; overwritten; repaired to a passing doctor) "
            f"| {sum(c['named'] for c in detected)} / {len(cases)} "
            f"({sum(c['harmless'] for c in cases)}; {sum(c['by_design'] for c in cases)}; "
            f"{sum(c['silent'] and not c['by_design'] for c in cases)}; "
            f"{sum(c['overwritten'] for c in cases)}; {sum(c['repair_ok'] for c in cases)}) |"
        )
    for r in results.get("fuzz", []):
        rows.append(
            f"| fuzz ({r['kind']}) | both | cases / failures found | {r['cases']} / "
            f"{len(r['failures'])} |"
        )
    secrets = results.get("secrets")
    if secrets:
        for f in secrets["rules"]:
            rows.append(
                f"| redaction rules | {f['split']} | recall; clean lines altered | "
                f"{f['caught']}/{f['secrets']} = {f['recall']:.1%} of {f['kinds']} kinds; "
                f"{f['altered']}/{f['clean']} = {f['fp']:.2%} |"
            )
        for r in secrets["store"]:
            recall = r["caught"] / r["secrets"] if r["secrets"] else 1.0
            fp = r["altered"] / r["clean"] if r["clean"] else 0.0
            rows.append(
                f"| secrets through the store | {r['split']} / {r['backend']} | never in prompt, "
                f"list, show, export or files; clean altered | {r['caught']}/{r['secrets']} = "
                f"{recall:.1%}; {r['altered']}/{r['clean']} = {fp:.2%} |"
            )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.reliability.campaign")
    parser.add_argument("--full", action="store_true", help="the full campaign (about an hour)")
    parser.add_argument("--only", default=",".join(PARTS), help="parts, comma separated")
    parser.add_argument("--json", type=Path, help="write every figure to this file")
    args = parser.parse_args(argv)
    parts = tuple(p for p in args.only.split(",") if p)
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")
    results = run(parts, args.full)
    print(table(results))
    for part in parts:
        print(f"{part}: {results.get(part + '_seconds')} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2, default=str))
    missed = failures(results)
    for line in missed:
        print(f"FAILED {line}", file=sys.stderr)
    return 1 if missed else 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    raise SystemExit(main())
