"""The MCP server: start-up to ``initialize`` answered, a compile call, and tools/list's size.

What it measures, on a 10,000-memory SQLite store (goal, session and checklist set):
- server start to ``initialize`` answered: a fresh ``smartcontext mcp`` per round, timed from
  spawn to the response line; against ``python -c "import sqlite3, json"`` in the same rounds;
- a ``compile`` tool call at a 4,000 budget on one running server, timed from request to
  response (after one warm-up call that loads the tokenizer and fills the count caches); for
  comparison, the same compile in process (what the adapter adds) and as a cold CLI process
  (what an agent runs without MCP), and the SDK's own import (the floor of any SDK server);
- the ``tools/list`` response in cl100k tokens, as sent on the wire (target: under 2,000).

Each median is of interleaved rounds in one run, so the ratios hold on a loaded machine.

    python tests/benchmarks/bench_mcp.py            # 10,000 memories, 20 rounds
    python tests/benchmarks/bench_mcp.py --quick    # 3,000 memories, 5 rounds
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _corpus

from smartcontext_cli.tokens import Tokenizer

FLOOR = 'python -c "import sqlite3, json"'
SDK_IMPORT = "import mcp.server.lowlevel, mcp.server.stdio"
TOOLS_TARGET = 2000
GOAL = "Fix the postgres connection pool timeout in the auth service"
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "bench", "version": "1"},
    },
}


def send(proc: subprocess.Popen[bytes], message: dict) -> None:
    assert proc.stdin is not None
    proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()


def answer(proc: subprocess.Popen[bytes], rid: int) -> dict:
    assert proc.stdout is not None
    line = proc.stdout.readline()
    message = json.loads(line)
    if message.get("id") != rid or "error" in message:
        raise SystemExit(f"unexpected answer to {rid}: {line[:300]!r}")
    return message


def spawn(argv: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        argv,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    )


def initialize_time(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = spawn(argv, env, cwd)
    send(proc, INIT)
    answer(proc, 0)
    elapsed = time.perf_counter() - t0
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)
    return elapsed


def run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, env=env, cwd=cwd, capture_output=True)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr.decode()[-500:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3,000 memories, 5 rounds")
    parser.add_argument(
        "--dir", type=Path, default=Path(tempfile.gettempdir()) / "smartcontext-bench"
    )
    args = parser.parse_args()
    n, rounds = (3_000, 5) if args.quick else (10_000, 20)

    root = args.dir
    home = _corpus.cached_sqlite(root, n, reuse=True)
    env = _corpus.subprocess_env(root)
    env["SMARTCONTEXT_HOME"] = str(home)
    work = root / "work"
    work.mkdir(parents=True, exist_ok=True)
    script = str(Path(sys.executable).parent / "smartcontext")
    for setup in (
        ["goal", GOAL],
        ["session", "add", "user", "the pool times out under load"],
        ["session", "add", "tool", "pytest: 3 failed, 120 passed"],
        ["todo", "add", "Reproduce the timeout"],
    ):
        subprocess.run([script, "-n", "bench", *setup], env=env, cwd=work, capture_output=True)
    server = [script, "mcp", "--namespace", "bench"]
    floor_argv = [sys.executable, "-c", "import sqlite3, json"]
    sdk_argv = [sys.executable, "-c", SDK_IMPORT]
    cli_compile = [script, "-n", "bench", "compile", "--budget", "4000"]

    # Start-up: interleaved rounds of the floor, a server's initialize, and a cold CLI compile.
    starts: dict[str, list[float]] = {"floor": [], "sdk": [], "init": [], "cli": []}
    initialize_time(server, env, work)  # warm-up: page cache and bytecode
    run(sdk_argv, env, work)
    run(cli_compile, env, work)
    for _ in range(rounds):
        starts["floor"].append(run(floor_argv, env, work))
        starts["sdk"].append(run(sdk_argv, env, work))
        starts["init"].append(initialize_time(server, env, work))
        starts["cli"].append(run(cli_compile, env, work))

    # One running server: a warm-up compile, then timed compile calls; tools/list on the wire.
    proc = spawn(server, env, work)
    send(proc, INIT)
    answer(proc, 0)
    send(proc, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    send(proc, {"jsonrpc": "2.0", "id": 1, "method": "tools/list"})
    assert proc.stdout is not None
    tools_line = proc.stdout.readline().decode()
    call = {"name": "compile", "arguments": {"budget": 4000}}
    t0 = time.perf_counter()
    send(proc, {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": call})
    first = answer(proc, 2)
    first_ms = (time.perf_counter() - t0) * 1000
    if first["result"].get("isError"):
        raise SystemExit(f"compile failed: {first['result']['content'][0]['text']}")
    calls = []
    for i in range(rounds):
        t0 = time.perf_counter()
        send(proc, {"jsonrpc": "2.0", "id": 3 + i, "method": "tools/call", "params": call})
        result = answer(proc, 3 + i)["result"]
        calls.append(time.perf_counter() - t0)
    assert proc.stdin is not None
    proc.stdin.close()
    proc.wait(timeout=60)
    data = result["structuredContent"]

    # The same compile in this process, straight into the core: what the adapter adds.
    from smartcontext_cli.memory import MemoryStore

    direct = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        with MemoryStore(namespace="bench", base_dir=home) as store:
            store.compile(token_budget=4000)
        direct.append(time.perf_counter() - t0)

    floor = _corpus.median_ms(starts["floor"])
    init_ms = _corpus.median_ms(starts["init"])
    cli_ms = _corpus.median_ms(starts["cli"])
    call_ms = _corpus.median_ms(calls)
    sdk_ms = _corpus.median_ms(starts["sdk"])
    direct_ms = _corpus.median_ms(direct)
    print(
        f"\nMCP server on a {n:,}-memory SQLite store: medians of {rounds} interleaved rounds "
        "in one run\n"
    )
    rows = [
        [f"`{FLOOR}`", f"{floor:.1f}", "1.00x"],
        [f"`python -c \"{SDK_IMPORT}\"` (the SDK alone)", f"{sdk_ms:.1f}",
         f"{sdk_ms / floor:.2f}x"],
        ["`smartcontext mcp`: spawn to `initialize` answered", f"{init_ms:.1f}",
         f"{init_ms / floor:.2f}x"],
        ["`compile` tool call, budget 4,000, running server (first call)", f"{first_ms:.1f}",
         f"{first_ms / floor:.2f}x"],
        ["`compile` tool call, budget 4,000, running server", f"{call_ms:.1f}",
         f"{call_ms / floor:.2f}x"],
        ["in-process `MemoryStore.compile(token_budget=4000)`, same store", f"{direct_ms:.1f}",
         f"{direct_ms / floor:.2f}x"],
        ["before (no MCP): `smartcontext compile --budget 4000`, cold CLI", f"{cli_ms:.1f}",
         f"{cli_ms / floor:.2f}x"],
    ]  # fmt: skip
    print(_corpus.table(["what", "median ms", "vs floor"], rows))
    print(
        f"\ncompile result: {data['total_tokens']:,}/{data['budget']:,} tokens, "
        f"mode {data['mode']}, quality {data['quality_score']:.2f}"
    )

    tokenizer = Tokenizer("cl100k_base")
    tools = json.loads(tools_line)["result"]["tools"]
    total = tokenizer.count(tools_line.strip())
    print(f"\n`tools/list` response on the wire: {len(tools)} tools\n")
    per_tool = [
        [f"`{t['name']}`", f"{tokenizer.count(json.dumps(t, separators=(',', ':'))):,}"]
        for t in tools
    ]
    per_tool.append(
        [
            "**whole response** (JSON-RPC line)",
            f"**{total:,}** ({'ok' if total < TOOLS_TARGET else 'OVER'}: target "
            f"< {TOOLS_TARGET:,}; {len(tools_line.strip().encode()):,} bytes)",
        ]
    )
    print(_corpus.table(["tool", "cl100k tokens"], per_tool))


if __name__ == "__main__":
    main()
