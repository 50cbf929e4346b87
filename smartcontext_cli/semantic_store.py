"""``MemoryStore``'s side of the semantic extra: the mode in force, its model and vectors.

The mode is the ``retrieval`` setting (``lexical`` by default). When it is ``hybrid`` or
``semantic``: ``search`` goes through ``semantic_search.rank``; ``remember`` embeds what it
stored (best effort: a memory is never refused for want of a model; the next search says
what is missing, as one error line); ``stats`` names the model. The model and the vector
index are opened on first use, once per store object, so the lexical mode never imports
numpy, onnxruntime or tokenizers.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config import Settings
from .models import Memory
from .storage.base import Storage

if TYPE_CHECKING:
    from .embedding import Embedder
    from .search import Hit
    from .vectors import VectorIndex


class SemanticMixin:
    settings: Settings
    home: Path
    directory: Path
    admitted: list[str]

    if TYPE_CHECKING:
        # Provided by MemoryStore as lazily opening properties.
        @property
        def storage(self) -> Storage: ...

        @property
        def exists(self) -> bool: ...

    _semantic_parts: tuple[Embedder, VectorIndex] | None = None
    # Memories ``remember`` stored inside ``embedding_deferred``, and the store's version
    # before that block.
    _deferred: tuple[list[Memory], str | None] | None = None

    @property
    def retrieval(self) -> str:
        """The retrieval mode in force: ``lexical``, ``hybrid`` or ``semantic``."""
        return str(self.settings.get("retrieval") or "lexical")

    def semantic_index(self) -> tuple[Embedder, VectorIndex]:
        """The model (located, sha256-verified, loaded) and this namespace's vectors."""
        if self._semantic_parts is None:
            from .embedding import embedder
            from .vectors import VectorIndex

            configured = self.settings.get("semantic_model")
            model = embedder(self.home, str(configured) if configured else None)
            self._semantic_parts = (model, VectorIndex(self.directory, model))
        return self._semantic_parts

    def _close_semantic(self) -> None:
        if self._semantic_parts is not None:
            self._semantic_parts[1].close()
            self._semantic_parts = None

    def _version(self) -> str | None:
        if self.retrieval == "lexical":
            return None
        from .vectors import store_version

        return store_version(self.storage)

    @contextmanager
    def embedding_deferred(self) -> Iterator[None]:
        """Embed what ``remember`` stores in this block only after it (after the transaction
        it opens, so the model never runs under the write lock)."""
        if self.retrieval == "lexical" or self._deferred is not None:
            yield
            return
        self._deferred = ([], self._version())
        try:
            yield
        finally:
            memories, before = self._deferred
            self._deferred = None
        self._embed_written(memories, before)

    def _embed_written(self, memories: Sequence[Memory], before: str | None) -> None:
        """Embed memories just stored, when the mode wants vectors (module docstring)."""
        if self.retrieval == "lexical" or not memories:
            return
        if self._deferred is not None:
            self._deferred[0].extend(memories)
            return
        from .embedding import SemanticUnavailableError
        from .vectors import store_version

        try:
            _, index = self.semantic_index()
            index.add(memories, before, store_version(self.storage))
        except SemanticUnavailableError as exc:
            # Printed by the CLI after the command, as what the door found is.
            self.admitted.append(f"warning: stored, but not embedded: {exc}")

    def _semantic_rank(
        self, query: str, limit: int, tags: Sequence[str], kind: str | None
    ) -> list[Hit]:
        from .semantic_search import rank

        if not self.exists:  # a read must not create the namespace (nor its vectors)
            return []
        model, index = self.semantic_index()
        return rank(self.storage, index, model, query, limit, tags, kind, mode=self.retrieval)

    def retrieval_stats(self) -> dict[str, Any]:
        """``stats``' retrieval part: the mode; in a semantic mode the model (id, sha256
        prefix, where it was loaded from) and how many memories have vectors."""
        if self.retrieval == "lexical":
            return {"mode": "lexical", "model": None, "vectors": None}
        from .semantic_search import describe

        model, index = self.semantic_index()
        if not self.exists:  # a read must not create the namespace (nor its vectors)
            return describe(self.retrieval, model, None) | {"vectors": 0}
        index.sync(self.storage)
        return describe(self.retrieval, model, index)
