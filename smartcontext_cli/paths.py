"""Where state lives: the data directory, found without loading the settings machinery.

Why a module of its own: ``config`` builds the ``Settings`` dataclass, and a start-up path
that only needs the directory (the cached ``--help``) must not pay for it. ``config``
re-exports these names; nothing else belongs here.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_NAME = "smartcontext"


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``override``, else ``$SMARTCONTEXT_HOME``, else the user data dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("SMARTCONTEXT_HOME")
    if env:
        return Path(env).expanduser()
    return platform_dir("data")


def user_config_path(home: Path | None = None) -> Path:
    """The user config file; under ``SMARTCONTEXT_HOME`` when that is set, so it moves all state."""
    if home is not None or os.environ.get("SMARTCONTEXT_HOME"):
        return (home or home_dir()) / "config.toml"
    return platform_dir("config") / "config.toml"


def platform_dir(kind: str) -> Path:
    """The user data or config directory, as platformdirs defines it.

    Why Linux by hand: the XDG rule is two lines, and importing platformdirs costs ~3 ms of
    every start-up; other systems ask platformdirs.
    """
    if sys.platform == "linux":
        var, fallback = (
            ("XDG_DATA_HOME", ".local/share") if kind == "data" else ("XDG_CONFIG_HOME", ".config")
        )
        base = os.environ.get(var, "").strip()
        return (Path(base) if base else Path.home() / fallback) / APP_NAME
    import platformdirs

    if kind == "data":
        return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
