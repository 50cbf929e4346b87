"""Connections to PostgreSQL: one clear error for every way they fail, and a shared pool.

Why a module of its own: psycopg is an optional extra (``smartcontext-cli[postgres]``) that costs
a few hundred milliseconds to import, so nothing imports it until a postgres namespace is opened;
and a wrong URL, a server that is down or a role without rights must read as one sentence
("smartcontext: error: ..."), never as a traceback, never as a hang.

Guarantees:

* ``connect`` gives up after ``connect_timeout`` seconds (5 unless the URL or ``PGCONNECT_TIMEOUT``
  says otherwise); messages name the server as ``host:port/database``, never the password.
* Every connection runs in autocommit mode (a read is one statement, one snapshot), waits at most
  ``LOCK_TIMEOUT_MS`` for a lock, like SQLite's busy timeout, and is tagged
  ``application_name=smartcontext`` so a DBA can see who is connected.
* ``shared_pool(url)`` hands long-lived processes (the MCP server) one pool per database URL,
  closed at exit; short CLI processes use one plain connection and never start pool threads.
"""

from __future__ import annotations

import atexit
import os
import re
import threading
from typing import TYPE_CHECKING, Any

from smartcontext_cli.errors import SmartContextError, UsageError

if TYPE_CHECKING:
    import psycopg
    import psycopg_pool

DEFAULT_CONNECT_TIMEOUT = 5
LOCK_TIMEOUT_MS = 30_000
POOL_MAX_SIZE = 8
INSTALL_HINT = "pip install 'smartcontext-cli[postgres]'"
URL_HINT = "set SMARTCONTEXT_DATABASE_URL or `smartcontext config set database_url URL`"

_POOLS: dict[str, psycopg_pool.ConnectionPool[Any]] = {}
_POOLS_LOCK = threading.Lock()


def psycopg_module() -> Any:
    """``psycopg``, or one clear error naming the extra to install."""
    try:
        import psycopg
    except ImportError:
        raise SmartContextError(
            f"the postgres backend needs psycopg 3, which is not installed: {INSTALL_HINT}"
        ) from None
    return psycopg


def require_url(url: str | None) -> str:
    """The database URL to use: ``url``, else ``$SMARTCONTEXT_DATABASE_URL`` (read now)."""
    chosen = url or os.environ.get("SMARTCONTEXT_DATABASE_URL") or ""
    if not chosen.strip():
        raise UsageError(f"the postgres backend needs a database URL: {URL_HINT}")
    return chosen.strip()


def parse_url(url: str) -> dict[str, str]:
    """The URL's (or key=value string's) parameters; a malformed one is a ``UsageError``."""
    return _params(url)


def _params(url: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    try:
        return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except Exception as exc:  # psycopg.ProgrammingError: a malformed URL or key=value string
        raise UsageError(f"invalid database URL: {_first_line(exc)}") from None


def describe(url: str) -> str:
    """``host:port/database`` (or the socket directory): what messages call the server."""
    try:
        params = _params(url)
    except UsageError:
        return "an invalid database URL"
    host = params.get("host") or params.get("hostaddr") or os.environ.get("PGHOST") or "localhost"
    port = params.get("port") or os.environ.get("PGPORT") or "5432"
    dbname = params.get("dbname") or os.environ.get("PGDATABASE") or params.get("user") or "?"
    return f"{host}:{port}/{dbname}"


def _first_line(exc: BaseException) -> str:
    """The part of a libpq message a user needs: its first line, without 'connection failed:'."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = lines[0] if lines else type(exc).__name__
    return re.sub(r"^((connection failed|connection is bad):\s*)+", "", text)


def _connect_kwargs(url: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"autocommit": True}
    params = _params(url)
    if "connect_timeout" not in params and not os.environ.get("PGCONNECT_TIMEOUT"):
        kwargs["connect_timeout"] = DEFAULT_CONNECT_TIMEOUT
    if "application_name" not in params and not os.environ.get("PGAPPNAME"):
        kwargs["application_name"] = "smartcontext"
    return kwargs


def configure(conn: psycopg.Connection[Any]) -> None:
    """Per-connection settings: the lock wait of SQLite's busy timeout, nothing else."""
    conn.execute(f"SET lock_timeout = {LOCK_TIMEOUT_MS}")


def connect(url: str) -> psycopg.Connection[Any]:
    """A configured autocommit connection, or one clear error within the connect timeout."""
    psycopg_module()
    import psycopg

    try:
        conn = psycopg.connect(url, **_connect_kwargs(url))
    except psycopg.Error as exc:
        raise SmartContextError(
            f"cannot connect to PostgreSQL at {describe(url)}: {_first_line(exc)}"
        ) from None
    try:
        configure(conn)
    except BaseException:
        conn.close()
        raise
    return conn


def database_error(url: str, exc: BaseException) -> SmartContextError:
    """The one-line error for a failure while talking to the server."""
    psycopg = psycopg_module()
    errors = psycopg.errors
    if isinstance(exc, errors.UniqueViolation) and exc.diag.constraint_name == "sc_memories_pkey":
        # "Key (ns, id)=(3, 5f0c...) already exists.": the id is what the user needs.
        found = re.search(r"=\(\d+, (.*)\) already exists", exc.diag.message_detail or "")
        return UsageError(f"memory {found.group(1) if found else '?'} already exists")
    if isinstance(exc, errors.LockNotAvailable):
        return SmartContextError(
            f"the namespace is busy: another process held its write lock for "
            f"{LOCK_TIMEOUT_MS // 1000} s (PostgreSQL at {describe(url)}); try again"
        )
    if isinstance(exc, errors.InsufficientPrivilege):
        return SmartContextError(
            f"PostgreSQL at {describe(url)} refused: {_first_line(exc)}; the role needs the "
            "rights to read and write smartcontext's tables"
        )
    if isinstance(exc, psycopg.OperationalError):
        return SmartContextError(
            f"lost the connection to PostgreSQL at {describe(url)}: {_first_line(exc)}"
        )
    if isinstance(exc, psycopg.DataError):
        return UsageError(f"PostgreSQL cannot store this value: {_first_line(exc)}")
    return SmartContextError(f"PostgreSQL at {describe(url)}: {_first_line(exc)}")


def shared_pool(url: str) -> psycopg_pool.ConnectionPool[Any]:
    """The process-wide pool for ``url``, opened (and checked) on first use, closed at exit.

    For long-lived processes serving many requests (the MCP server): every ``MemoryStore``
    opened with ``pooled=True`` on that database borrows connections from it, one per
    transaction or read, so threads never share a connection.
    """
    psycopg_module()
    try:
        from psycopg_pool import ConnectionPool, PoolTimeout
    except ImportError:
        raise SmartContextError(
            f"a pooled postgres store needs psycopg-pool, which is not installed: {INSTALL_HINT}"
        ) from None
    with _POOLS_LOCK:
        pool = _POOLS.get(url)
        if pool is not None and not pool.closed:
            return pool
        kwargs = _connect_kwargs(url)
        timeout = float(kwargs.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT))
        pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX_SIZE,
            kwargs=kwargs,
            configure=configure,
            timeout=timeout * 2,
            open=False,
            name="smartcontext",
        )
        pool.open(wait=False)
        try:
            pool.wait(timeout=timeout)
        except PoolTimeout:
            pool.close()
            # The pool swallows the reason; one direct attempt gives the user libpq's sentence.
            connect(url).close()
            raise SmartContextError(
                f"cannot connect to PostgreSQL at {describe(url)}: no connection within "
                f"{timeout:g} s"
            ) from None
        if not _POOLS:
            atexit.register(close_pools)
        _POOLS[url] = pool
        return pool


def close_pools() -> None:
    """Close every shared pool (at exit, or when a server shuts down)."""
    with _POOLS_LOCK:
        pools = list(_POOLS.values())
        _POOLS.clear()
    for pool in pools:
        pool.close()
