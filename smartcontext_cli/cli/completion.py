"""``completion bash|zsh|fish``: static shell completion scripts generated from the command tree.

Why static: typer's dynamic completion starts Python on every <Tab>; these scripts list the
commands and options once, so completing costs nothing. ``completions/`` holds the generated
files, and a test fails when they no longer match what this module generates.
"""

from __future__ import annotations

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


def _bash(tree: dict[str, dict[str, Any]]) -> str:
    lines = [
        "# bash completion for smartcontext (generated: smartcontext completion bash)",
        # Bash arrays cannot have an empty key: "_" stands for the top level.
        "declare -gA _smartcontext_subs=(",
        *(f'  ["{p or "_"}"]="{" ".join(v["subcommands"])}"' for p, v in tree.items()),
        ")",
        "declare -gA _smartcontext_opts=(",
        *(f'  ["{p or "_"}"]="{" ".join(v["options"])}"' for p, v in tree.items()),
        ")",
        "_smartcontext() {",
        '  local cur="${COMP_WORDS[COMP_CWORD]}" path="" i w next',
        "  for ((i = 1; i < COMP_CWORD; i++)); do",
        '    w="${COMP_WORDS[i]}"',
        '    [[ "$w" == -* ]] && continue',
        '    next="${path:+$path }$w"',
        '    [[ -n "${_smartcontext_subs[$next]+x}" ]] && path="$next"',
        "  done",
        '  if [[ "$cur" == -* ]]; then',
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


def _fish(tree: dict[str, dict[str, Any]]) -> str:
    lines = ["# fish completion for smartcontext (generated: smartcontext completion fish)"]
    lines.append("complete -c smartcontext -f")
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
            lines.append(f"complete -c smartcontext -n '{cond}' {flag}")
    return "\n".join(lines) + "\n"


def script(app: typer.Typer, shell: str) -> str:
    if shell not in SHELLS:
        raise UsageError(f"unknown shell {shell!r}: choose {', '.join(SHELLS)}")
    tree = command_tree(app)
    return {"bash": _bash, "zsh": _zsh, "fish": _fish}[shell](tree)


def completion(
    shell: Annotated[str, typer.Argument(help="bash, zsh or fish.")],
) -> None:
    """Print a shell completion script.

    Examples:
      smartcontext completion bash > ~/.local/share/bash-completion/completions/smartcontext
      smartcontext completion fish > ~/.config/fish/completions/smartcontext.fish
    """
    from . import app

    print(script(app, shell), end="")


def register(app: typer.Typer) -> None:
    app.command()(completion)
