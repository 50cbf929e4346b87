"""The block rule in every encoding the tool can load, against tiktoken's own split patterns.

Why at the pre-tokeniser level: BPE runs on each piece the split pattern cuts, so when a
prompt's pieces are exactly its blocks' pieces laid end to end, its count is exactly the sum of
its blocks' counts, whatever the rank file. The patterns ship inside ``tiktoken_ext`` even where
a rank file is not available offline (o200k_base here), so every encoding is checked here,
loadable or not; the rank-file loaders are stubbed so nothing is read or downloaded.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path

import pytest
import regex
from fixtures.compiling import compile_or_refused
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smartcontext_cli import layout, tokens
from smartcontext_cli.compiler import ContextCompiler
from smartcontext_cli.errors import UsageError


def shipped_patterns() -> dict[str, str]:
    """Every encoding tiktoken's plugins define, with its split pattern (no rank file read)."""
    import tiktoken_ext

    out: dict[str, str] = {}
    for info in pkgutil.iter_modules(tiktoken_ext.__path__):
        module = importlib.import_module(f"tiktoken_ext.{info.name}")
        stubs = {
            name: getattr(module, name)
            for name in ("load_tiktoken_bpe", "data_gym_to_mergeable_bpe_ranks")
            if hasattr(module, name)
        }
        try:
            for name in stubs:
                setattr(module, name, lambda *args, **kwargs: {})
            for name, make in module.ENCODING_CONSTRUCTORS.items():
                out[name] = make()["pat_str"]
        finally:
            for name, real in stubs.items():
                setattr(module, name, real)
    return out


SHIPPED = shipped_patterns()


def loadable() -> dict[str, str]:
    """The tool's encodings (tokens.ENCODINGS), each with the pattern tiktoken ships for it."""
    return {name: SHIPPED[name] for name in tokens.ENCODINGS}


LOADABLE = loadable()


def pieces(pattern: str, text: str) -> list[str]:
    return regex.findall(pattern, text)


def additive(pattern: str, blocks: list[str]) -> bool:
    return pieces(pattern, "".join(blocks)) == [p for b in blocks for p in pieces(pattern, b)]


def test_tiktoken_ships_the_patterns_of_every_encoding_we_load() -> None:
    assert {"cl100k_base", "o200k_base", "r50k_base", "p50k_base"} <= set(SHIPPED)
    for name, spec in tokens.ENCODINGS.items():
        assert spec.pattern == SHIPPED[name], f"{name}: our copy of the split pattern drifted"


def test_no_other_encoding_can_be_loaded_unchecked() -> None:
    # Closed world: a name tiktoken knows either resolves to one of ours, with the same split
    # pattern (the offline cl100k alias), or is refused; the tool never counts with a pattern
    # these tests did not check. r50k/p50k/gpt2 are refused: their pattern ends a trailing
    # whitespace run differently at the end of a text (``\s++$``), so a byte-for-byte stable
    # prefix ending in a blank line would not be additive with them.
    for name, pattern in SHIPPED.items():
        try:
            ours = tokens.resolve_encoding(name)
        except UsageError:
            continue
        assert tokens.ENCODINGS[ours].pattern == pattern, name


EDGE = [*" \t\r\n\x0b\x0c\x85\xa0\u2028\u3000'/.,-_#<>`:;sdmtlvre0123456789", "’", "é", "中", "🙂"]
TEXT = st.text(
    st.one_of(st.characters(blacklist_categories=("Cs",)), st.sampled_from(EDGE)), max_size=30
)
BLOCK_END = TEXT.map(lambda s: s + "\n")
BLOCK_START = TEXT.filter(lambda s: bool(s) and not s[0].isspace() and not layout.joins(s))


@pytest.mark.parametrize("name", sorted(LOADABLE))
def test_block_boundaries_are_additive(name: str) -> None:
    pattern = LOADABLE[name]

    @settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
    @given(a=BLOCK_END, b=BLOCK_START)
    def check(a: str, b: str) -> None:
        assert additive(pattern, [a, b])

    check()


ENDS = ["\n", ".\n", ">\n", ":\n", "/\n", ".\n\n", " \n", "\r\n", "1\n", "中\n", "'\n", "`\n"]
STARTS = [
    chr(c)
    for c in [*range(0x10000), 0x1F642, 0x1D518, 0x20000, 0xE0001]
    if not 0xD800 <= c <= 0xDFFF and not chr(c).isspace() and chr(c) not in tokens.JOINERS
]


@pytest.mark.parametrize("name", sorted(LOADABLE))
def test_no_other_character_joins_a_block_end_exhaustively(name: str) -> None:
    # Every non-whitespace character of the Basic Multilingual Plane (and a few astral ones)
    # but the joiners, as a block's first character after every kind of block end the compiler
    # makes. Why one long text per end: equal pieces for the whole sequence mean every boundary
    # in it is additive, at a fraction of the cost of one check per pair.
    pattern = LOADABLE[name]
    starts = [ch + "x y\n" for ch in STARTS]
    start_pieces = [pieces(pattern, b) for b in starts]
    for end in ("z" + e for e in ENDS):  # "z": each end starts a block too, with a safe start
        head = pieces(pattern, end)
        expected = [p for b, got in zip(starts, start_pieces, strict=True) for p in (*head, *got)]
        whole = pieces(pattern, "".join(end + b for b in starts))
        if whole != expected:
            bad = [b[0] for b in starts if not additive(pattern, [end, b])]
            pytest.fail(f"{name}: {end!r} joins {bad[:20]}")


def test_every_joiner_really_joins_in_some_encoding() -> None:
    # The control: the rule is not stricter than it has to be.
    for ch in tokens.JOINERS:
        assert any(not additive(p, ["x.\n", ch + "path"]) for p in LOADABLE.values()), ch


# Compiled prompts -------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=80),
    st.text(st.sampled_from(list("ab .!?:\n`#-'/ \t<>&]中🙂")), max_size=120),
    st.builds(
        lambda a, b: "/" + a + b,
        st.text(st.sampled_from(list("/ab .:\n")), max_size=20),
        st.sampled_from(["", ".", ":", ">", "\n", "/"]),
    ),
)


@pytest.fixture(scope="module")
def compiler(tmp_path_factory: pytest.TempPathFactory) -> ContextCompiler:
    return ContextCompiler(cache_dir=tmp_path_factory.mktemp("tokens"))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    budget=st.one_of(st.integers(20, 300), st.integers(300, 20_000)),
    goal=HOSTILE,
    system=st.lists(HOSTILE, max_size=3),
    prefix=HOSTILE,
    memories=st.lists(HOSTILE, max_size=4),
    observations=st.lists(HOSTILE, max_size=4),
    tasks=st.lists(HOSTILE, max_size=3),
    errors=st.lists(HOSTILE, max_size=2),
    strategy=st.lists(HOSTILE, max_size=2),
    fmt=st.sampled_from(layout.FORMATS),
)
def test_every_compiled_prompt_is_additive_in_every_encoding(
    compiler, budget, goal, system, prefix, memories, observations, tasks, errors, strategy, fmt
) -> None:
    args = dict(
        goal=goal,
        system=system,
        prefix=prefix,
        memories=memories,
        observations=observations,
        tasks=tasks,
        errors=errors,
        strategy=strategy,
        token_budget=budget,
        include_context_graph=True,
    )
    ctx = compile_or_refused(compiler, fmt, **args)
    if ctx is None:
        return
    blocks = [b.text for b in ctx.blocks]
    for name, pattern in LOADABLE.items():
        assert additive(pattern, blocks), name


@pytest.mark.parametrize("fmt", ["text", "markdown", "xml"])
@pytest.mark.parametrize(
    ("system", "goal", "tasks"),
    [
        ("Be brief.", "/fix the parser", []),
        ("/review PR 12", "Ship it.", []),
        (["Be brief.", "/compact"], "x", ["/deploy", "[ ] 2. /rollback"]),
    ],
)
def test_slash_commands_at_the_start_of_free_text_keep_the_count_exact(
    compiler, fmt: str, system, goal: str, tasks: list[str]
) -> None:
    # The o200k hole: "<goal>\n/fix" is one o200k piece ">\n/", so counting the header
    # and the goal apart was off by a token. The text is unchanged; only where blocks end moves.
    ctx = compiler.compile(
        goal=goal, system=system, prefix="Project Atlas.", tasks=tasks, format=fmt, token_budget=500
    )
    for name, pattern in LOADABLE.items():
        assert additive(pattern, [b.text for b in ctx.blocks]), name
    prompt = ctx.to_prompt()
    assert goal in prompt  # unchanged: only where blocks end moved
    assert all(t.split("/")[-1] in prompt for t in tasks)


@pytest.fixture
def o200k_split(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """A real tiktoken encoder that splits exactly as o200k_base does (its shipped pattern) but
    merges with cl100k's ranks, the only rank file available offline: it makes the compiler
    count o200k-split prompts for real."""
    import tiktoken

    ranks = tokens._load_ranks(tokens.ENCODINGS["cl100k_base"], tmp_path)
    encoder = tiktoken.Encoding(
        "o200k_base", pat_str=SHIPPED["o200k_base"], mergeable_ranks=ranks, special_tokens={}
    )
    real = tokens.rank_file
    monkeypatch.setitem(tokens._ENCODERS, "o200k_base", encoder)
    monkeypatch.setattr(
        tokens,
        "rank_file",
        lambda name: Path(sys.executable) if name == "o200k_base" else real(name),
    )
    return encoder


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    budget=st.integers(20, 2000),
    goal=HOSTILE,
    system=st.lists(HOSTILE, max_size=2),
    prefix=HOSTILE,
    memories=st.lists(HOSTILE, max_size=4),
    tasks=st.lists(HOSTILE, max_size=3),
    fmt=st.sampled_from(layout.FORMATS),
)
def test_o200k_split_prompts_are_within_budget_and_counted_exactly(
    o200k_split, tmp_path_factory, budget, goal, system, prefix, memories, tasks, fmt
) -> None:
    compiler = ContextCompiler(encoding="o200k_base", cache_dir=tmp_path_factory.getbasetemp())
    args = dict(
        goal=goal, system=system, prefix=prefix, memories=memories, tasks=tasks, token_budget=budget
    )
    ctx = compile_or_refused(compiler, fmt, **args)
    if ctx is None:
        return
    assert ctx.encoding == "o200k_base"
    real = len(o200k_split.encode_ordinary(ctx.to_prompt()))
    assert real == ctx.total_tokens <= budget
