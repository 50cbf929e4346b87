"""Strategy evolution (strategy.py via MemoryStore): templates, versioned updates, ranking."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from smartcontext_cli import MemoryStore
from smartcontext_cli.config import Settings
from smartcontext_cli.errors import NotFoundError, UsageError
from smartcontext_cli.strategy import BUILTIN_TEMPLATES


@pytest.fixture(params=["sqlite", "json"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str) -> Iterator[MemoryStore]:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        yield s


def test_the_spec_example(store: MemoryStore) -> None:
    store.initialize_strategy(domain="my_domain")
    store.update_strategy("add_heuristic", "Always validate input at API boundary")
    store.update_strategy("add_heuristic", "Use parameterized queries, never string concat")
    store.update_strategy("add_pattern", "Auth errors often come from token expiry")
    store.update_strategy(
        "record_success", "Retry with exponential backoff fixed the rate limit issue"
    )
    store.update_strategy("record_failure", "Using == for None comparison caused subtle bug")
    strategy = store.get_strategy()
    assert strategy is not None
    assert strategy.version == 6 and strategy.domain == "my_domain"
    assert (
        len(strategy.heuristics),
        len(strategy.learned_patterns),
        len(strategy.failure_modes),
    ) == (2, 1, 1)
    assert strategy.successes == ["Retry with exponential backoff fixed the rate limit issue"]
    assert [(h["version"], h["kind"]) for h in strategy.history] == [
        (1, "init"),
        (2, "add_heuristic"),
        (3, "add_heuristic"),
        (4, "add_pattern"),
        (5, "record_success"),
        (6, "record_failure"),
    ]


@pytest.mark.parametrize("template", sorted(BUILTIN_TEMPLATES))
def test_every_builtin_template_seeds_heuristics(store: MemoryStore, template: str) -> None:
    strategy = store.initialize_strategy(template=template)
    assert strategy.template == template and strategy.version == 1
    assert len(strategy.heuristics) >= 4
    assert store.strategy_entries()[0]  # ranks without error


def test_at_least_the_required_templates_exist() -> None:
    assert {"security_audit", "debugging", "refactoring", "code_review", "data_pipeline"} <= set(
        BUILTIN_TEMPLATES
    )


def test_user_templates_come_from_config_tables(tmp_path) -> None:
    settings = Settings.load(flags={"namespace": "agent"})
    settings.tables["templates"] = {
        "payments": {
            "domain": "payments",
            "heuristics": ["Amounts are integers in cents"],
            "patterns": ["Webhook retries arrive out of order"],
        },
    }
    with MemoryStore(settings=settings) as s:
        assert "payments" in s.strategy_templates() and "debugging" in s.strategy_templates()
        strategy = s.initialize_strategy(template="payments")
        assert strategy.domain == "payments"
        assert s.strategy_entries() == [
            "Heuristic: Amounts are integers in cents",
            "Pattern: Webhook retries arrive out of order",
        ]


def test_user_template_from_the_config_file(home) -> None:
    home.mkdir(parents=True, exist_ok=True)
    (home / "config.toml").write_text(
        '[templates.infra]\nheuristics = ["Terraform plan before apply"]\n'
    )
    with MemoryStore(namespace="agent") as s:
        s.initialize_strategy(template="infra")
        assert s.strategy_entries() == ["Heuristic: Terraform plan before apply"]


def test_unknown_template_and_kind_are_usage_errors(store: MemoryStore) -> None:
    with pytest.raises(UsageError, match="unknown template"):
        store.initialize_strategy(template="astrology")
    with pytest.raises(UsageError, match="unknown strategy update"):
        store.update_strategy("add_vibe", "x")
    with pytest.raises(UsageError):
        store.update_strategy("add_heuristic", "   ")


def test_updating_without_init_starts_a_general_strategy(store: MemoryStore) -> None:
    assert store.get_strategy() is None and store.strategy_entries() == []
    strategy = store.update_strategy("record_failure", "Forgot to run migrations")
    assert strategy.domain == "general" and strategy.version == 2
    assert store.strategy_entries() == ["Avoid: Forgot to run migrations"]


def test_repeating_an_entry_raises_its_hits_instead_of_duplicating(store: MemoryStore) -> None:
    store.initialize_strategy(domain="d")
    store.update_strategy("add_pattern", "Flaky tests share a temp dir")
    store.update_strategy("add_pattern", "New pattern")
    store.update_strategy("add_pattern", "flaky tests   share a temp dir")
    strategy = store.get_strategy()
    assert strategy is not None and strategy.version == 4
    assert strategy.learned_patterns == ["Flaky tests share a temp dir", "New pattern"]
    # Confirmed twice, so it outranks the newer one-off pattern.
    assert store.strategy_entries()[:2] == [
        "Pattern: Flaky tests share a temp dir",
        "Pattern: New pattern",
    ]


def test_ranking_rule(store: MemoryStore) -> None:
    store.initialize_strategy(domain="d")
    store.update_strategy("add_heuristic", "H1")
    store.update_strategy("add_heuristic", "H2")
    store.update_strategy("add_pattern", "P-once")
    store.update_strategy("add_pattern", "P-confirmed")
    store.update_strategy("add_pattern", "P-confirmed")
    store.update_strategy("record_success", "S1")
    for i in range(5):
        store.update_strategy("record_failure", f"F{i}")
    assert store.strategy_entries() == [
        "Pattern: P-confirmed",
        "Avoid: F4",
        "Avoid: F3",
        "Avoid: F2",
        "Heuristic: H1",
        "Heuristic: H2",
        "Pattern: P-once",
        "Worked: S1",
        "Avoid: F1",
        "Avoid: F0",
    ]


def test_reinit_keeps_learned_entries_unless_reset_and_version_keeps_rising(backend: str) -> None:
    with MemoryStore(namespace="agent", storage_backend=backend) as s:
        s.initialize_strategy(template="debugging")
        s.update_strategy("record_failure", "Skipped the failing test")
        s.initialize_strategy(template="refactoring")
    with MemoryStore(namespace="agent", storage_backend=backend) as s:  # restart
        strategy = s.get_strategy()
        assert strategy is not None and strategy.version == 3 and strategy.template == "refactoring"
        assert "Skipped the failing test" in strategy.failure_modes
        assert not set(BUILTIN_TEMPLATES["debugging"]["heuristics"]) & set(strategy.heuristics)
        strategy = s.initialize_strategy(template="refactoring", reset=True)
        assert strategy.version == 4 and "Skipped the failing test" not in strategy.failure_modes
        assert [h["kind"] for h in s.strategy_history()] == [
            "init",
            "record_failure",
            "init",
            "init",
        ]


def test_history_without_strategy_is_not_found(store: MemoryStore) -> None:
    with pytest.raises(NotFoundError):
        store.strategy_history()
