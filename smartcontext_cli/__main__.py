"""``python -m smartcontext_cli``: the same as the ``smartcontext`` command."""

from .cli import main

main()
