"""``config get|set|list|path``: the TOML settings, user-wide or per project."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from smartcontext_cli.config import (
    check_key,
    git_root,
    project_config_path,
    user_config_path,
    write_setting,
)
from smartcontext_cli.errors import UsageError

from . import _output as o
from ._context import JsonOpt, app_context

config_app = typer.Typer(
    help="Read and write settings (user config, or the project's .smartcontext.toml).",
    no_args_is_help=True,
)

ProjectOpt = Annotated[
    bool, typer.Option("--project", help="Use the project's .smartcontext.toml at the git root.")
]


def _target(ctx: typer.Context, project: bool) -> Path:
    if project:
        path = project_config_path()
        if path is None:
            raise UsageError("--project needs a git repository (none encloses this directory)")
        return path
    return user_config_path(app_context(ctx).home)


@config_app.command("get")
def config_get(
    ctx: typer.Context,
    key: Annotated[str, typer.Argument(help="Setting name, e.g. budget.")],
    as_json: JsonOpt = False,
) -> None:
    """Print the value in force for a setting (exit 1 when unset).

    Examples:
      smartcontext config get budget
      smartcontext config get policies.security_audit --json
    """
    settings = app_context(ctx).settings()
    parts = check_key(key)
    value: Any = settings.values.get(key) if len(parts) == 1 else settings.raw_tables
    source = settings.sources.get(key)
    if len(parts) > 1:
        for part in parts:
            value = value.get(part) if isinstance(value, dict) else None
    elif key == "namespace" and value is None:
        # The namespace in force even when no setting names it: the git repository's name.
        value = settings.namespace()
        source = "git repository" if git_root() else "default"
    if as_json:
        o.emit_json({"key": key, "value": value, "source": source})
    elif value is not None:
        o.out(str(value))
    if value is None:
        raise typer.Exit(1)


@config_app.command("set")
def config_set(
    ctx: typer.Context,
    key: Annotated[
        str, typer.Argument(help="Setting name; dotted for tables (policies.audit.goal).")
    ],
    value: Annotated[str, typer.Argument(help="The value.")],
    project: ProjectOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write a setting to the user config (or the project's with --project).

    Examples:
      smartcontext config set budget 8000
      smartcontext config set backend json --project
    """
    path = _target(ctx, project)
    warnings: list[str] = []
    tables = app_context(ctx).settings().raw_tables
    parsed = write_setting(path, key, value, private=not project, tables=tables, warnings=warnings)
    for warning in warnings:
        o.warn(warning)
    if as_json:
        o.emit_json({"key": key, "value": parsed, "file": str(path), "warnings": warnings})
    else:
        o.info(f"{key} = {parsed!r} in {path}")


@config_app.command("list")
def config_list(ctx: typer.Context, as_json: JsonOpt = False) -> None:
    """List the settings in force and where each comes from.

    Examples:
      smartcontext config list
      smartcontext config list --json
    """
    settings = app_context(ctx).settings()
    if as_json:
        o.emit_json(
            {
                "values": settings.values,
                "sources": settings.sources,
                "tables": settings.raw_tables,
                "files": {k: str(v) for k, v in settings.files.items()},
                "warnings": settings.warnings,
            }
        )
        return
    rows = [[k, v, settings.sources.get(k, "")] for k, v in sorted(settings.values.items())]
    o.table(["key", "value", "source"], rows)


@config_app.command("path")
def config_path(ctx: typer.Context, project: ProjectOpt = False, as_json: JsonOpt = False) -> None:
    """Print the path of the user (or project) config file.

    Examples:
      smartcontext config path
      smartcontext config path --project
    """
    path = _target(ctx, project)
    if as_json:
        o.emit_json({"path": str(path), "exists": path.exists()})
    else:
        o.out(str(path))


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
