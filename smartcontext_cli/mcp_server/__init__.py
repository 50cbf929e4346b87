"""The MCP front end: smartcontext as the memory and context compiler of any MCP client.

A second thin adapter over the same core as the CLI (neither goes through the other):

- ``tools``   the tool table: schemas, annotations, one core call per tool (no SDK)
- ``app``     requests as plain calls: validation, one store per call, redaction (no SDK)
- ``server``  the official ``mcp`` SDK's low-level Server over stdio, signals, exit
- ``clients`` the configuration snippet of each MCP client (no SDK)

Only ``server`` imports the SDK, inside its functions, and only ``smartcontext mcp`` imports
``server``: every other command starts without it (tests/test_startup.py).
"""

from __future__ import annotations

from .app import McpApp, ToolOutcome
from .clients import CLIENTS, config_for

__all__ = ["CLIENTS", "McpApp", "ToolOutcome", "config_for"]
