"""The BEAM-100K retrieval benchmark reads the dataset and scores search as its README says.

The benchmark's numbers are only as good as its loader and its arithmetic, so both are checked
here on a tiny synthetic conversation written in the dataset's JSON shape: position markers are
stripped, ``chat_trunecated.json`` wins over ``chat.json``, every shape of ``source_chat_ids``
yields its ids, sessions keep their dates and order, and recall is counted per question. A slow
test runs one real conversation end to end when the dataset is present (CI may not have it).
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

BENCH = Path(__file__).parent / "benchmarks" / "bench_beam_retrieval.py"


def _load_bench() -> ModuleType:
    # Why by path: benchmarks are scripts, not a package, and pytest does not collect them.
    spec = importlib.util.spec_from_file_location("bench_beam_retrieval", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses resolve their module by name
    spec.loader.exec_module(module)
    return module


bench = _load_bench()


def msg(role: str, mid: int, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "id": mid, "content": content, **extra}


CHAT = [
    {
        "batch_number": 1,
        "time_anchor": None,
        "turns": [
            [
                msg(
                    "user",
                    0,
                    "My parents Amy and Kyle live 15 miles away in West Janethaven ->-> 1,1",
                    time_anchor="March-15-2024",
                    index="1,1",
                    question_type="main_question",
                ),
                msg("assistant", 1, "That sounds close enough to visit them on weekends."),
            ],
            [
                msg("user", 2, "I set the snack budget for movie night to $65 ->-> 1,2"),
                msg("assistant", 3, "Themed cupcakes from The Sweet Spot fit that budget."),
            ],
        ],
    },
    {
        "batch_number": 2,
        "time_anchor": None,
        "turns": [
            [
                msg(
                    "user",
                    4,
                    "I raised the snack budget to $75 ->-> 2,1",
                    time_anchor="April-02-2024",
                ),
                msg("assistant", 5, "With $75 you can add themed drinks as well."),
            ],
        ],
    },
]

QUESTIONS = {
    "information_extraction": [
        {"question": "How far away do my parents live?", "source_chat_ids": [0]},
    ],
    "knowledge_update": [
        {
            "question": "What is my snack budget now?",
            "source_chat_ids": {"original_info": [2], "updated_info": [4]},
        },
    ],
    "event_ordering": [
        {
            "question": "In what order did I bring up my parents and the budget?",
            "source_chat_ids": [[0], 2, [4, 5]],
        },
    ],
    "abstention": [{"question": "What is my dog's name?", "source_chat_ids": None}],
    "summarization": [{"question": "Summarise everything.", "source_chat_ids": []}],
}


@pytest.fixture
def conv_dir(tmp_path: Path) -> Path:
    d = tmp_path / "chats" / "100K" / "7"
    (d / "probing_questions").mkdir(parents=True)
    (d / "chat.json").write_text(json.dumps(CHAT), encoding="utf-8")
    (d / "probing_questions" / "probing_questions.json").write_text(json.dumps(QUESTIONS))
    return d


def test_messages_lose_their_position_markers_and_keep_session_dates(conv_dir: Path) -> None:
    messages = bench.load_messages(conv_dir)
    assert [m.id for m in messages] == [0, 1, 2, 3, 4, 5]
    assert messages[0].content == "My parents Amy and Kyle live 15 miles away in West Janethaven"
    assert all("->->" not in m.content for m in messages)
    assert [m.role for m in messages[:2]] == ["user", "assistant"]
    assert messages[0].created_at == datetime(2024, 3, 15, tzinfo=timezone.utc)
    assert messages[4].created_at == datetime(2024, 4, 2, tzinfo=timezone.utc)
    stamps = [m.created_at for m in messages]
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)


def test_the_truncated_conversation_wins_when_both_exist(conv_dir: Path) -> None:
    short = [{"batch_number": 1, "time_anchor": None, "turns": CHAT[0]["turns"][:1]}]
    (conv_dir / "chat_trunecated.json").write_text(json.dumps(short), encoding="utf-8")
    assert [m.id for m in bench.load_messages(conv_dir)] == [0, 1]


def test_every_shape_of_evidence_yields_its_ids_and_questions_without_any_are_dropped(
    conv_dir: Path,
) -> None:
    questions = {q.category: q for q in bench.load_questions(conv_dir)}
    assert set(questions) == {"information_extraction", "knowledge_update", "event_ordering"}
    assert questions["knowledge_update"].evidence == {2, 4}
    assert questions["event_ordering"].evidence == {0, 2, 4, 5}
    assert questions["information_extraction"].conv == "7"


def test_recall_counts_any_evidence_hit_and_full_recall_the_share_found() -> None:
    evidence = frozenset({4, 9})
    assert not bench.hit_at([1, 4, 9], evidence, 1)
    assert bench.hit_at([1, 4, 9], evidence, 2)
    assert bench.full_recall([1, 4, 2], evidence) == 0.5
    assert bench.full_recall([9, 4], evidence) == 1.0


def test_random_baseline_is_the_exact_expectation() -> None:
    # One evidence message among ten: a random pick of k finds it with probability k/10.
    assert math.isclose(bench.random_hit(10, 1, 3), 0.3)
    assert bench.random_hit(10, 2, 10) == 1.0
    # Two of four, one draw: 1/2; two draws miss both only as C(2,2)/C(4,2) = 1/6.
    assert math.isclose(bench.random_hit(4, 2, 1), 0.5)
    assert math.isclose(bench.random_hit(4, 2, 2), 5 / 6)


@pytest.mark.parametrize("backend", ["sqlite", "json"])
def test_search_finds_the_message_that_answers(
    conv_dir: Path, tmp_path: Path, backend: str
) -> None:
    results = {r.question.category: r for r in bench.run_conversation(conv_dir, backend, tmp_path)}
    assert results["information_extraction"].ranked[0] == 0
    update = results["knowledge_update"]
    assert set(update.ranked[:3]) >= {2, 4}
    assert all(len(r.ranked) == len(r.roles) for r in results.values())
    assert bench.summarise(list(results.values()))["r@10"] == 1.0


def test_the_recent_baseline_ignores_the_question(conv_dir: Path) -> None:
    results = bench.recent_baseline(conv_dir, k=2)
    assert {tuple(r.ranked) for r in results} == {(5, 4)}


DATA = bench.DEFAULT_DATA
# Conversation 1 measured recall@10 = 83.3% (15 of 18 questions) at commit a2105e8. The floor
# allows two fewer hits (13 of 18 = 72.2%): ranking tweaks may move a hit or two, but losing
# three is a regression worth a look.
RECALL_AT_10_FLOOR = 0.70


@pytest.mark.slow
@pytest.mark.skipif(
    not (DATA / "chats" / "100K" / "1").is_dir(),
    reason=f"BEAM-100K is not at {DATA} (set BEAM_100K_DIR to run this test)",
)
def test_real_conversation_recall_at_10_stays_above_its_floor(tmp_path: Path) -> None:
    results = bench.run_conversation(DATA / "chats" / "100K" / "1", "sqlite", tmp_path)
    assert len(results) == 18
    assert bench.summarise(results)["r@10"] >= RECALL_AT_10_FLOOR
