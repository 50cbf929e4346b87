"""Reading command arguments that may name standard input (``-``) or a file, capped and
checked as UTF-8. No Typer here: the fast path (``_fast``) reads arguments too."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import BinaryIO

from smartcontext_cli.errors import UsageError


def _read_capped(stream: BinaryIO, what: str, source: str) -> bytes:
    # Why a cap: `cat /dev/zero | smartcontext remember -` must fail, not fill the memory of
    # the machine; nothing the store accepts is larger than an artifact.
    from smartcontext_cli.memory import MAX_ARTIFACT_BYTES as cap

    data = stream.read(cap + 1)
    if len(data) > cap:
        raise UsageError(
            f"the {what} {source} is larger than {cap / 1e6:.0f} MB; nothing was stored"
        )
    return data


def read_text_arg(value: str, what: str) -> str:
    """``-`` means standard input (strict UTF-8); anything else is the text itself."""
    if value != "-":
        return value
    if sys.stdin is None:
        raise UsageError(f"no standard input to read the {what} from")
    data = _read_capped(sys.stdin.buffer, what, "on standard input")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"the {what} on standard input is not valid UTF-8 (byte {exc.start})"
        ) from None


def read_file_arg(value: str, what: str) -> str:
    """``-`` is standard input, else a file path; the text must be UTF-8."""
    if value == "-":
        return read_text_arg(value, what)
    path = Path(value)
    try:
        with path.open("rb") as fh:
            data = _read_capped(fh, what, f"in {value}")
    except FileNotFoundError:
        raise UsageError(f"no such file: {value}") from None
    except IsADirectoryError:
        raise UsageError(f"{value} is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"cannot read {value}: {exc.strerror}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(f"{value} is not UTF-8 text (byte {exc.start})") from None
