"""``hook install|uninstall|status|run|backfill``: git hooks that record commits as decisions.

The logic lives in the core (``smartcontext_cli.hooks`` installs, ``smartcontext_cli.git_memory``
records); each command here parses, makes one call and renders. ``hook run`` is what the
installed scripts call: it never fails a git command (any error is one line in the hook log
under the data directory, and the exit is 0).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from smartcontext_cli.errors import UsageError

from . import _output as o
from ._context import JsonOpt, NamespaceOpt, app_context

hook_app = typer.Typer(
    help="Git hooks that record commits, decisions and merges as memories.", no_args_is_help=True
)
RepoOpt = Annotated[
    Path | None,
    typer.Option("--repo", help="The git repository (default: the current directory's)."),
]
HOOK_NAMES = ("post-commit", "post-checkout", "post-merge", "post-rewrite")


def _global_args(ctx: typer.Context, namespace: str | None) -> list[str]:
    """What the hook line passes on: the data directory and namespace given now, if any."""
    app = app_context(ctx)
    args: list[str] = []
    home = app.home or os.environ.get("SMARTCONTEXT_HOME")
    if home:
        args += ["--home", str(Path(home).expanduser().resolve())]
    chosen = namespace or app.namespace or os.environ.get("SMARTCONTEXT_NAMESPACE")
    if chosen:
        args += ["--namespace", chosen]
    if app.backend:
        args += ["--backend", app.backend]
    return args


@hook_app.command("install")
def hook_install(
    ctx: typer.Context,
    repo: RepoOpt = None,
    post_commit: Annotated[
        bool, typer.Option("--post-commit", help="Record commits (and keep amends single).")
    ] = False,
    post_checkout: Annotated[
        bool, typer.Option("--post-checkout", help="Follow the git branch in the session log.")
    ] = False,
    post_merge: Annotated[bool, typer.Option("--post-merge", help="Record merges.")] = False,
    sync: Annotated[
        bool,
        typer.Option("--sync", help="Record before git returns (slower; for CI and scripts)."),
    ] = False,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Install git hooks (default: post-commit and post-checkout); existing hooks keep running.

    Examples:
      smartcontext hook install
      smartcontext hook install --repo ~/src/api --post-merge --json
    """
    from smartcontext_cli.hooks import DEFAULT_HOOKS, install

    chosen = [
        name
        for name, wanted in (
            ("post-commit", post_commit),
            ("post-checkout", post_checkout),
            ("post-merge", post_merge),
        )
        if wanted
    ] or list(DEFAULT_HOOKS)
    report = install(repo, chosen, _global_args(ctx, namespace), sync=sync)
    if as_json:
        o.emit_json(report)
        return
    for row in report["hooks"]:
        chained = (
            f" (runs the previous hook first: {Path(row['chained']).name})"
            if row["chained"]
            else ""
        )
        o.info(f"{row['action']} {row['path']}{chained}")


@hook_app.command("uninstall")
def hook_uninstall(ctx: typer.Context, repo: RepoOpt = None, as_json: JsonOpt = False) -> None:
    """Remove smartcontext's hooks and put back the hooks they chained, byte for byte.

    Examples:
      smartcontext hook uninstall
      smartcontext hook uninstall --repo ~/src/api --json
    """
    from smartcontext_cli.hooks import uninstall

    report = uninstall(repo)
    if as_json:
        o.emit_json(report)
        return
    if not report["hooks"]:
        o.info(f"no smartcontext hooks in {report['hooks_dir']}")
    for row in report["hooks"]:
        o.info(f"{row['action']}: {row['path']}")


@hook_app.command("status")
def hook_status(ctx: typer.Context, repo: RepoOpt = None, as_json: JsonOpt = False) -> None:
    """Show which git hooks are installed, what they chain, and the last logged failure.

    Examples:
      smartcontext hook status
      smartcontext hook status --json
    """
    from smartcontext_cli.hooks import status

    report = status(repo, app_context(ctx).settings().home)
    if as_json:
        o.emit_json(report)
        return
    o.out(f"hooks directory: {report['hooks_dir']}")
    rows = []
    for row in report["hooks"]:
        state = (
            "installed"
            if row["installed"]
            else (f"not ours ({row['other']})" if row["other"] else "-")
        )
        rows.append([row["hook"], state, Path(row["chained"]).name if row["chained"] else ""])
    o.table(["hook", "state", "chains"], rows)
    if report["last_failure"]:
        o.info(f"last failure ({report['log']}): {report['last_failure']}")


@hook_app.command("run", context_settings={"ignore_unknown_options": True})
def hook_run(
    ctx: typer.Context,
    hook: Annotated[
        str, typer.Argument(help="post-commit, post-rewrite, post-checkout or post-merge.")
    ],
    args: Annotated[
        list[str] | None, typer.Argument(help="The arguments git passed to the hook.")
    ] = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Do what the installed hook does (never fails: errors go to the hook log, exit 0).

    Examples:
      smartcontext hook run post-commit
      smartcontext hook run post-checkout HEAD@{1} HEAD 1 --json
    """
    from smartcontext_cli import git_memory
    from smartcontext_cli.config import home_dir
    from smartcontext_cli.hooks import log_failure

    if hook not in HOOK_NAMES:
        raise UsageError(f"unknown hook {hook!r}: choose {', '.join(HOOK_NAMES)}")
    app = app_context(ctx)
    home: Path | None = None
    report: dict[str, Any]
    try:
        store = app.store(namespace)
        home = store.home
        stdin = sys.stdin.read() if hook == "post-rewrite" and sys.stdin else ""
        report = git_memory.run(store, hook, args or [], stdin, Path.cwd())
    except Exception as exc:  # a hook must never fail git: log one line, exit 0
        try:
            home = home or home_dir(app.home)
        except Exception:
            home = None
        if home is not None:
            log_failure(home, hook, f"{type(exc).__name__}: {exc}")
        report = {"hook": hook, "error": str(exc)}
    if as_json:
        o.emit_json(report)
    elif "error" in report:
        o.warn(f"{hook} failed (logged): {report['error']}")


@hook_app.command("backfill")
def hook_backfill(
    ctx: typer.Context,
    since: Annotated[str, typer.Option("--since", help="Record the commits after this revision.")],
    repo: RepoOpt = None,
    namespace: NamespaceOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Record past commits (SINCE..HEAD) as the post-commit hook would; known ones are skipped.

    Examples:
      smartcontext hook backfill --since v1.0
      smartcontext hook backfill --since HEAD~50 --repo ~/src/api --json
    """
    from smartcontext_cli import git_memory
    from smartcontext_cli.gitlog import repo_paths

    top, _ = repo_paths(repo)
    app = app_context(ctx)
    # The namespace the repository's own commands use (its name), unless one is given.
    store = app.store(namespace or app.settings().namespace(cwd=top))
    report = git_memory.backfill(store, since, top)
    if as_json:
        o.emit_json(report)
    else:
        o.info(
            f"recorded {o.counted(report['commits'], 'commit')} as "
            f"{o.counted(report['memories'], 'memory', 'memories')}; "
            f"{report['skipped']} already recorded"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(hook_app, name="hook")
