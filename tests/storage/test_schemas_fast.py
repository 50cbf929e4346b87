"""The spelled-out check of session events says exactly what the general field rules say."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli import schemas

values = (
    st.none()
    | st.booleans()
    | st.integers(-3, 2**64)
    | st.floats(allow_nan=False)
    | st.sampled_from(["user", "tool", "Bad Role", "", "x" * 40, "a.b-c_1"])
    | st.text(max_size=5)
    | st.just({})
    | st.just({"k": 1})
    | st.just([])
)
fields = st.sampled_from(
    ["role", "content", "seq", "branch", "created_at", "meta", "token_count", "extra"]
)


def general(key: str, data: dict) -> list[str]:
    found = schemas._problems(data, schemas.SESSION_ITEM)
    if not found and data.get("seq", int(key)) != int(key):
        found.append("seq differs")
    return found


@settings(max_examples=1000, deadline=None)
@given(
    key=st.integers(0, 10**13).map(lambda n: f"{n:012d}"),
    data=st.dictionaries(fields, values, max_size=8),
    base=st.booleans(),
)
def test_the_fast_session_check_agrees_with_the_rules(key: str, data: dict, base: bool) -> None:
    if base:  # mostly valid events, with the generated fields over them
        data = {"role": "user", "content": "hi", "seq": int(key), **data}
    assert schemas._session_fits(key, data) == (not general(key, data))
    assert (schemas.problems("session", key, data) == []) == (not general(key, data))


def test_an_event_with_a_newer_versions_field_still_reads() -> None:
    from smartcontext_cli.models import SessionItem

    item = SessionItem.from_dict({"role": "user", "content": "hi", "seq": 3, "mood": "good"})
    assert (item.role, item.content, item.seq) == ("user", "hi", 3)
    assert SessionItem.from_dict(item.to_dict()) == item
