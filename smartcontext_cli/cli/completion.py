"""``completion bash|zsh|fish``: static shell completion scripts generated from the command tree.

Why static: typer's dynamic completion starts Python on every <Tab>; these scripts list the
commands and options once, so completing costs nothing. ``completions/`` holds the generated
files, and a test fails when they no longer match what this module generates.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from smartcontext_cli.errors import UsageError

SHELLS = ("bash", "zsh", "fish")


def command_tree(app: typer.Typer) -> dict[str, dict[str, Any]]:
    """{"path": {"subcommands": [...], "options": [...], "help": str}} for every command."""
    root = typer.main.get_command(app)
    tree: dict[str, dict[str, Any]] = {}

    def walk(cmd: Any, path: str) -> None:
        options = sorted({o for p in cmd.params if p.param_type_name == "option" for o in p.opts})
        subs = dict(getattr(cmd, "commands", {}) or {})
        help_text = (cmd.help or "").strip().splitlines()[0] if cmd.help else ""
        tree[path] = {
            "subcommands": sorted(subs),
            "options": [*options, "--help"],
            "help": help_text,
        }
        for name, sub in sorted(subs.items()):
            walk(sub, f"{path} {name}".strip())

    walk(root, "")
    return tree


NAMESPACES = "@namespaces"  # listed from the data directory at <Tab> time (no Python)
BRANCHES = "@branches"  # asked from `smartcontext branch list` at <Tab> time
ARG = "@arg"  # the key for a command's positional values


def value_table() -> dict[str, str]:
    """``"path option"`` (or ``"path @arg"``; path ``*`` for every command) -> the values, or
    ``@namespaces``/``@branches``. Every list comes from the code that checks the value."""
    from smartcontext_cli.attention import BUILT_IN
    from smartcontext_cli.compression import STRATEGIES
    from smartcontext_cli.config import CHOICES, KNOWN_KEYS
    from smartcontext_cli.models import STANDARD_KINDS
    from smartcontext_cli.strategy import BUILTIN_TEMPLATES

    from .compile_run import FORMATS, LEVELS
    from .hook_cmd import HOOK_NAMES

    modes = " ".join([*BUILT_IN, "auto"])
    backends = " ".join(CHOICES["backend"])
    return {
        "* --namespace": NAMESPACES,
        "* -n": NAMESPACES,
        "* --backend": backends,
        "* --kind": " ".join(STANDARD_KINDS),
        "compile --format": " ".join(FORMATS),
        "compile -f": " ".join(FORMATS),
        "compile --mode": modes,
        "compile -m": modes,
        "compile --transparency": " ".join(LEVELS),
        "mode @arg": modes,
        "migrate --to": backends,
        "completion @arg": " ".join(SHELLS),
        "session add --strategy": " ".join(STRATEGIES),
        "session set-strategy @arg": " ".join(STRATEGIES),
        "session search --branch": BRANCHES,
        "session search -b": BRANCHES,
        "strategy init --template": " ".join(sorted(BUILTIN_TEMPLATES)),
        "strategy init -t": " ".join(sorted(BUILTIN_TEMPLATES)),
        "config get @arg": " ".join(sorted(KNOWN_KEYS)),
        "config set @arg": " ".join(sorted(KNOWN_KEYS)),
        "branch switch @arg": BRANCHES,
        "branch delete @arg": BRANCHES,
        "branch compare @arg": BRANCHES,
        "branch merge @arg": BRANCHES,
        "branch merge --into": BRANCHES,
        "branch create --from": BRANCHES,
        "namespace show @arg": NAMESPACES,
        "namespace delete @arg": NAMESPACES,
        "hook run @arg": " ".join(HOOK_NAMES),
    }


def _bash(tree: dict[str, dict[str, Any]]) -> str:
    values = value_table()
    lines = [
        "# bash completion for smartcontext (generated: smartcontext completion bash)",
        # Bash arrays cannot have an empty key: "_" stands for the top level.
        "declare -gA _smartcontext_subs=(",
        *(f'  ["{p or "_"}"]="{" ".join(v["subcommands"])}"' for p, v in tree.items()),
        ")",
        "declare -gA _smartcontext_opts=(",
        *(f'  ["{p or "_"}"]="{" ".join(v["options"])}"' for p, v in tree.items()),
        ")",
        "declare -gA _smartcontext_vals=(",
        *(f'  ["{k}"]="{v}"' for k, v in values.items()),
        ")",
        "_smartcontext_values() {",
        '  case "$1" in',
        f"    {NAMESPACES})",
        '      local d="${SMARTCONTEXT_HOME:-${XDG_DATA_HOME:-$HOME/.local/share}/smartcontext}"',
        '      local x; for x in "$d"/namespaces/*/; do [[ -d "$x" ]] && x="${x%/}" && '
        "printf '%s\\n' \"${x##*/}\"; done ;;",
        f'    {BRANCHES}) smartcontext ${{2:+-n "$2"}} branch list 2>/dev/null | cut -f2 ;;',
        "    *) printf '%s\\n' $1 ;;",
        "  esac",
        "}",
        "_smartcontext() {",
        '  local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
        '  local path="" i w next spec="" ns=""',
        "  for ((i = 1; i < COMP_CWORD; i++)); do",
        '    w="${COMP_WORDS[i]}"',
        '    [[ "$w" == "-n" || "$w" == "--namespace" ]] && ns="${COMP_WORDS[i+1]}"',
        '    [[ "$w" == -* ]] && continue',
        '    next="${path:+$path }$w"',
        '    [[ -n "${_smartcontext_subs[$next]+x}" ]] && path="$next"',
        "  done",
        '  if [[ "$prev" == -* ]]; then',
        '    spec="${_smartcontext_vals[${path:-_} $prev]-${_smartcontext_vals[* $prev]-}}"',
        "  fi",
        # A leaf command's positional values (mode NAME, branch switch NAME ...).
        '  if [[ -z "$spec" && "$cur" != -* && -n "$path" ]] &&',
        '     [[ -z "${_smartcontext_subs[$path]}" ]]; then',
        '    spec="${_smartcontext_vals[$path @arg]-}"',
        "  fi",
        '  if [[ -n "$spec" ]]; then',
        '    COMPREPLY=($(compgen -W "$(_smartcontext_values "$spec" "$ns")" -- "$cur"))',
        '  elif [[ "$cur" == -* ]]; then',
        '    COMPREPLY=($(compgen -W "${_smartcontext_opts[${path:-_}]}" -- "$cur"))',
        "  else",
        '    COMPREPLY=($(compgen -W "${_smartcontext_subs[${path:-_}]}" -- "$cur"))',
        "  fi",
        "}",
        "complete -o default -F _smartcontext smartcontext",
    ]
    return "\n".join(lines) + "\n"


def _zsh(tree: dict[str, dict[str, Any]]) -> str:
    # zsh runs the bash function through bashcompinit: one source of truth for both shells.
    return (
        "#compdef smartcontext\n"
        "# zsh completion for smartcontext (generated: smartcontext completion zsh)\n"
        "autoload -U +X bashcompinit && bashcompinit\n" + _bash(tree)
    )


def _fish_values(spec: str) -> str:
    if spec == NAMESPACES:
        return "(__smartcontext_namespaces)"
    if spec == BRANCHES:
        return "(__smartcontext_branches)"
    return spec


def _fish(tree: dict[str, dict[str, Any]]) -> str:
    values = value_table()
    lines = ["# fish completion for smartcontext (generated: smartcontext completion fish)"]
    lines.append("complete -c smartcontext -f")
    lines += [
        "function __smartcontext_namespaces",
        "    set -l home $SMARTCONTEXT_HOME",
        '    test -n "$home"; or set home (set -q XDG_DATA_HOME; and echo $XDG_DATA_HOME; '
        "or echo $HOME/.local/share)/smartcontext",
        "    for d in $home/namespaces/*/",
        "        basename $d",
        "    end",
        "end",
        "function __smartcontext_branches",
        "    smartcontext branch list 2>/dev/null | cut -f2",
        "end",
    ]
    for path, node in tree.items():
        words = path.split()
        if words:
            parent = " ".join(words[:-1])
            siblings = " ".join(tree[parent]["subcommands"]) if parent else ""
            cond = (
                "__fish_use_subcommand"
                if not parent
                else f"__fish_seen_subcommand_from {words[-2]}; "
                f"and not __fish_seen_subcommand_from {siblings}"
            )
            desc = node["help"].replace("'", "\\'")
            lines.append(f"complete -c smartcontext -n '{cond}' -a {words[-1]} -d '{desc}'")
        cond = f"__fish_seen_subcommand_from {words[-1]}" if words else "__fish_use_subcommand"
        for opt in node["options"]:
            flag = f"-l {opt[2:]}" if opt.startswith("--") else f"-s {opt[1:]}"
            spec = values.get(f"{path} {opt}") or values.get(f"* {opt}")
            extra = f" -x -a '{_fish_values(spec)}'" if spec else ""
            lines.append(f"complete -c smartcontext -n '{cond}' {flag}{extra}")
        arg = values.get(f"{path} {ARG}")
        if arg and words:
            lines.append(f"complete -c smartcontext -n '{cond}' -x -a '{_fish_values(arg)}'")
    return "\n".join(lines) + "\n"


def script(app: typer.Typer, shell: str) -> str:
    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}: choose {', '.join(SHELLS)}")
    tree = command_tree(app)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](tree)


def install_path(shell: str) -> Path:
    """Where each shell looks for user completions (created if missing)."""
    home = Path.home()
    data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    config = Path(os.environ.get("XDG_CONFIG_HOME") or home / ".config")
    return {
        "bash": data / "bash-completion" / "completions" / "smartcontext",
        "zsh": Path(os.environ.get("ZDOTDIR") or home) / ".zfunc" / "_smartcontext",
        "fish": config / "fish" / "completions" / "smartcontext.fish",
    }[shell]


NEXT_STEP = {
    "bash": "open a new shell (needs the bash-completion package)",
    "zsh": "add  fpath+=~/.zfunc; autoload -Uz compinit; compinit  to ~/.zshrc, then open a "
    "new shell",
    "fish": "open a new shell",
}


def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")],
    install: Annotated[
        bool,
        typer.Option("--install", help="Write it where the shell looks (directories created)."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (stable shape, see README).")
    ] = False,
) -> None:
    """Print (or --install) a shell completion script: commands, options and their values.

    Examples:
      smartcontext completion bash --install
      smartcontext completion fish > ~/.config/fish/completions/smartcontext.fish
    """
    from . import _output as o
    from ._app import full_app

    app = full_app()

    text = script(app, shell)
    if not install:
        if as_json:
            o.emit_json({"shell": shell, "script": text})
        else:
            print(text, end="")
        return
    path = install_path(shell)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot write {path}: {exc.strerror}") from None
    if as_json:
        o.emit_json({"shell": shell, "path": str(path), "next": NEXT_STEP[shell]})
    else:
        o.info(f"wrote {path}; {NEXT_STEP[shell]}")


def register(app: typer.Typer) -> None:
    app.command()(completion)
