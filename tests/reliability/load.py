"""Load: several processes at once run the CLI (remember, search, compile, session add, compact,
list) on one namespace, one of them as an MCP client (the SDK's client driving a real
``smartcontext mcp`` server: remember, session_add, search, compile); afterwards every
acknowledged write is present exactly once and the store passes ``doctor``."""

from __future__ import annotations

import importlib.util
import json
import random
import time
from pathlib import Path
from typing import Any

from .common import child, cli

WORKER = """
import json, random, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[6])
from reliability.common import bad_output, cli

home, worker, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[5])
seconds, seed = float(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
words = "alpha beta gamma delta cache deploy schema index token budget review".split()
while not go.exists():
    time.sleep(0.005)
deadline = time.monotonic() + seconds
i = 0
while time.monotonic() < deadline:
    i += 1
    op = rng.choices(["remember", "search", "compile", "session", "compact", "list"],
                     [30, 20, 10, 25, 5, 10])[0]
    word = rng.choice(words)
    if op == "remember":
        text = f"W{worker}-M{i} note about {word}"
        run = cli(home, "remember", text)
    elif op == "session":
        text = f"W{worker}-S{i} event about {word}"
        run = cli(home, "session", "add", "user", text)
    elif op == "search":
        text, run = None, cli(home, "search", word)
    elif op == "compile":
        text, run = None, cli(home, "compile", "-q", word, "--budget", "800")
    elif op == "compact":
        text, run = None, cli(home, "compact", "-p", "10")
    else:
        text, run = None, cli(home, "list", "-k", "5")
    problem = bad_output(run)
    print(json.dumps({"op": op, "code": run.code, "text": text if run.code == 0 else None,
                      "problem": problem, "err": run.err[-300:] if problem else ""}), flush=True)
"""

# The same loop through the MCP server: a write is acknowledged when its tool call succeeded.
MCP_WORKER = """
import json, random, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[6])
from fixtures.mcp_client import McpSession

home, worker, go = Path(sys.argv[1]), sys.argv[2], Path(sys.argv[5])
seconds, seed = float(sys.argv[3]), int(sys.argv[4])
rng = random.Random(seed)
words = "alpha beta gamma delta cache deploy schema index token budget review".split()
with McpSession(home, cwd=home.parent) as s:
    while not go.exists():
        time.sleep(0.005)
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        i += 1
        op = rng.choices(["remember", "session", "search", "compile"], [35, 35, 20, 10])[0]
        word = rng.choice(words)
        text = None
        if op == "remember":
            text = f"W{worker}-M{i} mcp note about {word}"
            result = s.call("remember", content=text)
        elif op == "session":
            text = f"W{worker}-S{i} mcp event about {word}"
            result = s.call("session_add", role="user", content=text)
        elif op == "search":
            result = s.call("search", query=word)
        else:
            result = s.call("compile", query=word, budget=800)
        message = result.content[0].text if result.content else ""
        problem = None
        if result.is_error and ("internal error" in message or "Traceback" in message):
            problem = "internal error: " + message[-200:]
        print(json.dumps({"op": op, "code": 1 if result.is_error else 0,
                          "text": None if result.is_error else text, "problem": problem,
                          "err": message[-300:] if problem else "", "via": "mcp"}), flush=True)
"""


def has_mcp() -> bool:
    return importlib.util.find_spec("mcp") is not None


def run(root: Path, backend: str, processes: int, seconds: float, seed: int = 1) -> dict[str, Any]:
    home = root / f"load-{backend}"
    assert cli(home, "--backend", backend, "remember", "seed memory").code == 0
    go = home / "go"
    # The last process is an MCP client where the SDK is installed (the mcp extra).
    mcp_workers = 1 if has_mcp() and processes >= 2 else 0
    workers = [
        child(
            MCP_WORKER if w >= processes - mcp_workers else WORKER,
            home,
            w,
            seconds,
            seed * 100 + w,
            go,
            str(Path(__file__).resolve().parents[1]),
        )
        for w in range(processes)
    ]
    time.sleep(3.0 if mcp_workers else 1.0)  # every worker imported (the server started)
    go.touch()
    events: list[dict[str, Any]] = []
    errors: list[str] = []
    for proc in workers:
        out, err = proc.communicate(timeout=seconds * 20 + 120)
        if proc.returncode != 0:
            errors.append(f"worker exited {proc.returncode}: {err[-500:]}")
        events += [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    acked_memories = [e["text"] for e in events if e["op"] == "remember" and e["text"]]
    acked_events = [e["text"] for e in events if e["op"] == "session" and e["text"]]
    problems = [f"{e['op']}: {e['problem']} {e['err']}" for e in events if e["problem"]]

    from smartcontext_cli import MemoryStore

    store = MemoryStore(base_dir=home)
    contents = [m.content for m in store.storage.iter_memories()]
    raw = [d["content"] for _, d in store.storage.list_docs("session")]
    store.close()
    lost = [t for t in acked_memories if contents.count(t) != 1]
    lost += [t for t in acked_events if raw.count(t) != 1]
    doctor = cli(home, "doctor", "--json")
    return {
        "backend": backend,
        "processes": processes,
        "mcp_clients": mcp_workers,
        "mcp_operations": sum(1 for e in events if e.get("via") == "mcp"),
        "seconds": seconds,
        "operations": len(events),
        "by_op": {
            op: sum(1 for e in events if e["op"] == op) for op in sorted({e["op"] for e in events})
        },
        "acknowledged": len(acked_memories) + len(acked_events),
        "present_once": len(acked_memories) + len(acked_events) - len(lost),
        "lost_or_duplicated": lost[:10],
        "contract_failures": problems[:10] + errors,
        "doctor_ok": doctor.code == 0,
        "doctor": None if doctor.code == 0 else doctor.out[:2000],
    }


def figures(root: Path, processes: int, seconds: float) -> list[dict[str, Any]]:
    return [
        run(root, backend, processes, seconds, seed=random.Random(backend).randint(1, 99))
        for backend in ("sqlite", "json")
    ]
