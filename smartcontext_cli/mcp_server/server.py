"""The MCP protocol side: ``McpApp`` served over stdio with the official SDK's low-level Server.

Why the low-level ``Server`` (mcp 2.x) rather than ``MCPServer``: it publishes exactly the
schemas, annotations and structured results we write by hand, with nothing inferred from
Python signatures, so the ``tools/list`` answer stays small and stable.

Guarantees:
- Only protocol messages reach stdout: the SDK's stdio transport points fd 1 at stderr while it
  serves, and nothing here prints; logs go to stderr.
- Core calls run in a worker thread, one at a time, so the event loop keeps reading (pings,
  cancellations) while SQLite waits on another process's lock.
- End of input, SIGTERM and SIGINT end the server cleanly (exit status 0): the call in
  progress finishes (its store is closed), then the process leaves.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from .app import INSTRUCTIONS, PROMPT_ARGS, McpApp

if TYPE_CHECKING:
    from collections.abc import Callable

log = logging.getLogger("smartcontext.mcp")
RESOURCE_NOT_FOUND = -32002  # the MCP specification's code for resources/read
# At end of input, how long answers still being worked on may take before the server leaves.
DRAIN_SECONDS = 120.0


def build_server(app: McpApp) -> Any:
    """The SDK ``Server`` with smartcontext's tools, resources and prompt."""
    import anyio
    import anyio.to_thread
    import mcp.types as types
    from mcp.server.lowlevel import Server
    from mcp.shared.exceptions import MCPError

    from smartcontext_cli import __version__
    from smartcontext_cli.errors import NotFoundError, SmartContextError

    limiter = anyio.CapacityLimiter(1)

    async def work(fn: Callable[..., Any], *args: Any) -> Any:
        return await anyio.to_thread.run_sync(fn, *args, limiter=limiter)

    async def call(fn: Callable[..., Any], *args: Any, missing: int = types.INVALID_PARAMS) -> Any:
        """``fn`` in the worker; a core error becomes a JSON-RPC error, never a crash."""
        try:
            return await work(fn, *args)
        except NotFoundError as exc:
            raise MCPError(code=missing, message=str(exc)) from None
        except SmartContextError as exc:
            raise MCPError(code=types.INVALID_PARAMS, message=str(exc)) from None

    def tool_list() -> list[Any]:
        return [
            types.Tool(
                name=spec.name,
                description=spec.description,
                input_schema=spec.input_schema(),
                annotations=types.ToolAnnotations.model_validate(spec.annotations()),
            )
            for spec in app.tools().values()
        ]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=await call(tool_list))

    async def call_tool(ctx: Any, params: Any) -> Any:
        outcome = await call(app.call_tool, params.name, params.arguments)
        if outcome.error is not None:
            return types.CallToolResult(
                content=[types.TextContent(text=outcome.error)], is_error=True
            )
        data = outcome.data
        blocks: list[types.ContentBlock] = []
        if outcome.text is not None:
            # The prompt as it is, first: what a model reads; the accounting follows as JSON.
            blocks.append(types.TextContent(text=outcome.text))
            data_text = _json({k: v for k, v in data.items() if k != "prompt"})
        else:
            data_text = _json(data)
        blocks.append(types.TextContent(text=data_text))
        return types.CallToolResult(content=blocks, structured_content=data)

    def resource_list() -> list[Any]:
        return [
            types.Resource(
                uri=r["uri"], name=r["name"], description=r["description"], mime_type=r["mimeType"]
            )
            for r in app.resources()
        ]

    async def list_resources(ctx: Any, params: Any) -> Any:
        return types.ListResourcesResult(resources=await call(resource_list))

    async def list_templates(ctx: Any, params: Any) -> Any:
        template = types.ResourceTemplate(
            uri_template="smartcontext://artifact/{id}",
            name="artifact",
            description="A stored artifact by id (a1, a2, ...)",
            mime_type="text/plain",
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def read_resource(ctx: Any, params: Any) -> Any:
        uri = str(params.uri)
        text, mime = await call(app.read_resource, uri, missing=RESOURCE_NOT_FOUND)
        return types.ReadResourceResult(
            contents=[types.TextResourceContents(uri=uri, text=text, mime_type=mime)]
        )

    async def list_prompts(ctx: Any, params: Any) -> Any:
        prompt = types.Prompt(
            name="compile",
            description="Compiled project context (goal, memories, session, checklist) "
            "within a token budget",
            arguments=[
                types.PromptArgument(name=name, description=what, required=False)
                for name, what in PROMPT_ARGS
            ],
        )
        return types.ListPromptsResult(prompts=[prompt])

    async def get_prompt(ctx: Any, params: Any) -> Any:
        if params.name != "compile":
            raise MCPError(code=types.INVALID_PARAMS, message=f"unknown prompt {params.name!r}")
        description, text = await call(app.prompt, params.arguments)
        message = types.PromptMessage(role="user", content=types.TextContent(text=text))
        return types.GetPromptResult(description=description, messages=[message])

    return Server(
        "smartcontext",
        version=__version__,
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
        on_list_resources=list_resources,
        on_list_resource_templates=list_templates,
        on_read_resource=read_resource,
        on_list_prompts=list_prompts,
        on_get_prompt=get_prompt,
    )


def _json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False)


class _StdinLines:
    """The lines of fd 0, read without a worker thread, so a signal stops the server at once.

    Why: the SDK reads stdin in a thread that cannot be cancelled, so on SIGTERM the server
    would wait for a client that may never write again. Here the read waits on the event loop
    (``wait_readable``) and is cancelled like any other await. POSIX only.
    """

    def __init__(self, fd: int = 0) -> None:
        self.fd = fd

    def __aiter__(self) -> Any:
        return self._lines()

    async def _lines(self) -> Any:
        import os

        import anyio

        was_blocking = os.get_blocking(self.fd)
        os.set_blocking(self.fd, False)
        try:
            pending = b""
            while True:
                await anyio.wait_readable(self.fd)
                try:
                    chunk = os.read(self.fd, 1 << 16)
                except BlockingIOError:
                    continue
                if not chunk:
                    break
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    yield line.decode("utf-8", "replace") + "\n"
            if pending:
                yield pending.decode("utf-8", "replace")
        finally:
            os.set_blocking(self.fd, was_blocking)


class _AnswerBeforeEnd:
    """Read and write streams that end the session only when every request read is answered.

    Why: the SDK ends serving as soon as input ends, dropping requests still being worked on,
    so ``printf '...' | smartcontext mcp`` lost its last answers. At end of input this waits
    until each request id read has had its response or error sent, then ends (a signal still
    stops it at once).
    """

    def __init__(self, read: Any, write: Any) -> None:
        self.read, self.write = read, write
        self.pending: set[Any] = set()

    # the read side (ReadStream protocol)
    @property
    def last_context(self) -> Any:
        return getattr(self.read, "last_context", None)

    async def receive(self) -> Any:
        import anyio
        import mcp.types as types

        try:
            item = await self.read.receive()
        except anyio.EndOfStream:
            with anyio.move_on_after(DRAIN_SECONDS):
                while self.pending:
                    await anyio.sleep(0.005)
            raise
        message = getattr(item, "message", None)
        if isinstance(message, types.JSONRPCRequest):
            self.pending.add(message.id)
        elif (
            isinstance(message, types.JSONRPCNotification)
            and message.method == "notifications/cancelled"
        ):
            # A cancelled request gets no answer (MCP specification): stop waiting for it.
            self.pending.discard((message.params or {}).get("requestId"))
        return item

    def __aiter__(self) -> Any:
        return self

    async def __anext__(self) -> Any:
        import anyio

        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def aclose(self) -> None:
        await self.read.aclose()

    async def __aenter__(self) -> Any:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def writer(self) -> Any:
        outer = self

        class _Write:
            async def send(self, item: Any) -> None:
                import mcp.types as types

                await outer.write.send(item)
                message = getattr(item, "message", None)
                if isinstance(message, (types.JSONRPCResponse, types.JSONRPCError)):
                    outer.pending.discard(message.id)

            async def aclose(self) -> None:
                await outer.write.aclose()

            async def __aenter__(self) -> Any:
                return self

            async def __aexit__(self, *exc: object) -> None:
                await self.aclose()

        return _Write()


async def _serve(app: McpApp) -> None:
    import signal
    import sys

    import anyio
    from mcp.server.stdio import stdio_server

    server = build_server(app)

    async def stop_on_signal(scope: anyio.CancelScope) -> None:
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("signal %d: stopping", signum)
                scope.cancel()
                return

    stdin: Any = None if sys.platform == "win32" else _StdinLines()
    async with anyio.create_task_group() as tg:
        tg.start_soon(stop_on_signal, tg.cancel_scope)
        async with stdio_server(stdin=stdin) as (read_stream, write_stream):
            streams = _AnswerBeforeEnd(read_stream, write_stream)
            await server.run(streams, streams.writer(), server.create_initialization_options())
        tg.cancel_scope.cancel()  # end of input: stop watching for signals


def serve(home: Any = None, namespace: str | None = None, backend: str | None = None) -> None:
    """Serve MCP on stdin/stdout until end of input or SIGTERM."""
    import anyio

    logging.basicConfig(
        level=logging.WARNING, format="smartcontext mcp: %(levelname)s: %(message)s"
    )
    app = McpApp(home=home, namespace=namespace, backend=backend)
    # Fail before serving when the namespace or backend given cannot work at all.
    app.settings().namespace()
    anyio.run(_serve, app)
