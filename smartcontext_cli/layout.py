"""Prompt layout: the blocks a compiled prompt is made of, per format, and where items may be cut.

Why it exists: the compiler's exact budget rests on one rule, kept here. Every block ends with
``"\\n"``, and every block but the first starts with a character that is neither whitespace nor
one of ``tokens.JOINERS`` (``/``); so, by tokens.py's additivity property, a prompt's token count
is exactly the sum of its blocks' counts, and the count of one block never depends on its
neighbours. Free text that starts with a joiner (a goal such as ``/review PR 12``) is glued to
what comes before it in its own section instead: the section's header, or the previous system
text or task (``joins``, ``glue_header``, ``merge_joined``).

Guarantees:
- ``text``, ``markdown`` and ``xml`` differ only in section headers and closers; an item renders
  to the same block in all three, so its cached count serves every format.
- Items are list entries (``- ...``) whose continuation lines are indented two spaces, so item
  text can never masquerade as a section header.
"""

from __future__ import annotations

import re
from pathlib import PurePath

from .tokens import JOINERS

STYLES = ("text", "markdown", "xml")
FORMATS = (*STYLES, "json", "messages")
SECTION_ORDER = (
    "prefix",
    "system",
    "goal",
    "strategy",
    "memories",
    "artifacts",
    "related",
    # Why errors after the session: a new error or a count change ("(x2)") must not invalidate
    # the cached session before it; late in the prompt it also sits where recency helps.
    "observations",
    "errors",
    # What the query chose afresh this time (assembly.py's tail): a changing query invalidates
    # only what follows the session.
    "recall",
    "more_memories",
    "focus",
)
TITLES = {
    "system": "System",
    "goal": "Goal",
    "strategy": "Strategy",
    "memories": "Relevant memories",
    "artifacts": "Artifacts",
    "related": "Related",
    "errors": "Unresolved errors",
    "observations": "Session",
    "recall": "Earlier in this session",
    "more_memories": "Also relevant",
    "focus": "Focus",
}
XML_TAGS = {
    "observations": "session",
    "memories": "memories",
    "recall": "earlier",
    "more_memories": "also-relevant",
}
LANGUAGES = {
    "py": "python",
    "js": "javascript",
    "ts": "typescript",
    "tsx": "tsx",
    "jsx": "jsx",
    "md": "markdown",
    "json": "json",
    "toml": "toml",
    "yaml": "yaml",
    "yml": "yaml",
    "sh": "bash",
    "bash": "bash",
    "rs": "rust",
    "go": "go",
    "java": "java",
    "c": "c",
    "h": "c",
    "cpp": "cpp",
    "hpp": "cpp",
    "cs": "csharp",
    "rb": "ruby",
    "php": "php",
    "sql": "sql",
    "html": "html",
    "css": "css",
    "kt": "kotlin",
    "swift": "swift",
    "txt": "",
}


def style_of(fmt: str) -> str:
    """The block style a format renders with (json and messages carry the markdown prompt)."""
    return fmt if fmt in STYLES else "markdown"


def header(section: str, style: str) -> str | None:
    if section == "prefix" or (section == "system" and style != "xml"):
        return None
    if style == "xml":
        return f"<{XML_TAGS.get(section, section)}>\n"
    title = TITLES[section]
    return f"## {title}\n" if style == "markdown" else f"{title.upper()}:\n"


def joins(text: str) -> bool:
    """True when ``text`` starts with a character a pre-tokeniser may join to the block before."""
    return text[:1] in JOINERS


def glue_header(section: str, style: str) -> str:
    """The header a free text starting with a joiner is glued to, in one block: the section's
    own, or its title for the system text, which has none in markdown and text."""
    own = header(section, style)
    if own is not None:
        return own
    title = TITLES[section]
    return f"## {title}\n" if style == "markdown" else f"{title.upper()}:\n"


def merge_joined(bodies: list[str]) -> list[str]:
    """Free texts of one section, each one that starts with a joiner joined to the one before
    (``block(a) + block(b) == block(a + "\\n" + b)``: the same text, one block fewer)."""
    out: list[str] = []
    for body in bodies:
        if out and joins(body):
            out[-1] = f"{out[-1]}\n{body}"
        else:
            out.append(body)
    return out


def footer(section: str, style: str) -> str | None:
    if style != "xml" or section == "prefix":
        return None
    return f"</{XML_TAGS.get(section, section)}>\n"


def clean(text: str) -> str:
    """Text as the compiler uses it: valid UTF-8, no trailing spaces, no leading blank lines."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text.rstrip().lstrip("\n\r")


# Characters XML 1.0 cannot hold, even as character references: C0 controls but tab, newline
# and carriage return; lone surrogates; U+FFFE and U+FFFF. Those Python counts as whitespace
# (vertical tab, form feed, the four separators) become spaces, so trimming is unchanged.
_XML_SPACE = "[\x0b\x0c\x1c-\x1f]"
_NOT_XML = "[\x00-\x08\x0e-\x1b\ud800-\udfff\ufffe\uffff]"


def xml_text(text: str) -> str:
    """``text`` as XML character data: ``&`` and ``<`` escaped, ``>`` only after ``]]`` (the one
    place it must be), and characters XML cannot hold replaced (U+FFFD, or a space for the
    whitespace ones). The only tags in an xml prompt are then the compiler's own."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace("]]>", "]]&gt;")
    # re's own cache compiles these once, and only in xml compiles.
    return re.sub(_NOT_XML, "\ufffd", re.sub(_XML_SPACE, " ", out))


def block(text: str) -> str:
    """A free-text block (system text, the goal): no leading whitespace, ends with a newline."""
    body = text.strip()
    return body + "\n" if body else ""


def prefix_block(prefix: str) -> str:
    """The stable prefix, byte for byte, with a newline added only if it has none at its end."""
    return prefix if prefix.endswith("\n") else prefix + "\n"


def item(body: str, lead: str = "") -> str:
    """A list entry: ``- lead body``; continuation lines indented two spaces, blank lines kept."""
    lines = body.split("\n")
    rest = ["  " + line if line.strip() else "" for line in lines[1:]]
    return "\n".join([f"- {lead}{lines[0].lstrip()}", *rest]) + "\n"


def fence_for(content: str) -> str:
    longest = max((len(m.group(0)) for m in re.finditer(r"^\s*(`{3,})", content, re.M)), default=0)
    return "`" * max(3, longest + 1)


def fenced(title: str, content: str, lang: str) -> tuple[str, int]:
    """An artifact's content as the body of a list entry holding a fenced block, so code stays
    code; with the position before which it must not be cut (its title and opening fence)."""
    fence = fence_for(content)
    head = f"{title}:\n{fence}{lang}\n"
    return f"{head}{content.strip(chr(10))}\n{fence}", len(head)


def language(name: str) -> str:
    return LANGUAGES.get(PurePath(name).suffix.lstrip(".").lower(), "")


def omitted(fetch: str | None) -> str:
    """Marks older session items left out. It carries no count, so it stays byte-identical while
    the window grows (the prompt's start must not change when items are appended)."""
    where = f": {fetch}" if fetch else ""
    return f"- (earlier items not shown{where})\n"
