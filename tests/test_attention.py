"""Attention modes, policies and mode detection."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from smartcontext_cli.attention import (
    POLICIES,
    SECTIONS,
    AttentionManager,
    AttentionMode,
    AttentionPolicy,
    detect_mode,
    load_policies,
    score_modes,
)
from smartcontext_cli.errors import UsageError

SECURITY = {
    "goal": 0.20,
    "memories": 0.25,
    "observations": 0.30,
    "artifacts": 0.15,
    "strategy": 0.05,
    "system": 0.05,
}


def test_every_built_in_mode_has_a_policy_over_all_sections() -> None:
    assert set(POLICIES) == set(AttentionMode)
    for mode, policy in POLICIES.items():
        assert policy.mode is mode and policy.key == mode.value
        assert set(policy.allocation) == set(SECTIONS)
        assert sum(policy.allocation.values()) == pytest.approx(1.0)
    # Each mode funds what its kind of work reads most.
    assert POLICIES[AttentionMode.DEBUGGING].share("observations") == max(
        p.share("observations") for p in POLICIES.values()
    )
    assert POLICIES[AttentionMode.EXPLORING].share("memories") == max(
        p.share("memories") for p in POLICIES.values()
    )


def test_a_custom_policy_as_in_the_spec() -> None:
    policy = AttentionPolicy(
        name="Security Audit",
        mode=AttentionMode.CODING,
        description="Focus on security concerns",
        allocation=SECURITY,
    )
    assert policy.key == "security_audit"
    attention = AttentionManager()
    attention._custom_policies = {"security": policy}
    assert attention.policy("security") is policy
    assert "security" in attention.modes()


@pytest.mark.parametrize(
    ("allocation", "message"),
    [
        ({**SECURITY, "goal": 0.5}, r"policy 'bad': shares sum to 1\.300"),
        ({**SECURITY, "memory": 0.1}, "unknown section 'memory'"),
        ({**SECURITY, "goal": "high"}, "share of goal must be a number"),
        ({**SECURITY, "goal": True}, "share of goal must be a number"),
    ],
)
def test_bad_shares_name_the_policy(allocation: dict, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        AttentionPolicy(name="bad", allocation=allocation)


def test_shares_within_the_tolerance_are_normalised() -> None:
    policy = AttentionPolicy(name="near", allocation={**SECURITY, "goal": 0.205})
    assert sum(policy.allocation.values()) == pytest.approx(1.0)


def test_policies_from_config_tables() -> None:
    tables = {
        "security_audit": {"allocation": SECURITY, "description": "audits"},
        "flat": {k: 1 / 6 for k in SECTIONS},  # the shares directly, without an allocation table
    }
    policies = load_policies(tables)
    assert policies["security_audit"].description == "audits"
    assert policies["flat"].share("memories") == pytest.approx(1 / 6)
    with pytest.raises(UsageError, match=r"policy 'lopsided': shares sum to 0\.500"):
        load_policies({"lopsided": {"allocation": {"goal": 0.5}}})
    with pytest.raises(UsageError, match="invalid policy name"):
        load_policies({"Bad Name": {"allocation": SECURITY}})
    with pytest.raises(UsageError, match="expected a table"):
        load_policies({"x": 3})


@pytest.mark.parametrize(
    ("message", "mode"),
    [
        ("Fix the crash in the parser, traceback attached", AttentionMode.DEBUGGING),
        ("tests are failing with an exception", AttentionMode.DEBUGGING),
        ("Implement the OAuth2 refresh endpoint", AttentionMode.CODING),
        ("Refactor the billing module", AttentionMode.CODING),
        ("Help me understand how the scheduler works", AttentionMode.EXPLORING),
        ("Plan the roadmap and the architecture for Q3", AttentionMode.PLANNING),
    ],
)
def test_detection(message: str, mode: AttentionMode) -> None:
    assert detect_mode(message) is mode


@pytest.mark.parametrize(
    "message",
    [
        "Update the prefix of the cache keys",  # 'prefix' is not 'fix'
        "Render the planet textures",  # 'planet' is not 'plan'
        "ok thanks",
        "",
    ],
)
def test_no_signal_from_substrings_or_small_talk(message: str) -> None:
    assert detect_mode(message) is None


def test_a_tie_changes_nothing() -> None:
    scores = score_modes("the crash and the milestone")  # one strong topic word each, no intent
    assert scores["debugging"] == scores["planning"] > 0
    assert detect_mode("the crash and the milestone") is None


@pytest.mark.parametrize(
    ("message", "mode"),
    [
        # The cases: feature work that mentions a failure word is not debugging.
        ("Add a crash reporter to the mobile app", AttentionMode.CODING),
        ("Build an error dashboard", AttentionMode.CODING),
        ("debug the design", AttentionMode.DEBUGGING),  # the lead verb is the intent
        ("Write a roadmap for fixing our flaky tests", AttentionMode.PLANNING),  # what it makes
        ("How do I fix the flaky login test?", AttentionMode.DEBUGGING),  # asks how to fix
        ("Why does the export job time out?", AttentionMode.DEBUGGING),  # why + a failure
        ("Why do we shard by tenant?", AttentionMode.EXPLORING),  # why, no failure
        ("Tests fail after upgrading pandas", AttentionMode.DEBUGGING),  # a symptom, no lead
        ("Investigate the billing module", None),  # "find out" alone says nothing more
    ],
)
def test_intent_outweighs_topic(message: str, mode: AttentionMode | None) -> None:
    assert detect_mode(message) is mode


def test_manager_switches_returns_to_default_and_can_be_switched_off() -> None:
    attention = AttentionManager(default_mode=AttentionMode.CODING, revert_after=2)
    assert attention.maybe_switch_mode("the deploy crashed with a traceback") == "debugging"
    assert attention.maybe_switch_mode("ok") == "debugging"  # one quiet message is not enough
    assert attention.maybe_switch_mode("sure") == "coding"  # back to the default
    assert [m for m, _ in attention.switches] == ["debugging", "coding"]
    attention.auto_detect = False
    assert attention.maybe_switch_mode("plan the roadmap and design") == "coding"
    with pytest.raises(UsageError, match="unknown mode 'fast'"):
        attention.set_mode("fast")


@given(st.text(max_size=200))
def test_detection_never_fails_on_any_text(text: str) -> None:
    assert detect_mode(text) in (None, *AttentionMode)
