"""``MemoryStore``: the spec's facade over one namespace's store.

It resolves settings (namespace, backend, data directory), opens the storage lazily, and offers
the tiers of the spec: working context (goal), long-term memories, artifacts and the session log.
Feature modules add their API as mixins (session, compiler, agent state), so this file stays the
foundation. Every method is one storage transaction; nothing here prints. Reads of a namespace
that has no store yet answer empty (or NotFoundError) and never create it.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import ids
from .agent import AgentStateMixin
from .clock import now
from .config import Settings
from .errors import AmbiguousIdError, NotFoundError, UsageError
from .gather import CompileMixin
from .models import (
    Artifact,
    Memory,
    is_utf8,
    normalise_tags,
    validate_importance,
    validate_kind,
)
from .semantic_store import SemanticMixin
from .session import SessionMixin
from .storage import existing_backend, namespace_dir, open_storage
from .storage.base import Storage

if TYPE_CHECKING:
    from .search import Hit

MAX_MEMORY_BYTES = 1_000_000
MAX_ARTIFACT_BYTES = 50_000_000
ARTIFACT_NAME_MAX = 200
WORKING = "working"
ARTIFACTS = "artifacts"


def clean_text(text: str, what: str, max_bytes: int) -> str:
    """Reject what no prompt can use: empty text, NUL bytes, and oversized blobs."""
    if not text.strip():
        raise UsageError(f"{what} is empty")
    if "\x00" in text:
        raise UsageError(f"{what} contains NUL bytes; store binary data elsewhere")
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > max_bytes:
        hint = ""
        if what == "memory":
            hint = "; store it as an artifact: smartcontext artifact add NAME FILE"
        raise UsageError(
            f"{what} is too large ({size / 1e6:.1f} MB, limit {max_bytes / 1e6:.0f} MB){hint}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UsageError(f"{what} is not valid UTF-8 text") from None
    return text


def require_terms(query: str) -> None:
    """Refuse a search with no searchable word (``""``, ``"?"``, an emoji): it would match
    anything, and a CI step searching ``"$EMPTY"`` must not see a hit."""
    from .text import query_terms

    if not query_terms(query):
        raise UsageError(f"nothing to search for in {query!r}: give at least one word")


def _kind_filter(kind: str | None) -> str | None:
    """Kinds are stored lower-case: ``--kind Decision`` filters like ``--kind decision``, and a
    kind no memory can have is an error rather than a silent empty result."""
    return None if kind is None else validate_kind(kind.strip().lower())


class MemoryStore(SessionMixin, CompileMixin, AgentStateMixin, SemanticMixin):
    """One namespace's memory: ``MemoryStore(namespace="my-project", storage_backend="sqlite")``."""

    def __init__(
        self,
        namespace: str | None = None,
        storage_backend: str | None = None,
        base_dir: str | os.PathLike[str] | None = None,
        max_session_turns: int | None = None,
        compression_strategy: str | None = None,
        *,
        settings: Settings | None = None,
        database_url: str | None = None,
        pooled: bool = False,
    ) -> None:
        """``database_url`` overrides the setting of that name (the postgres backend's server).

        ``pooled=True`` is for long-lived processes serving many requests (the MCP server): on
        postgres, connections come from one pool per database URL shared by every
        ``MemoryStore`` of the process, so threads may share this object. Elsewhere it changes
        nothing.
        """
        flags: dict[str, Any] = {
            "namespace": namespace,
            "backend": storage_backend,
            "database_url": database_url,
        }
        if max_session_turns is not None:
            flags["max_session_turns"] = max_session_turns
        if compression_strategy is not None:
            flags["compression_strategy"] = compression_strategy
        self.settings = settings or Settings.load(home=base_dir, flags=flags)
        self.namespace = self.settings.namespace()
        self.home: Path = self.settings.home
        self.directory = namespace_dir(self.home, self.namespace)
        self.notices: list[str] = []
        # What admission found in text entering the store (``admit``): for the CLI to report.
        self.admitted: list[str] = []
        self.last_backup: Path | None = None
        self._finish_migration()
        self.backend = self._choose_backend()
        self.pooled = pooled
        self._storage: Storage | None = None

    def _finish_migration(self) -> None:
        """Finish (or undo) a migration a crash interrupted, before anything reads the store."""
        root = self.home / "namespaces"
        if not root.is_dir():
            return
        with os.scandir(root) as entries:
            # Ours (".migrating-<ns>") and older versions' (".migrating-<ns>-<time>").
            leftover = any(e.name.startswith(f".migrating-{self.namespace}") for e in entries)
        if leftover or (self.directory / ".migration.json").exists():
            from .migrate import recover

            done = recover(self.home, self.namespace, self.settings.get("database_url"))
            if done:
                self.notices.append(done)

    def _choose_backend(self) -> str:
        wanted = str(self.settings.get("backend"))
        existing = existing_backend(self.directory)
        if existing and existing != wanted:
            if self.settings.sources.get("backend") == "flag":
                self.notices.append(
                    f"namespace '{self.namespace}' is stored with {existing}; using {existing} "
                    f"(convert it with: smartcontext migrate --to {wanted})"
                )
            return existing
        return wanted

    # lifecycle -------------------------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        """The namespace's store; a namespace that does not exist is created by its first write.

        Why not on first use: a command that fails (or only reads) must not leave an empty
        namespace behind (``storage.guard``).
        """
        if self._storage is None:
            from .storage.guard import GuardedStorage

            url = self.settings.get("database_url")
            pool = None
            if self.pooled and self.backend == "postgres":
                from .storage.postgres_connection import require_url, shared_pool

                pool = shared_pool(require_url(url))

            def opener() -> Storage:
                return open_storage(
                    self.home, self.namespace, self.backend, database_url=url, pool=pool
                )

            # PostgreSQL opens without creating anything (its namespace appears with its first
            # write), so it is opened at once; a local namespace only when it exists.
            local = self.backend != "postgres"
            self._storage = GuardedStorage(
                opener,
                exists=not local or self.exists,
                backend=self.backend,
                where=self.directory,
            )
        return self._storage

    @property
    def exists(self) -> bool:
        if self.backend == "postgres":
            # The database is the truth: a teammate may have created the namespace, and a
            # namespace exists only once something was written (opening creates nothing).
            return bool(self.storage.has_namespace())  # type: ignore[attr-defined]
        return existing_backend(self.directory) is not None

    def close(self) -> None:
        self._close_semantic()
        if self._storage is not None:
            self._storage.close()
            self._storage = None

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # the door: text entering the store -------------------------------------------------------

    def admit(self, value: Any, what: str) -> Any:
        """``value`` (text, or JSON data) as it may enter the store, per the ``redact`` setting.

        ``redact`` (default): each credential becomes ``[REDACTED:<kind>]`` here, before
        anything is written, so the original never touches the disk. ``warn``: stored as
        given, and said so. ``off``: stored as given. Either way ``admitted`` says what was
        found (kinds and counts, never the secrets), and every compile redacts again.
        """
        from .redaction import Redactions, redact_data

        policy = str(self.settings.get("redact", "redact"))
        if policy == "off" or not value:
            return value
        found = Redactions()
        clean = redact_data(value, found)
        if not found.total:
            return value
        kinds = found.summary().partition(" (")[2].rstrip(")")
        if policy == "warn":
            self.admitted.append(
                f"warning: the {what} holds {found.total} secret(s) ({kinds}); stored as given "
                "because redact = warn"
            )
            return value
        self.admitted.append(f"redacted {found.total} secret(s) ({kinds}) from the {what}")
        return clean

    # long-term memories ----------------------------------------------------------------------

    def remember(
        self,
        content: str,
        tags: Sequence[str] | None = None,
        kind: str = "note",
        importance: float = 0.5,
        source: str = "user",
    ) -> Memory:
        if not isinstance(source, str) or not source or not is_utf8(source):
            raise UsageError(f"invalid source {source!r}: give a short text such as user or git")
        memory = Memory(
            content=self.admit(clean_text(content, "memory", MAX_MEMORY_BYTES).strip(), "memory"),
            tags=normalise_tags(tags),
            kind=validate_kind(kind),
            importance=validate_importance(importance),
            source=source,
        )
        before = self._version()
        self.storage.add_memories([memory])
        self._embed_written([memory], before)
        return memory

    def remember_unique(
        self,
        content: str,
        tags: Sequence[str] | None = None,
        kind: str = "note",
        importance: float = 0.5,
        source: str = "user",
        allow_duplicate: bool = False,
    ) -> tuple[Memory, bool]:
        """``remember`` unless a memory holds the same text (whitespace aside): then that one.

        Returns ``(memory, created)``. Why a separate method: ``remember`` is also what
        compaction and session end use, whose undo deletes what they added, so it must never
        hand back a memory it did not create.
        """
        if allow_duplicate:
            return self.remember(content, tags, kind, importance, source), True
        # Compared as it would be stored: a text holding a secret is stored redacted, so the
        # raw text never equals it (it was stored again each time). Redaction is idempotent,
        # so ``remember`` admits the redacted text unchanged and says nothing twice.
        content = self.admit(content, "memory") if isinstance(content, str) else content
        # Embedded after the transaction (semantic modes): never while holding the write lock.
        # No other process adds the same text in between (the transaction).
        with self.embedding_deferred(), self.storage.transaction():
            existing = self.find_duplicate(content)
            if existing is not None:
                return existing, False
            return self.remember(content, tags, kind, importance, source), True

    def find_duplicate(self, content: str) -> Memory | None:
        """A memory whose text equals ``content`` after whitespace normalisation, if any."""
        from .text import query_terms

        wanted = " ".join(content.split())
        if not wanted:
            return None
        terms = query_terms(wanted)
        if terms:
            # Every word of an identical text is in it: its BM25 pool holds it (the rarest
            # words decide the ranking, and an identical text has them all).
            pool = [m for m, _ in self.storage.bm25(terms, limit=50)]
        else:  # no words at all (punctuation, emoji): rare, look at the recent ones
            pool = self.storage.list_memories(limit=1000)
        return next((m for m in pool if " ".join(m.content.split()) == wanted), None)

    def search(
        self,
        query: str,
        limit: int = 5,
        tags: Sequence[str] | None = None,
        kind: str | None = None,
    ) -> list[Memory]:
        from .search import search

        if limit < 0:
            raise UsageError("limit must be zero or more")
        tags, kind = normalise_tags(tags), _kind_filter(kind)
        if not self.exists:  # a read that finds nothing must not create the namespace
            return []
        if self.retrieval != "lexical":
            return [hit.memory for hit in self.search_explained(query, limit, tags, kind)]
        return search(self.storage, query, limit, tags, kind)

    def search_explained(
        self,
        query: str,
        limit: int = 5,
        tags: Sequence[str] | None = None,
        kind: str | None = None,
    ) -> builtins.list[Hit]:
        """``search`` with why each memory ranked (``Hit.explain()``: terms, boosts, context)."""
        from .search import rank

        if limit < 0:
            raise UsageError("limit must be zero or more")
        tags, kind = normalise_tags(tags), _kind_filter(kind)
        if self.retrieval != "lexical" and limit > 0:
            hits = self._semantic_rank(query, limit, tags, kind)
        else:
            hits = rank(self.storage, query, limit, tags, kind)
        for hit in hits:
            hit.memory.score = hit.score
        return hits

    def matching(self, query: str, limit: int = 1000) -> list[Memory]:
        """Memories containing every content word of ``query`` (stemmed, never fuzzy).

        Why not ``search``: deleting by query must never act on a typo-tolerant guess.
        """
        from .text import query_terms, terms

        wanted = query_terms(query)
        if not wanted:
            return []
        candidates = self.storage.bm25(wanted, limit=limit)
        need = set(wanted)
        return [m for m, _ in candidates if need <= set(terms(m.content + " " + " ".join(m.tags)))]

    def resolve_id(self, ref: str) -> str:
        """A full memory id from an id or a unique prefix of at least four characters."""
        ref = ref.strip().lower()
        if 0 < len(ref) < ids.MIN_PREFIX_LENGTH and all(c in "0123456789abcdef" for c in ref):
            raise UsageError(
                f"memory ids need at least {ids.MIN_PREFIX_LENGTH} characters, got {ref!r}"
            )
        if not ids.is_id_prefix(ref):
            raise NotFoundError(f"no memory with id {ref!r}")
        if len(ref) == 32 and self.storage.get_memory(ref):
            return ref
        matches = self.storage.find_memory_ids(ref, limit=3)
        if not matches:
            raise NotFoundError(f"no memory with id {ref!r}")
        if len(matches) > 1:
            raise AmbiguousIdError(f"id prefix {ref!r} matches several memories; type more of it")
        return matches[0]

    def get(self, ref: str) -> Memory:
        memory = self.storage.get_memory(self.resolve_id(ref))
        if memory is None:  # deleted between the two reads
            raise NotFoundError(f"no memory with id {ref!r}")
        return memory

    def forget(self, ref: str) -> bool:
        return self.storage.delete_memories([self.resolve_id(ref)]) == 1

    def forget_many(self, refs: Sequence[str]) -> int:
        resolved = [self.resolve_id(r) for r in refs]  # all or nothing: resolve before deleting
        return self.storage.delete_memories(resolved)

    def list(
        self, limit: int | None = 20, tags: Sequence[str] | None = None, kind: str | None = None
    ) -> list[Memory]:
        tags, kind = normalise_tags(tags), _kind_filter(kind)
        if not self.exists:
            return []
        return self.storage.list_memories(limit=limit, tags=tags, kind=kind)

    def count(self) -> int:
        return self.storage.count_memories()

    # working context -------------------------------------------------------------------------

    def set_goal(self, text: str) -> None:
        goal = self.admit(clean_text(text, "goal", MAX_MEMORY_BYTES).strip(), "goal")
        self.storage.put_doc(WORKING, "goal", {"text": goal, "updated_at": now()})

    def get_goal(self) -> str | None:
        if not self.exists:
            return None
        doc = self.storage.get_doc(WORKING, "goal")
        return str(doc["text"]) if doc else None

    def clear_goal(self) -> bool:
        return self.storage.delete_doc(WORKING, "goal")

    # artifacts -------------------------------------------------------------------------------

    def store_artifact(self, name: str, content: str) -> Artifact:
        name = name.strip()
        if (
            not name
            or len(name) > ARTIFACT_NAME_MAX
            or "\x00" in name
            or "\n" in name
            or not is_utf8(name)
        ):
            raise UsageError(
                f"invalid artifact name {name!r}: 1-{ARTIFACT_NAME_MAX} characters, one line"
            )
        if name.startswith("#"):
            raise UsageError("an artifact name cannot start with '#' (that marks an artifact id)")
        content = self.admit(clean_text(content, "artifact", MAX_ARTIFACT_BYTES), "artifact")
        with self.storage.transaction():
            number = self.storage.next_counter("artifact")
            artifact = Artifact(id=f"a{number}", name=name, content=content)
            # Artifact ids are storage keys too; they are generated, never user text.
            self.storage.put_doc(ARTIFACTS, artifact.id, artifact.to_dict())
        return artifact

    def get_artifact(self, ref: str) -> Artifact:
        if not self.exists:
            raise NotFoundError(f"no artifact {ref!r}")
        key = ref.strip().lstrip("#")
        if key.startswith("a") and key[1:].isdigit():
            doc = self.storage.get_doc(ARTIFACTS, key)
            if doc:
                return Artifact.from_dict(doc)
        # By name: the newest artifact of that name wins, as a re-added file replaces the old.
        # Names are stored trimmed, so the lookup trims too.
        name = ref.strip()
        docs = self.storage.list_docs(ARTIFACTS)
        found = [Artifact.from_dict(d) for _, d in docs if d["name"] == name]
        if not found:
            raise NotFoundError(f"no artifact {ref!r}")
        return max(found, key=lambda a: int(a.id[1:]))

    def delete_artifact(self, ref: str) -> Artifact:
        """Delete an artifact (by ``#a1``, ``a1`` or name, as ``get_artifact``); returns it.

        Its id is never reused (the counter only moves forward), so an old ``#a3`` in a
        transcript can never point at different content.
        """
        with self.storage.transaction():
            artifact = self.get_artifact(ref)
            self.storage.delete_doc(ARTIFACTS, artifact.id)
        return artifact

    def list_artifacts(self) -> builtins.list[Artifact]:
        if not self.exists:
            return []
        arts = [Artifact.from_dict(d) for _, d in self.storage.list_docs(ARTIFACTS)]
        return sorted(arts, key=lambda a: int(a.id[1:]))

    # transfer and backups ----------------------------------------------------------------------

    def export_all(self) -> dict[str, Any]:
        from .storage.transfer import export_all

        return export_all(self.storage)

    def import_all(self, data: dict[str, Any]) -> dict[str, int]:
        from .storage.transfer import data_to_records

        return self.import_records(data_to_records(data))

    def import_records(
        self,
        records: Iterable[dict[str, Any]],
        progress: Any = None,
        where: Callable[[int], str] | None = None,
    ) -> dict[str, int]:
        """Import export records, all or nothing: every record is checked before anything is
        written, and a namespace that already holds records is backed up first (``backups``)."""
        from .gcpause import paused_gc
        from .storage.transfer import drop_counts, prepare, write_plan

        with paused_gc():
            plan = prepare(records, where)
            drop_counts(plan)  # a count from outside is never trusted (storage.transfer)
            for memory in plan.memories:
                memory.content = self.admit(memory.content, "imported memory")
            plan.docs = [(c, k, self.admit(d, "imported document")) for c, k, d in plan.docs]
            self._summarise_admitted("import")
            self.backup("import")
            return write_plan(self.storage, plan, progress)

    def _summarise_admitted(self, what: str) -> None:
        """One line for a bulk operation instead of one per record."""
        if len(self.admitted) > 3:
            kept = len(self.admitted)
            self.admitted[:] = [f"{what}: {kept} records held secrets (see redact in README)"]

    def backup(self, reason: str) -> Path | None:
        """Export the namespace to ``<home>/backups/<namespace>/`` before ``reason`` rewrites it.

        None when the namespace holds nothing yet or backups are off (``backups = 0``). The
        newest ``backups`` files are kept.
        """
        from .backups import keep_setting, snapshot

        if not self.exists or not (self.storage.count_memories() or self.storage.collections()):
            return None
        path = snapshot(
            self.storage, self.home, self.namespace, reason, keep_setting(self.settings)
        )
        self.last_backup = path
        return path
