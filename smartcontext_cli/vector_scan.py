"""The semantic scan: the memories nearest a query vector, exactly, reading int8 copies.

Why: the scan reads every memory's vector on every semantic search, and at 100,000 memories
x 384 float32 (150 MB) that read was most of the search (8-16 ms of CPU, and much more wall
time on a busy machine, since it is bound by memory bandwidth). An int8 copy is a quarter of
the bytes, and ONNX Runtime's integer matrix product (``MatMulInteger``, already loaded for
the model) scans it in about 2 ms.

Still exact (``Scan.nearest`` returns what the float32 scan returned): each memory's int8
estimate comes with a bound on its error, and every memory whose estimate plus bound reaches
the k-th best exact cosine is scored exactly from its float vector. With

    v ~ s_v * v8   (s_v = max|v| / 127, v8 = round(v / s_v)),   q ~ s_q * q8 (s_q = max|q| / 63),

    |q.v - s_q s_v (q8.v8)| <= s_v / 2 * (|q|_1 + s_q |v8|_1)

(the rounding of each side, at most half a step per dimension), plus a margin for float
rounding. So a memory left unscored is below the k-th best, and the k best and every tie
with the k-th are those of a full float32 scan (``tests/test_vector_scan.py`` checks it).

When: for ``QUANTISE_MIN`` memories or more, from the second scan of the same vectors on
(``VectorIndex`` keeps them in memory while they do not change). Why not at once: building the
copy costs about half a second at 100,000 memories, which a one-off CLI search would pay for
nothing; a process that searches again (the MCP server, a library user) pays it once. Small
stores scan float32 always (at 10,000 memories that is under a millisecond).
"""

from __future__ import annotations

from typing import Any

QUANTISE_MIN = 20_000
# First exact pass: the best estimates, scored exactly, set the k-th best to beat.
_FIRST = 64
# Absolute slack for float32 rounding in the estimates and exact cosines (|cos| <= 1, 384
# terms: rounding is below 1e-5); far below any gap that matters, so it costs no extra reads.
_MARGIN = 1e-4


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(number: int, value: int | bytes | str) -> bytes:
    """One protobuf field: an int as a varint, bytes/str length-delimited."""
    if isinstance(value, int):
        return _varint(number << 3) + _varint(value)
    data = value.encode() if isinstance(value, str) else value
    return _varint(number << 3 | 2) + _varint(len(data)) + data


_UINT8, _INT8, _INT32 = 2, 3, 6  # onnx.TensorProto.DataType
_ZERO, _ZERO_RANGE = 64, 63  # the query's zero point and its largest step count either side


def _tensor_type(name: str, elem: int, dims: tuple[int, ...]) -> bytes:
    """An ONNX ValueInfoProto: name, tensor type, fixed shape."""
    shape = b"".join(_field(1, _field(1, d)) for d in dims)  # TensorShapeProto.dim.dim_value
    tensor = _field(1, elem) + _field(2, shape)  # TypeProto.Tensor
    return _field(1, name) + _field(2, _field(1, tensor))


def _initializer(name: str, elem: int, dims: tuple[int, ...], raw: bytes) -> bytes:
    """An ONNX TensorProto holding ``raw`` (little-endian values)."""
    return b"".join(_field(1, d) for d in dims) + _field(2, elem) + _field(8, name) + _field(9, raw)


def matmul_integer_model(matrix: Any) -> bytes:
    """An ONNX model computing ``(q - 64) @ matrix`` in int32 for a uint8 ``q`` (1 x D) and
    the int8 ``matrix`` (D x n) it holds.

    Why written by hand: the ``onnx`` package (its builder) is not a dependency, and this is
    one node; ONNX Runtime checks the model when it loads it. Why a uint8 query with zero
    point 64: ONNX Runtime's fast integer kernels are uint8 x int8 (int8 x int8 was 15x
    slower here), and on AVX2 they add products in pairs into int16, which saturates: with
    the query in 1..127 and the matrix in -127..127 a pair stays within 2 * 127 * 127 =
    32,258 < 32,767 (a query up to 255 gave wrong sums; tests/test_vector_scan.py).
    """
    dims, n = matrix.shape
    node = b"".join(_field(1, x) for x in ("q", "m", "zero")) + _field(2, "out")
    node += _field(4, "MatMulInteger")
    graph = _field(1, node) + _field(2, "scan")
    graph += _field(5, _initializer("m", _INT8, (dims, n), matrix.tobytes()))
    graph += _field(5, _initializer("zero", _UINT8, (), bytes([_ZERO])))
    graph += _field(11, _tensor_type("q", _UINT8, (1, dims)))
    graph += _field(12, _tensor_type("out", _INT32, (1, n)))
    opset = _field(1, "") + _field(2, 13)
    return _field(1, 8) + _field(7, graph) + _field(8, opset)  # IR version 8, opset 13


class Scan:
    """Cosines of a query with ``n`` unit vectors (float16 rows, as stored), nearest first."""

    def __init__(self, rows: Any) -> None:
        import numpy as np

        self.n = len(rows)
        # One column per vector (D x n, contiguous): OpenBLAS's product ``q @ m`` streams it
        # once, front to back; with one row per vector the same product took twice as long.
        self._columns: Any = np.ascontiguousarray(rows.T, dtype=np.float32)
        self._rows: Any = None  # float16 rows, once the int8 copy replaces the columns
        self._session: Any = None
        self._step: Any = None  # s_v per vector
        self._l1: Any = None  # |v8|_1 per vector
        self.scans = 0

    @property
    def quantised(self) -> bool:
        return self._session is not None

    def exact(self, vector: Any, rows: Any) -> Any:
        """float32 cosines of ``vector`` with the vectors at ``rows`` (a numpy index array)."""
        import numpy as np

        if self._rows is not None:
            return self._rows[rows].astype(np.float32) @ vector
        return vector @ self._columns[:, rows]

    def nearest(self, vector: Any, k: int) -> tuple[Any, Any]:
        """(rows, cosines) of the ``k`` nearest vectors, best first; equal cosines: the lower
        row first (so both scans return the same rows)."""
        import numpy as np

        self.scans += 1
        k = min(k, self.n)
        if k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self._session is None and self.n >= QUANTISE_MIN and self.scans >= 2:
            self._quantise()
        vector = np.asarray(vector, dtype=np.float32)
        if self._session is None:
            sims = vector @ self._columns
            kth = np.partition(sims, self.n - k)[self.n - k]
            rows = np.flatnonzero(sims >= kth)
            rows, sims = _ordered(rows, sims[rows])
        else:
            rows, sims = self._nearest_quantised(vector, k)
        return rows[:k], sims[:k]

    def _nearest_quantised(self, vector: Any, k: int) -> tuple[Any, Any]:
        import numpy as np

        q_step = float(np.abs(vector).max()) / _ZERO_RANGE or 1.0
        q8 = np.clip(np.rint(vector / q_step), -_ZERO_RANGE, _ZERO_RANGE).astype(np.int16)
        (dots,) = self._session.run(None, {"q": (q8 + _ZERO).astype(np.uint8)[None, :]})
        estimate = dots[0].astype(np.float32) * (self._step * q_step)
        error = self._step * (0.5 * float(np.abs(vector).sum()) + 0.5 * q_step * self._l1)
        error += _MARGIN
        # The best estimates first, scored exactly: their k-th best cosine is the bar.
        first = min(self.n, max(_FIRST, 2 * k))
        top = np.argpartition(estimate, self.n - first)[self.n - first :]
        bar = np.partition(self.exact(vector, top), first - k)[first - k]
        # Every vector that might reach the bar, scored exactly (a superset of ``top``'s best).
        rows = np.flatnonzero(estimate + error >= bar)
        if len(rows) < k:  # cannot happen while the bound holds; never return fewer
            rows = np.arange(self.n)
        sims = self.exact(vector, rows)
        kth = np.partition(sims, len(rows) - k)[len(rows) - k]
        keep = sims >= kth
        return _ordered(rows[keep], sims[keep])

    def _quantise(self) -> None:
        import numpy as np
        import onnxruntime as ort

        columns = self._columns
        step = np.abs(columns).max(axis=0) / np.float32(127.0)
        step[step == 0] = 1.0  # a zero vector: any step gives zeros
        matrix = np.clip(np.rint(columns / step), -127, 127).astype(np.int8)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # as the model's: the machine is shared
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(
            matmul_integer_model(matrix), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._l1 = np.abs(matrix.astype(np.int16)).sum(axis=0).astype(np.float32)
        self._step = step.astype(np.float32)
        # The exact cosines now read float16 rows (the stored values: the float32 columns
        # hold the same numbers), half the memory; only the few candidates are read.
        self._rows = np.ascontiguousarray(columns.T, dtype=np.float16)
        self._columns = None


def _ordered(rows: Any, sims: Any) -> tuple[Any, Any]:
    import numpy as np

    order = np.lexsort((rows, -sims))
    return rows[order], sims[order]
