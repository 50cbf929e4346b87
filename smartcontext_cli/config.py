"""Settings: where state lives and which options are in force.

Precedence, lowest first: built-in defaults, the user config (TOML in the platformdirs config dir),
the project's ``.smartcontext.toml`` at the git root, ``SMARTCONTEXT_*`` environment variables,
then command-line flags. Everything is read at call time, never frozen at import, so tests and
scripts can move all state with ``SMARTCONTEXT_HOME``.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidNamespaceError, UsageError

APP_NAME = "smartcontext"
PROJECT_FILE = ".smartcontext.toml"
NAMESPACE_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")

DEFAULTS: dict[str, Any] = {
    "backend": "sqlite",
    "budget": 4000,
    "mode": "balanced",
    "encoding": "cl100k_base",
    "transparency": "off",
    "max_session_turns": 100,
    "compression_strategy": "heuristic",
    "redact": "redact",
    "backups": 5,
}
# Keys a user may set, with the type their text form is parsed into.
KNOWN_KEYS: dict[str, type] = {
    "backend": str,
    "namespace": str,
    "budget": int,
    "mode": str,
    "encoding": str,
    "transparency": str,
    "max_session_turns": int,
    "compression_strategy": str,
    "summarizer": str,
    "summarizer_timeout": float,
    "model": str,
    "safety_margin": float,
    "redact": str,
    "backups": int,
}
CHOICES: dict[str, tuple[str, ...]] = {
    "backend": ("sqlite", "json"),
    "transparency": ("off", "minimal", "normal", "full"),
    "compression_strategy": ("none", "heuristic", "hybrid"),
    "redact": ("redact", "warn", "off"),
}


def validate_namespace(name: str) -> str:
    """Return ``name`` if it is a safe namespace name, else raise one clear error.

    Why so strict: the name becomes a directory under the data dir, so ``..``, separators,
    absolute paths and hidden names must never pass.
    """
    if not NAMESPACE_RE.fullmatch(name) or name in {".", ".."} or name.startswith("."):
        raise InvalidNamespaceError(
            f"invalid namespace {name!r}: use 1-64 letters, digits, '.', '_' or '-', "
            "not starting with '.'"
        )
    return name


def home_dir(override: str | os.PathLike[str] | None = None) -> Path:
    """The data directory: ``override``, else ``$SMARTCONTEXT_HOME``, else the user data dir."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("SMARTCONTEXT_HOME")
    if env:
        return Path(env).expanduser()
    return _platform_dir("data")


def user_config_path(home: Path | None = None) -> Path:
    """The user config file; under ``SMARTCONTEXT_HOME`` when that is set, so it moves all state."""
    if home is not None or os.environ.get("SMARTCONTEXT_HOME"):
        return (home or home_dir()) / "config.toml"
    return _platform_dir("config") / "config.toml"


def _platform_dir(kind: str) -> Path:
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


def git_root(start: Path | None = None) -> Path | None:
    """The enclosing git work tree, found by walking up (no subprocess: this runs on every call)."""
    here = (start or Path.cwd()).resolve()
    for candidate in (here, *here.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def project_config_path(start: Path | None = None) -> Path | None:
    root = git_root(start)
    return root / PROJECT_FILE if root else None


def read_toml(path: Path) -> dict[str, Any]:
    # Why the parser loads here: most runs have no config file, and importing tomllib costs
    # ~3 ms of every start-up.
    try:
        fh = path.open("rb")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on 3.10 only
        import tomli as tomllib
    try:
        with fh:
            return tomllib.load(fh)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot parse config file {path}: {exc}") from None
    except OSError as exc:
        raise UsageError(f"cannot read config file {path}: {exc.strerror}") from None


def check_key(key: str) -> list[str]:
    """The parts of a setting name: a known key, or a dotted path into a table."""
    parts = key.split(".")
    if not all(parts):
        raise UsageError(f"invalid key {key!r}")
    if len(parts) == 1 and key not in KNOWN_KEYS:
        raise UsageError(f"unknown setting {key!r}; known: {', '.join(sorted(KNOWN_KEYS))}")
    return parts


def _coerce(text: str) -> Any:
    """A table entry's value from its text: int, float or bool when it reads as one."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def write_setting(path: Path, key: str, text: str, private: bool = True) -> Any:
    """Set ``key`` (dotted for tables) to the value ``text`` reads as in the TOML file ``path``.

    The file is replaced atomically, so a failed write leaves the old one whole; other keys are
    kept. Returns the typed value written.
    """
    import tomli_w

    for what, item in (("key", key), ("value", text)):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"the {what} is not valid UTF-8 text") from None
    parts = check_key(key)
    value = parse_value(key, text) if len(parts) == 1 else _coerce(text)
    data = read_toml(path)
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{part!r} is a value, not a table")
        node = child
    node[parts[-1]] = value
    payload = tomli_w.dumps(data).encode("utf-8")
    # Why 0700/0600 when private: the user config sits in the data directory when
    # SMARTCONTEXT_HOME is set, which must stay private; a project file keeps its mode.
    from .files import private_dirs

    private_dirs(path.parent)
    if private:
        mode = 0o600
    elif path.exists():
        mode = path.stat().st_mode & 0o777
    else:
        mode = 0o644  # a project file is meant to be committed and shared
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, mode)  # the umask may have narrowed a project file's mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return value


def parse_value(key: str, text: str) -> Any:
    """Parse the text form of a setting (from the environment or ``config set``)."""
    kind = KNOWN_KEYS.get(key, str)
    try:
        value: Any = kind(text)
    except ValueError:
        raise UsageError(f"{key} must be {kind.__name__}, got {text!r}") from None
    choices = CHOICES.get(key)
    if choices and value not in choices:
        raise UsageError(f"{key} must be one of {', '.join(choices)}; got {text!r}")
    if key == "namespace":
        # Refused when written, not only when used: a bad name in a config file would break
        # every later command.
        validate_namespace(value)
    return value


def _checked(key: str, value: Any, source: str) -> Any:
    """A known setting from a TOML file or a flag, with the type the code relies on.

    Why: ``budget = "8000"`` in a config file would otherwise reach the compiler as text and
    fail far from its cause. Integers are fine where floats are wanted; bools never are numbers.
    """
    kind = KNOWN_KEYS.get(key)
    if kind is None or (kind is str and isinstance(value, str)):
        return value
    if kind is float and type(value) is int:
        return float(value)
    if type(value) is not kind:
        raise UsageError(f"{key} must be {kind.__name__}, got {value!r} ({source})")
    return value


@dataclass
class Settings:
    """The settings in force for one invocation, with where each value came from."""

    home: Path
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    @classmethod
    def load(
        cls,
        home: str | os.PathLike[str] | None = None,
        flags: Mapping[str, Any] | None = None,
        cwd: Path | None = None,
    ) -> Settings:
        home_path = home_dir(home)
        settings = cls(home=home_path)
        settings._layer(dict(DEFAULTS), "default")
        settings._layer(read_toml(user_config_path(home_path if home else None)), "user")
        project = project_config_path(cwd)
        if project is not None:
            settings._layer(read_toml(project), "project")
        env = {}
        for key in KNOWN_KEYS:
            raw = os.environ.get("SMARTCONTEXT_" + key.upper())
            if raw:
                env[key] = parse_value(key, raw)
        settings._layer(env, "env")
        settings._layer({k: v for k, v in (flags or {}).items() if v is not None}, "flag")
        return settings

    def _layer(self, data: Mapping[str, Any], source: str) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                # Tables ([policies.x], [templates.y]) merge per entry, later layers winning.
                table = self.tables.setdefault(key, {})
                table.update(value)
                continue
            value = _checked(key, value, source)
            if key in CHOICES and value not in CHOICES[key]:
                raise UsageError(
                    f"{key} must be one of {', '.join(CHOICES[key])}; got {value!r} ({source})"
                )
            self.values[key] = value
            self.sources[key] = source

    def namespace(self, cwd: Path | None = None) -> str:
        """Flag, env or config namespace; else the git repository's name; else ``default``."""
        explicit = self.values.get("namespace")
        # Why ``is not None``: an empty name given on purpose (``-n ""``) is an error, not
        # a silent fall-back to the default namespace.
        if explicit is not None:
            return validate_namespace(str(explicit))
        root = git_root(cwd)
        if root is not None:
            # A repository directory may hold characters a namespace may not: map them to '-'.
            name = re.sub(r"[^A-Za-z0-9._-]", "-", root.name).lstrip(".")[:64]
            if name:
                return validate_namespace(name)
        return "default"
