"""Secret redaction: credentials are caught where text enters the store, and before any prompt.

People paste tokens into notes, tool output carries connection strings, and a prompt may leave
the machine for a provider. ``redact`` replaces each credential it recognises with a typed
placeholder, ``[REDACTED:<kind>]``; the rest of the text stays byte for byte. Three families
of rules, each in its own module:

* **Shapes** (``redaction_shapes``): tokens whose documented format names them (``AKIA...``,
  ``ghp_...``, ``glpat-...``, ``xoxb-...``, ``sk_live_...``, ``whsec_...``, ``hf_...``,
  ``npm_...``, ``SG.x.y``, ``sk-ant-...``, ``AIza...``, ``dop_v1_...``, Discord and Telegram bot
  tokens, JWTs, private key blocks, webhooks, ``AccountKey=``, SAS tokens, the password in
  ``scheme://user:password@host`` ...), unless filled in as a placeholder (``ghp_xxxx...``).
* **Names** (here, judged by ``redaction_values``): a value given to a secret-like name, in
  ``key=value``, ``key: value``, JSON, CLI flags (``--password X``), setters, ``("NAME",
  "value")`` pairs, config directives and URL query strings: ``password``, ``secret``,
  ``token``, ``api_key``, ``PGPASSWORD``, ``HMAC_KEY`` ... as a whole name or a part of one.
  The value must look like a credential (random-looking, or a password-like mix of letters,
  digits and symbols), so code (``password = password``, ``len(tokens)``), numbers, names of
  things (``NextToken``, ``token_count``, ``secret_name``), placeholders (``<your-token>``,
  ``changeme``) and references (``$DB_PASSWORD``, ``${...}``, ``%VAR%``, ``os.environ[...]``,
  ``{{ secrets.X }}``, ``vault:...``) pass untouched.
* **Places** (``redaction_context``): passwords known by where they sit: any ``Authorization:``
  scheme, cookies, ``-p`` of mysql/sshpass/docker login..., ``echo X | ... --password-stdin``,
  SQL ``PASSWORD 'x'``, ``auth=("user", "pw")``, Kubernetes Secret data, XML, ``.pgpass``, an
  AWS secret key beside its key id, and prose ("the password is X", "my key is X").

Where it runs: ``MemoryStore`` applies it as text enters the store (remember, session events,
artifacts, imports, goals, tasks, errors, strategy entries, compile records), per the
``redact`` setting (``redact``: the placeholder is stored and the original never touches
disk; ``warn``: stored as given, with a warning; ``off``), and the compiler applies it again to
everything it packs, so text stored before (or with ``warn``) never reaches a prompt either.

Measured on a corpus of 689 fake secrets of 162 kinds and 2,109 clean lines (see
``tests/reliability``, where the figures and what was tuned on what are told), and on 100,000
lines of real code (``site-packages`` and the standard library: 20 altered, nearly all AWS's
documented example keys); deterministic, so a redacted prompt is as cache-stable as any other.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from . import redaction_context as context
from .redaction_shapes import SHAPES
from .redaction_values import (
    PLACEHOLDER,
    REFERENCE,
    basic_credential,
    classes,
    credential_like,
    entropy,
    filler,
    is_password,
    lazy,
    name_strength,
    parts,
    random_like,
    secret_name,
    wordy,
)

__all__ = ["Redactions", "credential_like", "redact", "redact_data", "secret_name"]

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_ALL_NEEDLES = tuple(sorted({n for shape in SHAPES for n in shape.needles}))
_HEX = frozenset("0123456789abcdef")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ALREADY = lazy(r"\[REDACTED:[a-z ]+\]")
_BASIC = lazy(r"(?:[Bb]asic|BASIC)\s{1,8}([A-Za-z0-9+/]{8,4096}={0,2})(?![A-Za-z0-9+/=])")

# Names: a secret-like word found in the lower-cased text, grown to the whole name around it
# (AWS_SECRET_ACCESS_KEY, --db-password, _authToken), then a separator and a value. The
# separators of key=value, key: value, JSON's "key": "value", a subscript's ['key'] = 'value',
# a CLI flag's "--key value", a setter's setPassword("value"), and plain white space (a config
# directive "requirepass X", netrc's "password X", "aws_secret_access_key X"), which needs a
# value that looks like a credential on its own.
_SECRET_WORD = lazy(r"pass|pwd|secret|token|key|credential|cred|auth|pat|sess|sid|cookie")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SEP = lazy(
    r"""["']?\]?[ \t]{0,8}(?::=|=>|=|:)[ \t]{0,8}|[ \t]{1,8}|\([ \t]{0,4}(?=["'])|"""
    r"""["'][ \t]{0,4},[ \t]{0,4}(?=["'])"""
)
_VALUE = lazy(
    r"""\[REDACTED:[a-z ]+\]|<[^>\n]{0,256}>|"[^"\n]{0,512}"|'[^'\n]{0,512}'|`[^`\n]{0,512}`|"""
    r"""[^\s"',;)\]}`]{1,512}"""
)
# An environment variable's name given a quoted value after a space: wp config set DB_PASSWORD 'x'
_ENV_NAME = lazy(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+")
_SETTER_VERBS = {"set", "with", "use"}
# A token of the modern shape no rule names yet: a short lower-case prefix, '_' or '.', and a
# long random tail mixing upper case, lower case and digits (rnd_..., hvs...., fm2_...).
_TAIL = lazy(r"[_.]([A-Za-z0-9_-]{20,512})")
_PREFIX = lazy(r"[a-z][a-z0-9]{1,7}")
_HASH_NAMES = {"sha1", "sha256", "sha384", "sha512", "md5", "blake2b", "base64", "pk"}
_QUERY = lazy(r"[?&;]([A-Za-z_][\w.-]{0,63})=([^&\s#\"'<>;]{1,2048})")
_QUERY_WEAK = {"sig", "signature", "x-amz-signature", "x-goog-signature", "auth", "code_verifier"}


@dataclass
class Redactions:
    """What was removed, by kind (never the secrets themselves)."""

    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def summary(self) -> str:
        kinds = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts.items()))
        return f"redacted {self.total} secret{'s' if self.total != 1 else ''} ({kinds})"


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Every (start, end, kind) to replace; the first rule to claim a span keeps it."""
    found: list[tuple[int, int, str]] = []
    low = text.lower()
    if len(low) != len(text):  # "İ".lower() is two characters: offsets must stay the text's
        low = text.translate(_ASCII_LOWER)

    starts: list[int] = []  # sorted, parallel to found: overlap checks stay logarithmic

    def claim(start: int, end: int, kind: str) -> None:
        if end <= start or _ALREADY.fullmatch(text[start:end]):
            return
        i = bisect_left(starts, start)
        if i < len(found) and found[i][0] < end:
            return  # overlaps the next span
        if i and found[i - 1][1] > start:
            return  # overlaps the previous one
        starts.insert(i, start)
        found.insert(i, (start, end, kind))

    present = {n for n in _ALL_NEEDLES if n in text}  # each needle looked for once
    for shape in SHAPES:
        if shape.needles and present.isdisjoint(shape.needles):
            continue
        for match in shape.pattern.finditer(text):
            span = _bounded(text, match, shape.group, shape.before)
            if span is not None and _checked(shape.check, match, text[span[0] : span[1]]):
                claim(*span, shape.kind)
    if "basic" in low:
        for match in _BASIC.finditer(text):
            if _word_start(text, match.start()) and basic_credential(match.group(1)):
                claim(*match.span(1), "basic auth")
    context.http(text, low, claim)
    _names(text, low, claim)
    context.code(text, low, claim)
    context.command_lines(text, low, claim)
    context.kubernetes(text, claim)
    context.markup(text, claim)
    context.aws_secret(text, low, claim)
    context.databases(text, low, claim)
    _tails(text, claim)
    context.prose(text, low, claim)
    if "=" in text:
        for match in _QUERY.finditer(text):
            name, value = match.group(1), match.group(2)
            power = 1 if name.lower() in _QUERY_WEAK else name_strength(name)
            if (power == 2 and credential_like(value)) or (power == 1 and random_like(value)):
                claim(*match.span(2), "secret")
    return found


def _checked(check: str | None, match: re.Match[str], secret: str) -> bool:
    """A shape's second look: placeholders, decoded contents, URL passwords that are not."""
    if check is None:
        return not (len(secret) >= 16 and not secret.startswith("-----") and filler(secret))
    if check == "mixed":  # formats that plain words could fill: random inside
        return {"upper", "lower", "digit"} <= classes(secret) and not filler(secret)
    if check == "random":
        return random_like(secret)
    if check == "value":  # a password given in place: not a reference or a placeholder
        return not (REFERENCE.match(secret) or PLACEHOLDER.match(secret) or filler(secret))
    if check == "pem64":
        return "PRIVATE KEY" in _b64_head(secret)
    # "url": the password of scheme://user:password@host, unless a reference or a default
    # (guest:guest), a placeholder, or a template's {password}
    user = match.group(1)
    return not (
        REFERENCE.match(secret) or PLACEHOLDER.match(secret) or secret == user or filler(secret)
    )


def _b64_head(value: str) -> str:
    import base64
    import binascii

    head = value[:120]
    try:
        return base64.b64decode(head[: len(head) // 4 * 4]).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return ""


def _word_start(text: str, start: int) -> bool:
    return start == 0 or text[start - 1] not in _WORD


def _bounded(text: str, match: re.Match[str], group: int, before: str) -> tuple[int, int] | None:
    """The span to replace, if what precedes the match is what its rule needs."""
    start = match.start()
    if before == "any":
        return match.span(group)
    if before == "word":
        return match.span(group) if _word_start(text, start) else None
    if before == "space":
        return match.span(group) if start == 0 or text[start - 1].isspace() else None
    i = start
    if before == "hex32":  # Mailgun's key: exactly 32 lower-case hex digits before the match
        while i > 0 and start - i < 33 and text[i - 1] in _HEX:
            i -= 1
        ok = start - i == 32 and _word_start(text, i)
        return (i, match.end()) if ok else None
    if before == "digits":  # a Telegram bot id, 8 to 10 digits, before ":AA..." (or "/bot<id>")
        while i > 0 and start - i < 11 and text[i - 1].isdigit():
            i -= 1
        ok = 8 <= start - i <= 10 and (_word_start(text, i) or text[max(0, i - 3) : i] == "bot")
        return (i, match.end()) if ok else None
    # "scheme": a URL scheme before "://"
    while i > 0 and start - i < 32 and (text[i - 1].isalnum() or text[i - 1] in "+.-"):
        i -= 1
    ok = i < start and text[i].isalpha() and _word_start(text, i)
    return match.span(group) if ok else None


def _names(text: str, low: str, claim: Any) -> None:
    """Values given to secret-like names (see ``_SECRET_WORD``)."""
    done = -1
    n = len(text)
    placeholders = [m.span() for m in _ALREADY.finditer(text)] if "[REDACTED:" in text else []
    for word in _SECRET_WORD.finditer(low):
        if word.start() < done:
            continue  # another word of a name already looked at (AWS_SECRET_ACCESS_KEY)
        start, end = word.start(), word.end()
        while start > 0 and text[start - 1] in _NAME_CHARS:
            start -= 1
        while end < n and text[end] in _NAME_CHARS:
            end += 1
        done = end
        key = text[start:end].lstrip(".")
        if start > 0 and text[start - 1] == "$":
            continue  # $SECRET_KEY: a reference
        if placeholders and any(a <= word.start() < b for a, b in placeholders):
            continue  # the kind in a placeholder ("[REDACTED:github token]: x"): stays idempotent
        power = name_strength(key)
        if not power:
            continue
        sep = _SEP.match(text, end)
        if sep is None:
            continue
        mark = sep.group()
        if "," in mark and (start == 0 or text[start - 1] not in "\"'"):
            continue  # "name", "value" only when the name is quoted too
        if mark == ":" and start > 0 and text[start - 1] in ":/":
            continue  # a segment of an ARN or a path (arn:aws:secretsmanager:...:secret:x)
        got = _VALUE.match(text, sep.end())
        if got is None:
            continue
        value = got.group()
        flag = key.startswith("-")
        quoted = value[:1] in "\"'`" and value[-1:] == value[:1] and len(value) >= 2
        inner = value[1:-1] if quoted else value
        if flag and value.startswith("-"):
            continue
        if mark.startswith("("):  # a setter: setPassword("x"), .password("x"), withToken("x")
            last = parts(key.rsplit(".", 1)[-1])
            setter = len(last) >= 2 and last[0] in _SETTER_VERBS
            method = "." in key and len(last) == 1 and last[0] in ("password", "secret", "token")
            if not quoted or not (setter or method) or inner.rstrip().endswith(":"):
                continue
        if "," in mark:  # define('DB_PASSWORD', 'x'), setenv("API_KEY", "x"): judged unquoted
            quoted_pair_ok = power == 2 and credential_like(inner, False, True)
            if not (quoted_pair_ok or random_like(inner)):
                continue
        elif not mark.strip() and not flag and not mark.startswith("("):
            # plain white space: "aws_secret_access_key X" (a random value), or a directive
            # alone on its line: "requirepass X", netrc's "... password X"
            if inner.startswith("-"):
                continue
            if not random_like(inner):
                env_style = quoted and power == 2 and _ENV_NAME.fullmatch(key) is not None
                if not credential_like(inner, quoted, True) or not (
                    env_style or _directive(text, start, got.end(), key)
                ):
                    continue
        elif power == 1:
            if not (random_like(inner) or basic_credential_value(inner)):
                continue
        else:
            strong = is_password(key) or "secret" in parts(key)
            if not credential_like(inner, quoted, strong):
                continue
        begin = got.start() + (1 if quoted else 0)
        claim(begin, begin + len(inner), "password" if is_password(key) else "secret")
        done = max(done, got.end())  # words inside the value are not names


def _directive(text: str, start: int, end: int, key: str) -> bool:
    """``name value`` alone on its line (redis.conf, netrc), or netrc's ``login X password Y``."""
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    rest = text[end : len(text) if line_end < 0 else line_end]
    lead = text[line_start:start].strip(" \t>$#*-")
    if lead in ("", "ENV", "ARG", "export", "set", "setenv", "setx") and not rest.strip():
        return True
    return is_password(key) and " login " in f" {text[line_start:start]}"


def basic_credential_value(value: str) -> bool:
    """base64 of ``user:password`` long enough to hold one (Docker's and npm's ``auth``)."""
    return len(value) >= 12 and basic_credential(value)


def _tails(text: str, claim: Any) -> None:
    for tail in _TAIL.finditer(text):
        start = tail.start()
        begin = start
        while (
            begin > 0 and start - begin < 8 and text[begin - 1] in _WORD and text[begin - 1] != "_"
        ):
            begin -= 1
        prefix = text[begin:start]
        after = tail.end()
        if (
            (after == len(text) or text[after] not in _NAME_CHARS)
            and _PREFIX.fullmatch(prefix)
            and (begin == 0 or text[begin - 1] not in _NAME_CHARS)
            and prefix not in _HASH_NAMES
            and _random_tail(tail.group(1))
        ):
            claim(begin, tail.end(), "token")


def _random_tail(tail: str) -> bool:
    if not {"upper", "lower", "digit"} <= classes(tail) or entropy(tail) < 4.0:
        return False
    return not (filler(tail) or wordy(tail))


def redact(text: str, found: Redactions | None = None) -> str:
    """``text`` with every recognised credential replaced by ``[REDACTED:<kind>]``."""
    if not text:
        return text
    spans = _spans(text)
    if not spans:
        return text
    out = []
    last = 0
    for start, end, kind in spans:
        out.append(text[last:start])
        out.append(f"[REDACTED:{kind}]")
        if found is not None:
            found.counts[kind] += 1
        last = end
    out.append(text[last:])
    return "".join(out)


def redact_data(value: object, found: Redactions | None = None) -> object:
    """Every string inside ``value`` (dicts, lists) redacted; keys and other types kept."""
    if isinstance(value, str):
        return redact(value, found)
    if isinstance(value, dict):
        return {k: redact_data(v, found) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_data(v, found) for v in value]
    return value
