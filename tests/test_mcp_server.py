"""``smartcontext mcp`` as MCP clients see it: a real server process driven by the SDK's client.

One server (module scope) answers most tests, each in its own namespace through the tools'
``namespace`` argument, so the suite pays for few start-ups; tests about start-up, exit,
stdout and concurrency start their own processes.
"""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fixtures.mcp_client import (
    INIT,
    INITIALIZED,
    SERVER,
    McpSession,
    raw_session,
    request,
    server_env,
)

from smartcontext_cli.tokens import Tokenizer

TOOLS = {
    "remember",
    "search",
    "forget",
    "compile",
    "session_add",
    "goal",
    "todo",
    "error_log",
    "error_resolve",
    "strategy",
    "explain",
    "stats",
}


@pytest.fixture(scope="module")
def server_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mcp") / "home"


@pytest.fixture(scope="module")
def server(server_home: Path) -> Any:
    work = server_home.parent / "work"  # outside any git repository: namespace "default"
    work.mkdir()
    with McpSession(server_home, cwd=work) as session:
        yield session


@pytest.fixture
def ns(request: pytest.FixtureRequest) -> str:
    """A namespace of this test's own on the shared server."""
    return re.sub(r"[^A-Za-z0-9._-]", "-", request.node.name)[-64:].lstrip(".-")


def cli(home: Path, *args: str, input: str | None = None, cwd: Path | None = None) -> Any:
    proc = subprocess.run(
        [*SERVER, *args],
        input=input,
        capture_output=True,
        text=True,
        env=server_env(home),
        cwd=cwd,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return proc


# handshake and tools/list -----------------------------------------------------------------------


def test_initialize_announces_tools_resources_and_prompts(server) -> None:
    assert server.client.server_info.name == "smartcontext"
    caps = server.client.server_capabilities
    assert caps.tools is not None and caps.resources is not None and caps.prompts is not None
    assert "namespace" in (server.client.instructions or "")


def test_tools_have_valid_schemas_and_every_annotation(server) -> None:
    tools = server.run("list_tools").tools
    assert {t.name for t in tools} == TOOLS
    for tool in tools:
        schema = tool.input_schema
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert "namespace" in schema["properties"], tool.name
        assert len(tool.description or "") >= 30, tool.name
        hints = tool.annotations
        for hint in ("read_only_hint", "destructive_hint", "idempotent_hint", "open_world_hint"):
            assert getattr(hints, hint) is not None, (tool.name, hint)
        assert hints.open_world_hint is False
        assert hints.destructive_hint is (tool.name == "forget"), tool.name
    by_name = {t.name: t for t in tools}
    assert {n for n, t in by_name.items() if t.annotations.read_only_hint} == {
        "search",
        "explain",
        "stats",
    }
    search = by_name["search"].input_schema["properties"]
    assert search["scope"]["enum"] == ["memories", "session", "all"]
    assert search["limit"]["maximum"] == 50
    compile_ = by_name["compile"].input_schema["properties"]
    assert "auto" in compile_["mode"]["enum"] and "debugging" in compile_["mode"]["enum"]
    assert compile_["format"]["enum"] == ["text", "markdown", "xml", "json", "messages"]


def test_tools_list_fits_in_2000_tokens(server) -> None:
    result = server.run("list_tools")
    wire = json.dumps(
        result.model_dump(by_alias=True, mode="json", exclude_none=True)["tools"],
        separators=(",", ":"),
    )
    assert Tokenizer("cl100k_base").count(wire) < 2000


# the core round trip ----------------------------------------------------------------------------


def test_remember_search_compile(server, ns: str) -> None:
    text = "We chose PostgreSQL 16 for the orders database"
    added = server.ok("remember", content=text, tags=["db"], kind="decision", namespace=ns)
    assert added["namespace"] == ns and re.fullmatch("[0-9a-f]{32}", added["id"])

    found = server.ok("search", query="postgresql orders", scope="memories", namespace=ns)
    assert set(found) == {"memories"}
    assert [m["id"] for m in found["memories"]] == [added["id"]]
    assert found["memories"][0]["tags"] == ["db"] and found["memories"][0]["kind"] == "decision"

    result = server.call("compile", query="orders database", budget=400, namespace=ns)
    assert not result.is_error
    data = result.structured_content
    assert text in data["prompt"]
    tokenizer = Tokenizer("cl100k_base")
    assert tokenizer.exact
    assert data["total_tokens"] == tokenizer.count(data["prompt"]) <= 400
    # The prompt is the first content block as it is; the accounting follows as JSON.
    assert result.content[0].text == data["prompt"]
    assert json.loads(result.content[1].text)["total_tokens"] == data["total_tokens"]
    # Recorded like a CLI compile: explain and stats see it.
    explained = server.ok("explain", namespace=ns)
    assert explained["compile_id"] == data["compile_id"] == 1
    assert server.ok("stats", namespace=ns)["compilations"] == 1


def test_session_add_then_compile_and_search(server, ns: str) -> None:
    server.ok("goal", text="Make the importer resumable", namespace=ns)
    added = server.ok(
        "session_add", role="user", content="The importer died at row 51234", namespace=ns
    )
    assert added["seq"] >= 1 and added["role"] == "user" and added["branch"] == "main"
    data = server.ok("compile", namespace=ns)
    assert "The importer died at row 51234" in data["prompt"]
    assert "Make the importer resumable" in data["prompt"]
    hits = server.ok("search", query="importer row", scope="session", namespace=ns)
    assert set(hits) == {"session"}
    assert hits["session"][0]["seq"] == added["seq"]
    assert hits["session"][0]["archived"] is False
    both = server.ok("search", query="importer", namespace=ns)  # scope all (the default)
    assert set(both) == {"memories", "session"} and both["session"]
    run = server.ok(
        "session_add", role="tool", content="3 passed", command="pytest -q", namespace=ns
    )
    hit = server.ok("search", query="passed", scope="session", namespace=ns)["session"][0]
    assert hit["seq"] == run["seq"] and hit["meta"]["command"] == "pytest -q"


def test_goal_todo_errors_strategy(server, ns: str) -> None:
    assert server.ok("goal", namespace=ns) == {"goal": None}
    assert server.ok("goal", text="Ship v2", namespace=ns) == {"goal": "Ship v2"}
    task = server.ok("todo", action="add", text="write the migration", namespace=ns)
    sub = server.ok("todo", action="add", text="add fixtures", parent=task["id"], namespace=ns)
    server.ok("todo", action="update", id=task["id"], status="done", namespace=ns)
    listed = server.ok("todo", action="list", all=True, namespace=ns)["tasks"]
    assert [(t["id"], t["depth"], t["status"]) for t in listed] == [
        (task["id"], 0, "done"),
        (sub["id"], 1, "pending"),
    ]
    open_only = server.ok("todo", action="list", namespace=ns)["tasks"]
    assert [t["id"] for t in open_only] == [sub["id"]]

    logged = server.ok("error_log", action="pytest", error="AssertionError: 500", namespace=ns)
    assert logged["new"] is True and logged["headline"] == "AssertionError: 500"
    again = server.ok("error_log", action="pytest", error="AssertionError: 500", namespace=ns)
    assert again["id"] == logged["id"] and again["count"] == 2 and again["new"] is False
    resolved = server.ok(
        "error_resolve", id=logged["id"], resolution="run migrations first", namespace=ns
    )
    assert resolved["resolved"] is True
    shown = server.ok("strategy", action="show", namespace=ns)["strategy"]
    assert any("run migrations first" in line for line in shown["ranked"])
    updated = server.ok(
        "strategy", action="update", kind="add_heuristic", text="Small commits", namespace=ns
    )["strategy"]
    assert updated["version"] == shown["version"] + 1 and "Small commits" in updated["heuristics"]


def test_reads_do_not_create_a_namespace(server, server_home: Path) -> None:
    for tool, args in (
        ("search", {"query": "anything"}),
        ("goal", {}),
        ("todo", {"action": "list"}),
        ("strategy", {"action": "show"}),
        ("stats", {}),
    ):
        server.ok(tool, namespace="never-written", **args)
    assert not (server_home / "namespaces" / "never-written").exists()


def test_forget_by_id(server, ns: str) -> None:
    keep = server.ok("remember", content="Deploys run on Kubernetes", namespace=ns)
    drop = server.ok("remember", content="Deploys run on Nomad", namespace=ns)
    assert server.ok("forget", id=drop["id"], namespace=ns) == {"deleted": True, "id": drop["id"]}
    found = server.ok("search", query="deploys", scope="memories", namespace=ns)["memories"]
    assert [m["id"] for m in found] == [keep["id"]]
    gone = server.call("forget", id=drop["id"], namespace=ns)
    assert gone.is_error and "no memory with id" in gone.content[0].text


# errors -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments", "message"),
    [
        ("compile", {"budget": 0}, "budget: 0 is less than the minimum of 1"),
        ("compile", {"budget": "4k"}, "budget: '4k' is not of type 'integer'"),
        ("compile", {"mode": "fast"}, "mode: 'fast' is not one of"),
        ("search", {}, "'query' is a required property"),
        ("search", {"query": "x", "scope": "web"}, "scope: 'web' is not one of"),
        ("remember", {"content": "x", "importance": 2}, "importance: 2 is greater than"),
        ("remember", {"content": "x", "colour": "red"}, "('colour' was unexpected)"),
        ("remember", {"content": "x", "namespace": "../etc"}, "namespace: '../etc' does not"),
        ("forget", {"id": "*"}, "id: '*' does not match"),
        ("todo", {"action": "add"}, "todo add needs text"),
        ("todo", {"action": "update", "id": 99, "status": "done"}, "no task 99"),
        ("remember", {"content": "   "}, "memory is empty"),
        ("explain", {"compile_id": 12345}, "no compilation 12345"),
        ("session_add", {"role": "User Name", "content": "x"}, "role: 'User Name' does not"),
    ],
)
def test_bad_arguments_are_tool_errors_and_the_server_goes_on(
    server, ns: str, tool: str, arguments: dict[str, Any], message: str
) -> None:
    result = server.call(tool, **{"namespace": ns, **arguments})
    assert result.is_error
    assert message in result.content[0].text
    assert "Traceback" not in result.content[0].text
    # ...and the next call is answered as usual.
    assert server.ok("goal", namespace=ns) == {"goal": None}


def test_an_unknown_tool_is_a_protocol_error(server) -> None:
    from mcp import MCPError

    with pytest.raises(MCPError, match="unknown tool 'rm_rf'"):
        server.call("rm_rf")
    assert server.ok("goal", namespace="after-unknown") == {"goal": None}


def test_secrets_are_redacted_in_every_answer_and_never_stored(
    server, server_home: Path, ns: str
) -> None:
    token = "ghp_" + "a1B2" * 10
    added = server.ok("remember", content=f"CI pushes with {token}", namespace=ns)
    server.ok("session_add", role="tool", content=f"export GITHUB_TOKEN={token}", namespace=ns)
    found = server.ok("search", query="pushes export", namespace=ns)
    compiled = server.ok("compile", query="CI pushes", namespace=ns)
    for text in (json.dumps(found), compiled["prompt"]):
        assert token not in text
        assert "[REDACTED:github token]" in text
    # Issue 13: the MCP tools enter text through the same door as the CLI (redact = redact by
    # default), so the original never touches the disk.
    shown = cli(server_home, "-n", ns, "show", added["id"], "--json")
    assert json.loads(shown.stdout)["content"] == "CI pushes with [REDACTED:github token]"
    for path in server_home.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


# resources and the prompt -----------------------------------------------------------------------


def test_resources_list_and_read(server, server_home: Path) -> None:
    server.ok("goal", text="Cut the p99 latency in half")
    server.ok("todo", action="add", text="profile the hot path")
    cli(server_home, "artifact", "add", "trace.txt", "-", input="span a: 812ms\n")
    listed = {str(r.uri): r for r in server.run("list_resources").resources}
    assert {
        "smartcontext://goal",
        "smartcontext://checklist",
        "smartcontext://strategy",
        "smartcontext://prefix",
        "smartcontext://artifact/a1",
    } <= set(listed)
    assert listed["smartcontext://artifact/a1"].name == "trace.txt"

    def read(uri: str) -> str:
        return server.run("read_resource", uri).contents[0].text

    assert read("smartcontext://goal") == "Cut the p99 latency in half"
    assert "profile the hot path" in read("smartcontext://checklist")
    assert read("smartcontext://artifact/a1") == "span a: 812ms\n"
    templates = server.run("list_resource_templates").resource_templates
    assert [t.uri_template for t in templates] == ["smartcontext://artifact/{id}"]

    from mcp import MCPError

    for missing in ("smartcontext://artifact/a99", "smartcontext://../../etc/passwd"):
        with pytest.raises(MCPError):
            read(missing)


def test_the_compile_prompt(server) -> None:
    server.ok("goal", text="Cut the p99 latency in half")
    prompts = server.run("list_prompts").prompts
    assert [p.name for p in prompts] == ["compile"]
    assert [a.name for a in prompts[0].arguments] == ["query", "budget", "mode"]
    got = server.run("get_prompt", "compile", {"budget": "300", "mode": "debugging"})
    text = got.messages[0].content.text
    assert got.messages[0].role == "user"
    assert "Cut the p99 latency in half" in text
    tokens = Tokenizer("cl100k_base").count(text)
    assert f"{tokens}/300 tokens" in got.description

    from mcp import MCPError

    with pytest.raises(MCPError, match="budget must be a whole number"):
        server.run("get_prompt", "compile", {"budget": "lots"})


# start-up, namespace, stdout, exit --------------------------------------------------------------


def test_the_namespace_defaults_to_the_git_repository_of_the_working_directory(
    tmp_path: Path,
) -> None:
    repo = tmp_path / "payments-api"
    (repo / "src").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    home = tmp_path / "home"
    with McpSession(home, cwd=repo / "src", mode="auto") as session:  # the 2026 protocol too
        assert session.ok("remember", content="Refunds go through the ledger")["namespace"] == (
            "payments-api"
        )
        assert session.ok("remember", content="x y", namespace="other")["namespace"] == "other"
    listed = cli(home, "-n", "payments-api", "list", "--json")
    assert [m["content"] for m in json.loads(listed.stdout)] == ["Refunds go through the ledger"]


def test_nothing_but_json_rpc_reaches_stdout(tmp_path: Path) -> None:
    home = tmp_path / "home"
    cli(home, "remember", "seeded with sqlite")
    # --backend json on a SQLite namespace makes the core raise a notice: it must not print.
    proc = raw_session(
        home,
        [
            request(1, "tools/list"),
            request(2, "tools/call", name="remember", arguments={"content": "via mcp"}),
            request(3, "tools/call", name="compile", arguments={"query": "mcp sqlite"}),
            request(4, "tools/call", name="compile", arguments={"budget": -1}),
            request(5, "tools/call", name="session_add", arguments={"role": "x", "content": "y"}),
            request(6, "resources/list"),
            request(7, "resources/read", uri="smartcontext://goal"),
            request(8, "resources/read", uri="smartcontext://nope"),
            request(9, "prompts/get", name="compile", arguments={}),
            request(10, "tools/call", name="nope", arguments={}),
            request(11, "no/such/method"),
        ],
        args=("mcp", "--backend", "json"),
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    lines = proc.stdout.decode("utf-8").split("\n")
    assert lines[-1] == ""  # every message ends with a newline, nothing follows
    ids = []
    for line in lines[:-1]:
        message = json.loads(line)  # fails on any stray text
        assert isinstance(message, dict) and message["jsonrpc"] == "2.0", line[:200]
        assert ("result" in message) != ("error" in message), line[:200]
        ids.append(message["id"])
    assert sorted(ids) == list(range(12))  # every request answered, even after end of input
    remembered = json.loads(next(x for x in lines if x.startswith('{"jsonrpc":"2.0","id":2,')))
    assert "stored with sqlite" in remembered["result"]["structuredContent"]["notices"][0]


def _started(home: Path, cwd: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [*SERVER, "mcp"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=server_env(home),
        cwd=cwd,
    )
    assert proc.stdin is not None and proc.stdout is not None
    for message in (INIT, INITIALIZED, request(1, "tools/list")):
        proc.stdin.write((json.dumps(message) + "\n").encode())
    proc.stdin.flush()
    assert json.loads(proc.stdout.readline())["id"] == 0
    assert json.loads(proc.stdout.readline())["id"] == 1
    return proc


def test_end_of_input_exits_cleanly(tmp_path: Path) -> None:
    proc = _started(tmp_path / "home", tmp_path)
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    assert proc.stdout.read() == b""
    assert b"Traceback" not in proc.stderr.read()


def test_sigterm_exits_cleanly_while_the_client_stays_silent(tmp_path: Path) -> None:
    proc = _started(tmp_path / "home", tmp_path)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)  # stdin stays open: the server must not wait for it
    assert proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 15
    proc.stdin.close()
    assert b"Traceback" not in proc.stderr.read()


def test_a_cancelled_request_does_not_hold_the_exit(tmp_path: Path) -> None:
    # A cancelled request gets no answer, so the end-of-input drain must not wait for one.
    from smartcontext_cli.memory import MemoryStore
    from smartcontext_cli.models import Memory

    home = tmp_path / "home"
    with MemoryStore(base_dir=home) as store:  # enough to keep compile busy for a while
        words = ["pool", "timeout", "auth", "service", "postgres", "connection", "retry", "budget"]
        texts = [" ".join(words[j % len(words)] for j in range(i, i + 30)) for i in range(3000)]
        store.storage.add_memories([Memory(content=text) for text in texts])
    call = {"name": "compile", "arguments": {"query": " ".join(words), "budget": 4000}}
    cancel = {"requestId": 5, "reason": "user pressed stop"}
    started = time.monotonic()
    proc = raw_session(
        home,
        [
            request(5, "tools/call", **call),
            {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": cancel},
        ],
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert time.monotonic() - started < 60  # the drain would have waited 120 s


def test_nothing_is_written_outside_the_data_directory(tmp_path: Path) -> None:
    home, user_home, work = tmp_path / "home", tmp_path / "user", tmp_path / "cwd"
    user_home.mkdir()
    work.mkdir()
    env = server_env(home, HOME=str(user_home), XDG_DATA_HOME="", XDG_CONFIG_HOME="")
    proc = raw_session(
        home,
        [
            request(1, "tools/call", name="remember", arguments={"content": "a fact"}),
            request(
                2, "tools/call", name="session_add", arguments={"role": "user", "content": "hi"}
            ),
            request(3, "tools/call", name="compile", arguments={"query": "fact"}),
            request(4, "tools/call", name="stats", arguments={}),
            request(5, "prompts/get", name="compile", arguments={}),
        ],
        env=env,
        cwd=work,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    assert sorted(user_home.rglob("*")) == [] and sorted(work.rglob("*")) == []
    assert (home / "namespaces" / "default").is_dir()


# concurrency ------------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_two_servers_and_a_cli_writer_lose_nothing(tmp_path: Path, backend: str) -> None:
    home, work = tmp_path / "home", tmp_path / "cwd"
    work.mkdir()
    args = ("mcp", "--namespace", "shared", "--backend", backend)
    per_writer = 12
    expected = set()
    with (
        McpSession(home, args=args, cwd=work) as first,
        McpSession(home, args=args, cwd=work) as second,
    ):
        script = (
            "import sys\n"
            "from smartcontext_cli.cli import main\n"
            f"for i in range({per_writer}):\n"
            "    try:\n"
            f"        main(['-n', 'shared', '--backend', '{backend}', 'remember', f'cli {{i}}'])\n"
            "    except SystemExit as e:\n"
            "        assert e.code == 0, e.code\n"
        )
        writer = subprocess.Popen(
            [sys.executable, "-c", script], env=server_env(home), cwd=work, stderr=subprocess.PIPE
        )

        async def burst(session: McpSession, name: str) -> None:
            import anyio

            async def one(i: int) -> None:
                result = await session.client.call_tool("remember", {"content": f"{name} {i}"})
                assert not result.is_error, result.content[0].text

            async with anyio.create_task_group() as tg:
                for i in range(per_writer):
                    tg.start_soon(one, i)

        # Each session's client lives in its own portal; run both bursts at once from threads.
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(2) as pool:
            jobs = [
                pool.submit(first.portal.call, burst, first, "first"),
                pool.submit(second.portal.call, burst, second, "second"),
            ]
            for job in jobs:
                job.result(timeout=300)
        assert writer.wait(timeout=300) == 0, writer.stderr.read().decode()
        for name in ("first", "second", "cli"):
            expected |= {f"{name} {i}" for i in range(per_writer)}
        # Both servers see every memory, whoever wrote it.
        for session in (first, second):
            stats = session.ok("stats")
            assert stats["tiers"]["long_term"]["items"] == len(expected)
    listed = cli(home, "-n", "shared", "list", "--limit", "1000", "--json")
    assert {m["content"] for m in json.loads(listed.stdout)} == expected
