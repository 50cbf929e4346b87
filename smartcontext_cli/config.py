"""Settings: where state lives and which options are in force.

Precedence, lowest first: built-in defaults, the user config (TOML in the platformdirs config dir),
the project's ``.smartcontext.toml`` at the git root, ``SMARTCONTEXT_*`` environment variables,
then command-line flags. Everything is read at call time, never frozen at import, so tests and
scripts can move all state with ``SMARTCONTEXT_HOME``.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import InvalidNamespaceError, UsageError

# Re-exported: where state lives is defined in paths (importable without this module).
from .paths import APP_NAME as APP_NAME
from .paths import home_dir as home_dir
from .paths import platform_dir as _platform_dir  # noqa: F401 - tests and callers use it
from .paths import user_config_path as user_config_path

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
    "retrieval": "lexical",
}
# Keys a user may set, with the type their text form is parsed into.
KNOWN_KEYS: dict[str, type] = {
    "backend": str,
    "database_url": str,
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
    # The semantic extra (semantic_search.py): the mode, and a local model directory.
    "retrieval": str,
    "semantic_model": str,
}
CHOICES: dict[str, tuple[str, ...]] = {
    "backend": ("sqlite", "json", "postgres"),
    "transparency": ("off", "minimal", "normal", "full"),
    "compression_strategy": ("none", "heuristic", "hybrid"),
    "redact": ("redact", "warn", "off"),
    "retrieval": ("lexical", "hybrid", "semantic"),
}
# Tables a config file may hold: [policies.NAME] (attention modes), [templates.NAME] (strategy).
KNOWN_TABLES = ("policies", "templates")
MIN_SESSION_TURNS = 2
MAX_SAFETY_MARGIN = 0.9


def check_budget(value: int) -> int:
    if value < 1:
        raise UsageError(f"budget must be a positive whole number of tokens, got {value}")
    return value


def check_max_session_turns(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < MIN_SESSION_TURNS:
        raise UsageError(
            f"max_session_turns must be a whole number of at least {MIN_SESSION_TURNS}, "
            f"got {value!r}"
        )
    return value


def check_safety_margin(value: float) -> float:
    if not 0.0 <= value < MAX_SAFETY_MARGIN:
        raise UsageError(
            f"safety_margin must be at least 0 and below {MAX_SAFETY_MARGIN}, got {value}"
        )
    return value


def check_timeout(value: float) -> float:
    if not value > 0:
        raise UsageError(f"summarizer_timeout must be a number of seconds above 0, got {value}")
    return value


def check_backups(value: int) -> int:
    if value < 0:
        raise UsageError(
            f"backups must be a whole number of backups to keep (0: none), got {value}"
        )
    return value


def check_encoding(value: str) -> str:
    from .tokens import resolve_encoding  # the code that uses it decides what is valid

    resolve_encoding(value)
    return value


# One validator per key, run by ``config set``, by every config layer when it loads, and by
# the code that uses the value (session limits, the tokenizer's margin): one rule each.
VALIDATORS: dict[str, Any] = {
    "budget": check_budget,
    "max_session_turns": check_max_session_turns,
    "safety_margin": check_safety_margin,
    "summarizer_timeout": check_timeout,
    "encoding": check_encoding,
    "backups": check_backups,
}


def check_mode(value: str, tables: Mapping[str, Any] | None) -> str:
    """A mode is a built-in one, ``auto``, or a valid ``[policies.NAME]``."""
    from .attention import AttentionManager, load_policies

    name = value.strip().lower()
    if name == "auto":
        return value
    policies = {}
    for policy, table in dict((tables or {}).get("policies") or {}).items():
        try:
            policies.update(load_policies({policy: table}))
        except UsageError:
            continue
    manager = AttentionManager(auto_detect=False, custom_policies=policies)
    if name not in manager.modes():
        known = ", ".join([*manager.modes(), "auto"])
        raise UsageError(f"mode must be one of {known}; got {value!r}")
    return value


def suggest(word: str, choices: Sequence[str]) -> str:
    """ " (did you mean 'budget'?)" for a near miss, else ""."""
    import difflib

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


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
        raise UsageError(
            f"unknown setting {key!r}{suggest(key, list(KNOWN_KEYS))}; "
            f"known: {', '.join(sorted(KNOWN_KEYS))}"
        )
    if len(parts) > 1 and parts[0] not in KNOWN_TABLES:
        raise UsageError(
            f"unknown table {parts[0]!r}{suggest(parts[0], KNOWN_TABLES)}: "
            f"tables are {' and '.join(KNOWN_TABLES)}"
        )
    return parts


def _coerce(text: str) -> Any:
    """A table entry's value from its text: int, float or bool when it reads as one."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def write_setting(
    path: Path,
    key: str,
    text: str,
    private: bool = True,
    tables: Mapping[str, Any] | None = None,
    warnings: list[str] | None = None,
) -> Any:
    """Set ``key`` (dotted for tables) to the value ``text`` reads as in the TOML file ``path``.

    The value passes the same checks as when a config file loads (``check_value``; ``mode``
    against the custom policies in ``tables``), so nothing is written that a later command
    would refuse. A table entry is written even while its policy is incomplete (policies are
    built one share at a time); why it is not usable yet is appended to ``warnings``.
    The file is replaced atomically, so a failed write leaves the old one whole; other keys are
    kept. Returns the typed value written.
    """

    for what, item in (("key", key), ("value", text)):
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise UsageError(f"the {what} is not valid UTF-8 text") from None
    parts = check_key(key)
    value = parse_value(key, text) if len(parts) == 1 else _coerce(text)
    if key == "database_url" and not private and hide_password(text) != text:
        # Why: the project file is meant to be committed, so a password there reaches everyone
        # who can read the repository.
        raise UsageError(
            "the project file is shared, so database_url there must not hold a password: keep "
            "the password in ~/.pgpass or PGPASSWORD, or set the URL in the user config"
        )
    if key == "database_url":
        check_database_url(value)
    _updated(path, key, parts, value, tables, None)  # refused before anything is created
    from .files import private_dirs

    private_dirs(path.parent)
    # Why a lock on the directory: two `config set` at once each read the file, changed their
    # key and wrote it back, and one change was lost (and they shared one temp file).
    with _locked_dir(path.parent):
        _replace(path, _updated(path, key, parts, value, tables, warnings), private)
    return value


@contextlib.contextmanager
def _locked_dir(folder: Path) -> Iterator[None]:
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def _updated(
    path: Path,
    key: str,
    parts: list[str],
    value: Any,
    tables: Mapping[str, Any] | None,
    warnings: list[str] | None,
) -> bytes:
    """The file's new text with ``key`` set, as it reads now; raises if the value is refused."""
    import tomli_w

    data = read_toml(path)
    if len(parts) == 1 and key == "mode":
        merged = {**(tables or {})}
        if isinstance(data.get("policies"), dict):
            merged["policies"] = {**merged.get("policies", {}), **data["policies"]}
        check_mode(value, merged)
    node = data
    for part in parts[:-1]:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise UsageError(f"{part!r} is a value, not a table ({path})")
        node = child
    node[parts[-1]] = value
    if parts[0] == "policies" and len(parts) > 2 and warnings is not None:
        from .attention import load_policies

        try:
            load_policies({parts[1]: data["policies"][parts[1]]})
        except UsageError as exc:
            warnings.append(f"policy {parts[1]!r} is not usable yet: {exc}")
    return tomli_w.dumps(data).encode("utf-8")


def _replace(path: Path, payload: bytes, private: bool) -> None:
    # Why 0700/0600 when private: the user config sits in the data directory when
    # SMARTCONTEXT_HOME is set, which must stay private; a project file keeps its mode.
    if private:
        mode = 0o600
    elif path.exists():
        mode = path.stat().st_mode & 0o777
    else:
        mode = 0o644  # a project file is meant to be committed and shared
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(payload)
        os.chmod(tmp, mode)  # the umask may have narrowed a project file's mode
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def check_database_url(value: str) -> str:
    """Refuse a URL libpq cannot parse (as the postgres backend would when it connects).

    Only when psycopg is installed (without it, the backend says which extra to install), and
    only in ``config set``: importing psycopg as every config file loads would slow every start.
    """
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return value
    from .storage.postgres_connection import parse_url

    parse_url(value)
    return value


def hide_password(text: str) -> str:
    """``text`` with the password of any URL or ``password=`` pair in it replaced by ``***``.

    For showing settings and for checks; nothing else in the text changes.
    """
    text = re.sub(r"(://[^\s:/@]*:)[^\s@/]*@", r"\1***@", text)
    return re.sub(r"(?i)(\bpassword\s*=\s*)('[^']*'|\S+)", r"\1***", text)


def shown(key: str, value: Any) -> Any:
    """A setting's value as ``config list`` shows it: database URLs without their password."""
    return hide_password(value) if key == "database_url" and isinstance(value, str) else value


def parse_value(key: str, text: str) -> Any:
    """Parse the text form of a setting (from the environment or ``config set``)."""
    kind = KNOWN_KEYS.get(key, str)
    try:
        value: Any = kind(text)
    except ValueError:
        raise UsageError(f"{key} must be {kind.__name__}, got {text!r}") from None
    return check_value(key, value)


def check_value(key: str, value: Any, tables: Mapping[str, Any] | None = None) -> Any:
    """``value`` if it is valid for ``key`` (choices, ranges, the using code's own rule).

    ``mode`` is checked against ``tables`` (custom policies) only when they are given: the
    policies may come from another config layer, so ``Settings.load`` checks it last.
    """
    choices = CHOICES.get(key)
    if choices and value not in choices:
        raise UsageError(f"{key} must be one of {', '.join(choices)}; got {value!r}")
    if key == "namespace":
        # Refused when written, not only when used: a bad name in a config file would break
        # every later command.
        validate_namespace(value)
    if key in VALIDATORS:
        VALIDATORS[key](value)
    if key == "mode" and tables is not None:
        check_mode(value, tables)
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
        raise UsageError(f"{key} must be {kind.__name__}, got {value!r}")
    return value


@dataclass
class Settings:
    """The settings in force for one invocation, with where each value came from.

    ``files`` maps the sources ``user`` and ``project`` to their file, so every error about a
    value names the file it is in; ``warnings`` lists what was ignored (unknown keys, invalid
    policies), for the CLI to print once.
    """

    home: Path
    values: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    tables: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    table_sources: dict[str, str] = field(default_factory=dict)
    # The tables as written, invalid policies included (``config get`` shows what is there).
    raw_tables: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def where(self, source: str | None) -> str:
        """Where a source lives, for messages: a file, an environment variable, a flag."""
        if source in self.files:
            return f"in {self.files[source]}"
        return {"env": "from the environment", "flag": "flag"}.get(source or "", str(source))

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
        user = user_config_path(home_path if home else None)
        settings.files["user"] = user
        settings._layer(read_toml(user), "user")
        project = project_config_path(cwd)
        if project is not None:
            settings.files["project"] = project
            settings._layer(read_toml(project), "project")
        env = {}
        for key in KNOWN_KEYS:
            raw = os.environ.get("SMARTCONTEXT_" + key.upper())
            if raw:
                try:
                    env[key] = parse_value(key, raw)
                except UsageError as exc:
                    raise UsageError(f"{exc} (from SMARTCONTEXT_{key.upper()})") from None
        settings._layer(env, "env")
        settings._layer({k: v for k, v in (flags or {}).items() if v is not None}, "flag")
        settings._check_tables()
        return settings

    def _layer(self, data: Mapping[str, Any], source: str) -> None:
        for key, value in data.items():
            if isinstance(value, dict):
                if key not in KNOWN_TABLES:
                    self.warnings.append(
                        f"unknown table [{key}] {self.where(source)} is ignored"
                        f"{suggest(key, KNOWN_TABLES)}"
                    )
                    continue
                # Tables ([policies.x], [templates.y]) merge per entry, later layers winning.
                table = self.tables.setdefault(key, {})
                table.update(value)
                for name in value:
                    self.table_sources[f"{key}.{name}"] = source
                continue
            if key not in KNOWN_KEYS and source in ("user", "project"):
                self.warnings.append(
                    f"unknown setting {key!r} {self.where(source)} is ignored"
                    f"{suggest(key, list(KNOWN_KEYS))}"
                )
                continue
            try:
                value = _checked(key, value, source)
                if source in ("user", "project"):
                    check_value(key, value)
                elif key in CHOICES and value not in CHOICES[key]:
                    raise UsageError(
                        f"{key} must be one of {', '.join(CHOICES[key])}; got {value!r}"
                    )
            except UsageError as exc:
                raise UsageError(f"{exc} ({self.where(source)})") from None
            self.values[key] = value
            self.sources[key] = source

    def _check_tables(self) -> None:
        """Drop invalid policies with a warning (one bad table must not break every compile);
        then check the mode in force against the policies that remain."""
        import copy

        self.raw_tables = copy.deepcopy(self.tables)
        policies = self.tables.get("policies")
        if policies:
            from .attention import load_policies

            for name in list(policies):
                try:
                    load_policies({name: policies[name]})
                except UsageError as exc:
                    where = self.where(self.table_sources.get(f"policies.{name}"))
                    self.warnings.append(f"{exc} ({where}); the policy is ignored")
                    del policies[name]
        mode = self.values.get("mode")
        if isinstance(mode, str) and self.sources.get("mode") != "default":
            try:
                check_mode(mode, self.tables)
            except UsageError as exc:
                raise UsageError(f"{exc} ({self.where(self.sources.get('mode'))})") from None

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
