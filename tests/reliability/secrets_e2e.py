"""Secrets end to end: every corpus secret enters the store by every door (remember, session add,
artifact add, import, a compile query) under the default ``redact`` setting; it must then appear
in none of: the compiled prompt, ``list``, ``show``, ``export``, the files on disk. Clean lines
stored the same way must read back unaltered.

Figures per split (every committed split has been tuned on by now: see ``redaction_figures``);
``files_figures`` runs the same on a corpus kept elsewhere (a new held-out set):

    python -m tests.reliability.secrets_e2e SECRETS.jsonl CLEAN.jsonl
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

from .common import cli
from .redaction_figures import SPLITS, load_path, rows


def _files(home: Path) -> bytes:
    return b"\n".join(p.read_bytes() for p in sorted(home.rglob("*")) if p.is_file())


def secrets_case(root: Path, backend: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    from smartcontext_cli import MemoryStore

    home = root / f"secrets-{backend}"
    store = MemoryStore(storage_backend=backend, base_dir=home)
    ids = []
    for i, row in enumerate(rows):
        ids.append(store.remember(row["text"]).id)
        store.add_session_item("tool", row["text"])
        store.store_artifact(f"leak-{i}.txt", row["text"])
    store.close()
    source = root / f"secrets-import-{backend}.jsonl"
    source.write_text(
        "".join(json.dumps({"type": "memory", "content": r["text"]}) + "\n" for r in rows)
    )
    assert cli(home, "import", str(source)).code == 0
    shown = [cli(home, "show", memory_id).out for memory_id in ids]
    prompts = [cli(home, "compile", "-q", row["text"], "--budget", "6000").out for row in rows]
    listed = cli(home, "list", "-k", "100000", "--json").out
    exported = cli(home, "export").out
    session = cli(home, "session", "show", "--raw", "--json").out
    disk = _files(home)
    caught = 0
    for i, row in enumerate(rows):
        secret = row["secret"]
        seen = (
            secret in shown[i]
            or secret in prompts[i]
            or secret in listed
            or secret in exported
            or secret in session
            or secret.encode() in disk
        )
        caught += not seen
    return {"secrets": len(rows), "caught": caught}


def clean_case(root: Path, backend: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    from smartcontext_cli import MemoryStore

    home = root / f"clean-{backend}"
    store = MemoryStore(storage_backend=backend, base_dir=home)
    altered = 0
    for row in rows:
        text = row["text"].strip()
        memory = store.remember(text)
        altered += store.get(memory.id).content != text
    store.close()
    return {"clean": len(rows), "altered": altered}


def figures(root: Path, sample: int | None = None, seed: int = 5) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for split in SPLITS:
        s_rows, c_rows = rows(split)
        if sample is not None:
            s_rows = rng.sample(s_rows, min(sample, len(s_rows)))
            c_rows = rng.sample(c_rows, min(sample * 2, len(c_rows)))
        out += _both_backends(root / split, split, s_rows, c_rows)
    return out


def _both_backends(
    base: Path, split: str, s_rows: list[dict[str, Any]], c_rows: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    out = []
    for backend in ("sqlite", "json"):
        result = {"split": split, "backend": backend, "kinds": len({r["kind"] for r in s_rows})}
        result |= secrets_case(base, backend, s_rows)
        result |= clean_case(base, backend, c_rows)
        out.append(result)
    return out


def files_figures(root: Path, secrets: Path, clean: Path) -> list[dict[str, Any]]:
    """The end-to-end figures of a corpus in two files (``redaction_figures``' format)."""
    return _both_backends(root / "files", "files", load_path(secrets), load_path(clean))


def _print(r: dict[str, Any]) -> None:
    print(
        f"{r['split']:8} {r['backend']:6} never seen {r['caught']}/{r['secrets']} "
        f"({r['caught'] / max(r['secrets'], 1):.1%}) of {r['kinds']} kinds; "
        f"clean altered {r['altered']}/{r['clean']} ({r['altered'] / max(r['clean'], 1):.2%})",
        flush=True,
    )


if __name__ == "__main__":
    import sys
    import tempfile

    with tempfile.TemporaryDirectory(prefix="sc-secrets-") as tmp:
        if len(sys.argv) == 3:
            for r in files_figures(Path(tmp), Path(sys.argv[1]), Path(sys.argv[2])):
                _print(r)
        else:  # split by split, each printed as it is done
            for split in SPLITS:
                s_rows, c_rows = rows(split)
                for r in _both_backends(Path(tmp) / split, split, s_rows, c_rows):
                    _print(r)
