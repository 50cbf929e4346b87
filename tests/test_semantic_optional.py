"""The semantic extra seen from the default install: lexical by default, and a semantic mode
without the extra fails with one line (runs with or without the extra installed)."""

from __future__ import annotations

import sys


def test_lexical_is_the_default_and_stats_says_so(sc):
    sc("remember", "We chose PostgreSQL")
    assert sc("stats", "--json").json()["retrieval"] == {
        "mode": "lexical",
        "model": None,
        "vectors": None,
    }


def test_a_missing_extra_is_one_error_line(sc, monkeypatch):
    assert sc("config", "set", "retrieval", "semantic").exit_code == 0
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import onnxruntime now fails
    stored = sc("remember", "We chose PostgreSQL")
    assert stored.exit_code == 0  # never refused for want of a model
    assert "not embedded" in stored.stderr
    result = sc("search", "database")
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    # Without the extra installed, numpy and tokenizers are named too.
    assert line.startswith("smartcontext: error: the semantic mode needs ")
    assert "onnxruntime" in line
    assert line.endswith("(not installed): pip install 'smartcontext-cli[semantic]'")
