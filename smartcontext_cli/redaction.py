"""Secret redaction: credentials are caught where text enters the store, and before any prompt.

People paste tokens into notes, tool output carries connection strings, and a prompt may leave
the machine for a provider. ``redact`` replaces each credential it recognises with a typed
placeholder, ``[REDACTED:<kind>]``; the rest of the text stays byte for byte. Two families of
rules:

* **Shapes**: tokens whose format names them (``AKIA...``, ``ghp_...``, ``glpat-...``,
  ``xoxb-...``, ``sk_live_...``, ``whsec_...``, ``hf_...``, ``npm_...``, ``SG.x.y``, JWTs,
  private key blocks, Slack and Discord webhooks, ``AccountKey=`` in connection strings, the
  password in ``scheme://user:password@host``, ``Basic`` and ``Bearer`` credentials).
* **Names**: a value given to a secret-like name, in ``key=value``, ``key: value``, JSON,
  CLI flags (``--password X``) and URL query strings: ``password``, ``secret``, ``token``,
  ``passphrase``, ``api_key``, ``access_key``, ``private_key``, ``client_secret`` ... as a whole
  name or a part of one (``AWS_SECRET_ACCESS_KEY``, ``db_password``, ``_authToken``). The value
  must look like a credential (random-looking, or a password-like mix of letters, digits and
  symbols), so code (``password = password``, ``len(tokens)``), numbers (``max_tokens = 1024``),
  placeholders (``<your-token>``, ``changeme``) and environment references (``$DB_PASSWORD``,
  ``${...}``, ``os.environ[...]``, ``{{ secrets.X }}``) pass untouched.

Where it runs: ``MemoryStore`` applies it as text enters the store (remember, session events,
artifacts, imports, goals, tasks, errors, strategy entries, compile records), per the
``redact`` setting (``redact``: the placeholder is stored and the original never touches
disk; ``warn``: stored as given, with a warning; ``off``), and the compiler applies it again to
everything it packs, so text stored before (or with ``warn``) never reaches a prompt either.

Measured on a corpus of 218 fake secrets of 44 kinds and 949 clean lines (see
``tests/reliability``); deterministic, so a redacted prompt is as cache-stable as any other.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from bisect import bisect_left
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

# (kind, pattern, group to replace: 0 = the whole match). Why every pattern starts with its
# literal and the word boundary before it is checked in Python (``_BEFORE``): a leading ``\b``
# keeps the regex engine from skipping ahead to the literal, which made each rule ~100x slower
# (210 ms against 2 ms per MB). Every repeat is bounded, so no input makes a pattern backtrack
# over the whole text. Order matters where spans overlap: the first rule to claim a span names
# it ("token=ghp_..." is a GitHub token).
_SHAPES: list[tuple[str, str, int]] = [
    (
        "private key",
        r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,20000}?"
        r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        0,
    ),
    # A key block whose end is missing (a text cut short, or pasted in part; the compiler's
    # windows of huge texts) is a key to the end of the text: so a prefix of a text is never
    # less redacted than the whole would be. Greedy to the end: linear, whatever the input.
    (
        "private key",
        r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*\Z",
        0,
    ),
    (
        "aws access key",
        r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b",
        0,
    ),
    (
        "github token",
        r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        0,
    ),
    (
        "gitlab token",
        r"gl(?:pat|dt|rt|ptt|ft)-[A-Za-z0-9_-]{20,255}",
        0,
    ),
    ("api key", r"sk-(?:ant-|proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,255}", 0),
    ("slack token", r"xox[abposr]-[A-Za-z0-9-]{10,255}", 0),
    (
        "slack webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,255}",
        0,
    ),
    ("stripe key", r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,255}\b", 0),
    ("stripe webhook secret", r"whsec_[A-Za-z0-9]{24,255}\b", 0),
    ("google api key", r"AIza[0-9A-Za-z_-]{35}\b", 0),
    ("google client secret", r"GOCSPX-[A-Za-z0-9_-]{24,255}", 0),
    (
        "jwt",
        r"eyJ[A-Za-z0-9_-]{8,4096}\.eyJ[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,4096}",
        0,
    ),
    ("npm token", r"npm_[A-Za-z0-9]{36}\b", 0),
    ("hugging face token", r"hf_[A-Za-z0-9]{30,255}\b", 0),
    ("sendgrid key", r"SG\.[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{30,128}", 0),
    ("mailgun key", r"key-[0-9a-f]{32}\b", 0),
    ("digitalocean token", r"do[por]_v1_[0-9a-f]{64}\b", 0),
    ("docker token", r"dckr_pat_[A-Za-z0-9_-]{20,255}", 0),
    ("pypi token", r"pypi-AgE[A-Za-z0-9_-]{50,1024}", 0),
    (
        "shopify token",
        r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}\b",
        0,
    ),
    (
        "discord webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{1,30}/[A-Za-z0-9_-]{30,255}",
        0,
    ),
    ("telegram bot token", r":AA[A-Za-z0-9_-]{33}\b", 0),
    ("age secret key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}\b", 0),
    ("linear api key", r"lin_api_[A-Za-z0-9]{40}\b", 0),
    ("twilio api key", r"SK[0-9a-fA-F]{32}\b", 0),
    ("square token", r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,255}", 0),
    ("atlassian token", r"ATATT3[A-Za-z0-9_=-]{50,1024}", 0),
    ("databricks token", r"dapi[0-9a-f]{32}\b", 0),
    ("postman key", r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}\b", 0),
    ("new relic key", r"NRAK-[A-Z0-9]{27}\b", 0),
    ("grafana token", r"glsa_[A-Za-z0-9]{32}_[0-9a-f]{8}\b", 0),
    (
        "azure key",
        r"(?:AccountKey|SharedAccessKey|SharedSecret)=([A-Za-z0-9+/]{20,1024}=*)",
        1,
    ),
    ("bearer token", r"(?:[Bb]earer|BEARER)\s{1,8}([A-Za-z0-9._~+/-]{20,8192}=*)", 1),
    # curl -u user:password, --user user:password (a token alone, "-u TOKEN:", is a shape above)
    (
        "password",
        r"(?:-u|--user)[ =]['\"]?[^\s:'\"]{1,128}:([^\s'\"@]{4,255})",
        1,
    ),
    (
        "url password",
        r"://[^\s:/@]{0,128}:([^\s@/]{1,255})@",
        1,
    ),
]
_BEFORE = {"telegram bot token": "digits", "password": "space", "url password": "scheme"}
_COMPILED = [
    (kind, re.compile(pattern), group, _BEFORE.get(kind, "word"))
    for kind, pattern, group in _SHAPES
]
_PREFIX_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")
_WORD = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ALREADY = re.compile(r"\[REDACTED:[a-z ]+\]")
_BASIC = re.compile(r"(?:[Bb]asic|BASIC)\s{1,8}([A-Za-z0-9+/]{8,4096}={0,2})(?![A-Za-z0-9+/=])")

# Names: a secret-like word found in the lower-cased text, grown to the whole name around it
# (AWS_SECRET_ACCESS_KEY, --db-password, _authToken), then a separator and a value. The
# separators of key=value, key: value, JSON's "key": "value", a subscript's ['key'] = 'value',
# and a CLI flag's "--key value".
_SECRET_WORD = re.compile(r"pass|pwd|secret|token|key|credential|auth|pat")
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_SEP = re.compile(r"""["']?\]?[ \t]{0,8}(?::=|=>|=|:)[ \t]{0,8}|[ \t]{1,8}""")
_VALUE = re.compile(
    r"""\[REDACTED:[a-z ]+\]|<[^>\n]{0,256}>|"[^"\n]{0,256}"|'[^'\n]{0,256}'|[^\s"',;)\]}]{1,256}"""
)
# A token of the modern shape no rule names yet: a short lower-case prefix, '_' or '.', and a
# long random tail mixing upper case, lower case and digits (rnd_..., hvs...., fm2_...).
_TAIL = re.compile(r"[_.]([A-Za-z0-9_-]{20,512})")
_PREFIX = re.compile(r"[a-z][a-z0-9]{1,7}")
_HASH_NAMES = {"sha1", "sha256", "sha384", "sha512", "md5", "blake2b", "base64"}
# "my password for the box is X": a password named in a sentence, then "is" and the value.
_PROSE_WORD = re.compile(r"password|passphrase|passcode")
_PROSE = re.compile(r"[^.\n:=]{0,40}?\b(?:is|was)\s{1,4}['\"]?(\S{1,255}?)['\"]?(?=[\s.,;]|$)")
_QUERY = re.compile(r"[?&]([A-Za-z_][\w.-]{0,63})=([^&\s#\"'<>]{1,512})")
_WORD_SPLIT = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_STRONG = {
    "password",
    "passwd",
    "pwd",
    "pass",
    "passphrase",
    "secret",
    "token",
    "apikey",
    "credential",
    "credentials",
    "authtoken",
    "pat",
}
_KEY_PREFIXES = {
    "api",
    "access",
    "secret",
    "private",
    "signing",
    "encryption",
    "master",
    "account",
    "app",
    "license",
    "service",
    "shared",
    "client",
    "auth",
}
# A name ending in one of these is about a secret, not the secret itself (token_count,
# password_file, api_key_env, secret_name, token_url).
_NOT_SECRET = {
    "count", "counts", "type", "types", "encoding", "id", "ids", "url", "uri", "path", "file",
    "files", "name", "names", "length", "len", "size", "expiry", "expires", "ttl", "limit",
    "endpoint", "header", "prefix", "format", "kind", "env", "var", "dir", "stdin", "policy",
    "hash", "hashed", "field", "fields", "label", "budget", "source", "manager", "store",
    "cache", "regex", "pattern", "rules", "mode", "version",
}  # fmt: skip
_PLACEHOLDER = re.compile(
    r"""(?ix)^(?:
        <[^>]*>|\[[^\]]*\]|\{[^}]*\}|\.{3,}|x{3,}|\*{3,}|-+|
        (?:your|my|the|some|an?)[\w-]*|changeme|change[_-]?me|secret|password|passwd|token|
        example[\w-]*|sample[\w-]*|dummy[\w-]*|placeholder[\w-]*|redacted|none|null|nil|
        true|false|undefined|todo|tbd|fixme|test|testing|foo|bar|baz|hunter2?
    )$"""
)
# References to where a secret lives, not secrets: $VAR, ${VAR}, $(cmd), {{ x }}, %(x)s, %VAR%,
# and code: calls, subscripts and attribute chains (os.environ["X"], getenv("X"), self.token).
_REFERENCE = re.compile(
    r"""(?x)^(?:
        \$\{?[\w.]+\}?.*|\$\(.*|\{\{.*|%\(\w+\)s|%\w+%|
        [A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*(?:\(.*|\[.*)|
        [a-z_][a-z0-9_]*(?:\.[A-Za-z_][\w]*)+
    )$"""
)


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


def _parts(name: str) -> list[str]:
    return [p.lower() for p in _WORD_SPLIT.findall(name)]


@lru_cache(maxsize=4096)  # names repeat (a log's keys, a config's lines): decide each once
def secret_name(name: str) -> bool:
    """Whether a key, flag or parameter name holds a credential (``db_password``, ``apiKey``)."""
    parts = _parts(name.lstrip("-"))
    if not parts or parts[-1] in _NOT_SECRET:
        return False
    if any(p in _STRONG for p in parts):
        return True
    return any(a in _KEY_PREFIXES and b == "key" for a, b in itertools.pairwise(parts))


def _entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_CLASS_PATTERNS = (
    ("upper", re.compile(r"[A-Z]")),
    ("lower", re.compile(r"[a-z]")),
    ("digit", re.compile(r"[0-9]")),
    ("symbol", re.compile(r"[^A-Za-z0-9]")),
)


def _classes(text: str) -> set[str]:
    return {name for name, pattern in _CLASS_PATTERNS if pattern.search(text)}


@lru_cache(maxsize=4096)
def credential_like(value: str, quoted: bool = False, strong: bool = False) -> bool:
    """Whether a value given to a secret-like name looks like a credential, not code or prose."""
    if len(value) < 6 or "[REDACTED:" in value:
        return False
    if _PLACEHOLDER.match(value) or _REFERENCE.match(value):
        return False
    if value.isdigit() or re.fullmatch(r"\d+(?:\.\d+)*[a-z]*", value):
        return False  # numbers and versions: 1024, 3600, 1.2.3
    classes = _classes(value)
    has_letter = bool(classes & {"upper", "lower"})
    if quoted and " " in value:
        # A quoted phrase ("correct horse battery") given to a password is one, unless prose.
        return len(value.split()) <= 4 and not value.endswith((".", "?", "!"))
    if " " in value:
        return False
    if len(value) >= 16 and _entropy(value) >= 3.0 and len(classes) >= 2 and has_letter:
        return True  # random-looking: keys, tokens, hex, base64, UUIDs
    if len(value) >= 8 and has_letter and "digit" in classes:
        # password-like: letters and digits mixed with case or symbols (Harbor1808%maple); for
        # a name that says password or secret outright, letters and digits are enough.
        return len(classes) >= 3 or quoted or strong
    return quoted and len(value) >= 8 and len(classes) >= 2


def _basic_credential(value: str) -> bool:
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    text = decoded.decode("utf-8", "replace")
    return ":" in text and text.isprintable()


def _spans(text: str) -> list[tuple[int, int, str]]:
    """Every (start, end, kind) to replace; the first rule to claim a span keeps it."""
    found: list[tuple[int, int, str]] = []
    low = text.lower()

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

    for kind, pattern, group, before in _COMPILED:
        for match in pattern.finditer(text):
            span = _bounded(text, match, group, before)
            if span is None:
                continue
            secret = text[span[0] : span[1]]
            if kind == "url password" and (_REFERENCE.match(secret) or _PLACEHOLDER.match(secret)):
                continue
            claim(*span, kind)
    for match in _BASIC.finditer(text):
        if _word_start(text, match.start()) and _basic_credential(match.group(1)):
            claim(*match.span(1), "basic auth")
    _names(text, low, claim)
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
    for word in _PROSE_WORD.finditer(low):
        said = _PROSE.match(text, word.end())
        if said and credential_like(said.group(1), strong=True):
            claim(*said.span(1), "password")
    if "=" in text:
        for match in _QUERY.finditer(text):
            if secret_name(match.group(1)) and credential_like(match.group(2)):
                claim(*match.span(2), "secret")
    return found


def _word_start(text: str, start: int) -> bool:
    return start == 0 or text[start - 1] not in _WORD


def _bounded(text: str, match: re.Match[str], group: int, before: str) -> tuple[int, int] | None:
    """The span to replace, if what precedes the match is what its rule needs (``_BEFORE``)."""
    start = match.start()
    if before == "word":
        return match.span(group) if _word_start(text, start) else None
    if before == "space":
        return match.span(group) if start == 0 or text[start - 1].isspace() else None
    i = start
    if before == "digits":  # a Telegram bot id, 8 to 10 digits, before ":AA..."
        while i > 0 and start - i < 11 and text[i - 1].isdigit():
            i -= 1
        ok = 8 <= start - i <= 10 and _word_start(text, i)
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
        flag = key.startswith("-")
        sep = _SEP.match(text, end)
        if sep is None or (not sep.group().strip() and not flag) or not secret_name(key):
            continue
        got = _VALUE.match(text, sep.end())
        if got is None:
            continue
        value = got.group()
        if flag and value.startswith("-"):
            continue
        quoted = value[:1] in "\"'" and value[-1:] == value[:1] and len(value) >= 2
        inner = value[1:-1] if quoted else value
        if credential_like(inner, quoted, _is_password(key) or "secret" in _parts(key)):
            begin = got.start() + (1 if quoted else 0)
            claim(begin, begin + len(inner), "password" if _is_password(key) else "secret")
            done = max(done, got.end())  # words inside the value are not names


def _random_tail(tail: str) -> bool:
    classes = _classes(tail)
    return {"upper", "lower", "digit"} <= classes and _entropy(tail) >= 4.0


def _is_password(name: str) -> bool:
    return any(p in ("password", "passwd", "pwd", "pass", "passphrase") for p in _parts(name))


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
