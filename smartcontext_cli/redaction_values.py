"""Which names hold credentials, and which values look like one: the judgement behind redaction.

``redaction.py`` finds candidates (a value after a secret-like name, a token in a header, a
flag's argument); this module decides. Two questions, kept apart so every rule asks them alike:

* ``name_strength(name)``: 2 for a name that says password, secret or token outright
  (``db_password``, ``PGPASSWORD``, ``client_secret``, ``X-Auth-Token``, ``api_key``); 1 for a
  name that may hold one (``HMAC_KEY``, ``Ocp-Apim-Subscription-Key``, ``auth``, ``JSESSIONID``),
  whose value must then look random; 0 for names about a secret rather than the secret itself
  (``token_count``, ``secret_name``, ``password_file``) and everything else.
* ``credential_like(value)`` (a password-like or random value, for strong names) and
  ``random_like(value)`` (keys and tokens: long, mixed, high entropy), both false for
  placeholders (``<your-key>``, ``changeme``, ``xxxx``), references to where a secret lives
  (``$VAR``, ``${VAR}``, ``%VAR%``, ``os.environ[...]``, ``vault:...``, ``((var))``) and code.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import math
import re
from collections import Counter
from collections.abc import Iterator
from functools import lru_cache


class LazyPattern:
    """A regex compiled when first used. Why: the rules hold ~120 patterns and most texts need
    a few; compiling all of them at import cost every ``remember`` process ~40 ms (measured)."""

    __slots__ = ("_compiled", "flags", "pattern")

    def __init__(self, pattern: str, flags: int = 0) -> None:
        self.pattern = pattern
        self.flags = flags
        self._compiled: re.Pattern[str] | None = None

    @property
    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            self._compiled = re.compile(self.pattern, self.flags)
        return self._compiled

    def finditer(self, text: str, pos: int = 0, endpos: int = 2**63 - 1) -> Iterator[re.Match[str]]:
        return self.compiled.finditer(text, pos, endpos)

    def match(self, text: str, pos: int = 0) -> re.Match[str] | None:
        return self.compiled.match(text, pos)

    def fullmatch(self, text: str) -> re.Match[str] | None:
        return self.compiled.fullmatch(text)

    def search(self, text: str) -> re.Match[str] | None:
        return self.compiled.search(text)

    def findall(self, text: str) -> list[str]:
        return self.compiled.findall(text)


def lazy(pattern: str, flags: int = 0) -> LazyPattern:
    return LazyPattern(pattern, flags)


_WORD_SPLIT = lazy(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
_STRONG = {
    "password", "passwd", "pwd", "pass", "passphrase", "passcode", "secret", "secrets", "token",
    "apikey", "credential", "credentials", "creds", "authtoken",
}  # fmt: skip
# A part ending in one of these is one too (PGPASSWORD, storepass, requirepass, accesstoken).
_STRONG_SUFFIXES = ("password", "passwd", "pass", "pwd", "secret", "token", "apikey")
_NOT_SUFFIX = {"bypass", "compass", "encompass", "surpass", "overpass", "underpass", "trespass"}
_KEY_PREFIXES = {
    "api", "access", "secret", "private", "signing", "encryption", "master", "account", "app",
    "license", "service", "shared", "client", "auth", "admin", "storage", "subscription", "hmac",
    "session", "webhook", "consumer", "merchant", "partner", "server", "deploy", "root", "jwt",
    "crypto", "cipher", "aes", "decryption", "sas", "live", "prod", "write", "read", "ingest",
}  # fmt: skip
# First parts of a "..._key" name that is an identifier, not a credential.
_PLAIN_KEYS = {
    "public", "publishable", "pub", "primary", "foreign", "sort", "partition", "cache",
    "idempotency", "dedup", "dedupe", "routing", "object", "s3", "row", "lookup", "map", "dict",
    "unique", "composite", "natural", "surrogate", "hash", "range", "shard", "group", "message",
    "event", "config", "setting", "recv", "fingerprint", "search", "trusted",
    "settings", "i18n", "translation", "react", "list", "item", "registry", "ssh", "gpg", "pgp",
}  # fmt: skip
# Weak names whose value must look random (a session id, "auth", a cookie).
_WEAK_WORDS = {
    "auth", "sessionid", "sessid", "jsessionid", "phpsessid", "sid", "session", "pat",
    "dockerconfigjson", "dockercfg",
}  # fmt: skip
# Tokens that are not credentials: pagination, idempotency and request tokens of APIs
# (AWS's NextToken, ClientRequestToken, Google's nextPageToken), lexer tokens.
_TOKEN_NOT_SECRET = {
    "next", "page", "pagination", "starting", "continuation", "cursor", "marker", "sync",
    "idempotency", "request", "change", "backward", "forward", "input", "output", "verification",
    "comment", "lexer", "parser", "prev", "previous", "resume",
}  # fmt: skip
# A name ending in one of these is about a secret, not the secret itself (token_count,
# password_file, api_key_env, secret_name, token_url).
_NOT_SECRET = {
    "count", "counts", "type", "types", "encoding", "id", "ids", "url", "uri", "path", "file",
    "files", "name", "names", "length", "len", "size", "expiry", "expires", "ttl", "limit",
    "endpoint", "header", "headers", "prefix", "format", "kind", "env", "var", "dir", "stdin",
    "policy", "hash", "hashed", "field", "fields", "label", "budget", "source", "manager", "store",
    "cache", "regex", "pattern", "rules", "mode", "version", "arn", "ref", "method", "methods",
    "backend", "algorithm", "alg", "timeout", "rotation", "param", "reset", "template", "class",
    "location", "provider", "scope", "scopes", "hint", "seconds", "days", "minutes", "at",
    "required", "enabled", "min", "max", "lifetime", "tokens", "tokenizer", "used", "date", "time",
    "updated", "changed", "created", "modified", "outfile", "infile", "spec", "specs", "usage",
    "state", "status", "origin", "alias", "region", "str",
}  # fmt: skip
PLACEHOLDER = lazy(
    r"""(?ix)^(?:
        <[^>]*>|\[[^\]]*\]|\{[^}]*\}|\.{3,}|x{3,}|\*{3,}|-+|•+|~|
        your[\w-]*|(?:my|the|some|an?)[_-][\w-]*|[\w-]*[_-]here|
        (?:insert|replace|enter|put|fake|mock|dummy|example|sample|placeholder)[\w-]*|
        changeme|change[_-]?me|changeit|secret|password|passwd|pass|pwd|pw|token|redacted|masked|
        hidden|
        none|null|nil|true|false|undefined|todo|tbd|fixme|test|testing|foo|bar|baz|hunter2?|guest
    )$"""
)
# References to where a secret lives, not secrets: $VAR, ${VAR}, $(cmd), {{ x }}, %(x)s, %VAR%,
# ((var)), !Ref X, vault:/op:/arn: paths, and code: calls, subscripts and attribute chains
# (os.environ["X"], getenv("X"), self.token).
REFERENCE = lazy(
    r"""(?x)^(?:
        \$\{?[\w.]+\}?.*|\$\(.*|\{\{.*|%\(\w+\)s|%\w+%|\(\(.*|!\w+.*|<%.*|`.*|
        (?:vault|op|arn|ref\+\w+|awssm|gcpsm|sm|ssm|secretsmanager|env|file|keyvault|akv):.*|
        [A-Za-z_][\w]*(?:\.[A-Za-z_][\w]*)*(?:\(.*|\[.*)|
        [a-z_][a-z0-9_]*(?:\.[A-Za-z_][\w]*)+|
        [A-Za-z_]+(?:\.[A-Za-z_]+)+
    )$"""
)
_IDENTIFIER = lazy(r"(?:[A-Z]{0,5}[a-z]{2,})+|[a-z]{2,}(?:_[a-z]{2,})+|[A-Z]{2,}(?:_[A-Z]{2,})+")
_PHRASE = lazy(r"[A-Za-z0-9!@#$&*^]+(?: [A-Za-z0-9!@#$&*^]+)+")
_NOT_CREDENTIAL = lazy(
    r"""(?x)[A-Z]{2,}(?:_[A-Z0-9]{1,8}){1,3}               # enum constants: RSA_4096, AES_256
    |0x[0-9A-Fa-f]{1,64}                                   # hex literals, key ids: 0x1234ABCD
    |\d{4}-\d\d-\d\d(?:[T\ ][\d:.]+)?Z?(?:[+-]\d\d:?\d\d)?   # timestamps
    |[\w.-]+\.(?:pem|key|crt|cer|der|p12|pfx|jks|txt|json|ya?ml|toml|ini|cfg|conf|env|pub|gpg
        |asc|enc|age|kdbx)                                 # file names
    """
)
_WORDISH = lazy(r"[A-Z][a-z]{2,}|[a-z]{3,}")
_FILLER = ("xxxx", "XXXX", "your", "YOUR", "here", "placeholder", "redacted", "REDACTED", "dummy")


@lru_cache(maxsize=4096)
def parts(name: str) -> tuple[str, ...]:
    return tuple(p.lower() for p in _WORD_SPLIT.findall(name))


def _strong_part(part: str) -> bool:
    if part in _STRONG:
        return True
    return part.endswith(_STRONG_SUFFIXES) and part not in _NOT_SUFFIX


@lru_cache(maxsize=4096)  # names repeat (a log's keys, a config's lines): decide each once
def name_strength(name: str) -> int:
    """2: the name holds a credential; 1: it may (its value must look random); 0: it does not."""
    bare = name.lstrip("-_.$@:")
    words = parts(bare)
    if not words:
        return 0
    squashed = re.sub(r"[^a-z]", "", bare.lower())
    if squashed.endswith(("sessionid", "sessid")) or squashed in ("connectsid", "sid"):
        return 1  # JSESSIONID, PHPSESSID, ASP.NET_SessionId, connect.sid
    if words[-1] in _NOT_SECRET:
        return 0
    if "token" in words and set(words) & _TOKEN_NOT_SECRET:
        return 0
    if any(_strong_part(p) for p in words):
        return 2
    pairs = list(itertools.pairwise(words))
    if any(a in _KEY_PREFIXES and b in ("key", "keys") for a, b in pairs):
        return 2
    if words[-1] in ("key", "keys") and not (set(words[:-1]) & _PLAIN_KEYS):
        return 1 if len(words) > 1 else 0
    if words[-1] in _WEAK_WORDS or squashed in _WEAK_WORDS or squashed.endswith("auth"):
        return 1
    return 0


def secret_name(name: str) -> bool:
    """Whether a key, flag or parameter name holds a credential (``db_password``, ``apiKey``)."""
    return name_strength(name) == 2


def entropy(text: str) -> float:
    counts = Counter(text)
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_CLASS_PATTERNS = (
    ("upper", lazy(r"[A-Z]")),
    ("lower", lazy(r"[a-z]")),
    ("digit", lazy(r"[0-9]")),
    ("symbol", lazy(r"[^A-Za-z0-9]")),
)


def classes(text: str) -> set[str]:
    return {name for name, pattern in _CLASS_PATTERNS if pattern.search(text)}


def wordy(value: str) -> bool:
    """Mostly words (S3ServerAccessLogsPolicy, PytestRemovedIn9Warning): a name, not a key."""
    covered = sum(len(m) for m in _WORDISH.findall(value))
    return covered >= 0.7 * len(value)


def filler(value: str) -> bool:
    """A token-shaped placeholder: ``ghp_xxxx...``, ``sk-your-key-here``, ``AKIA000000...``."""
    if any(f in value for f in _FILLER):
        return True
    tail = value[-16:]
    return len(value) >= 12 and len(set(tail)) <= 3


@lru_cache(maxsize=4096)
def credential_like(value: str, quoted: bool = False, strong: bool = False) -> bool:
    """Whether a value given to a secret-like name looks like a credential, not code or prose."""
    if len(value) < 6 or "[REDACTED:" in value:
        return False
    if PLACEHOLDER.match(value) or REFERENCE.match(value) or filler(value):
        return False
    if value.isdigit() or re.fullmatch(r"\d+(?:\.\d+)*[a-z]*", value):
        return False  # numbers and versions: 1024, 3600, 1.2.3
    found = classes(value)
    has_letter = bool(found & {"upper", "lower"})
    if quoted and " " in value:
        # A quoted phrase ("correct horse battery") given to a password is one, unless prose,
        # code or a format string.
        return strong and bool(_PHRASE.fullmatch(value)) and len(value.split()) <= 5
    if " " in value:
        return False
    if _IDENTIFIER.fullmatch(value) or _NOT_CREDENTIAL.fullmatch(value):
        return False  # words run together (HTTPPasswordMgr), enums, dates, file names
    if (
        len(value) >= 16
        and entropy(value) >= 3.0
        and len(found) >= 2
        and has_letter
        and not wordy(value)
    ):
        return True  # random-looking: keys, tokens, hex, base64, UUIDs
    if len(value) >= 8 and has_letter and "digit" in found:
        # password-like: letters and digits mixed with case or symbols (Harbor1808%maple); for
        # a name that says password or secret outright, letters and digits are enough.
        return len(found) >= 3 or quoted or strong
    return quoted and len(value) >= 8 and len(found) >= 2


@lru_cache(maxsize=4096)
def random_like(value: str) -> bool:
    """A key or token by its look alone: long, mixed, high entropy (not a word, path or hash)."""
    if len(value) < 16 or "[REDACTED:" in value or filler(value):
        return False
    if PLACEHOLDER.match(value) or REFERENCE.match(value):
        return False
    found = classes(value)
    if {"upper", "lower", "digit"} <= found:
        return entropy(value) >= 3.5 and not wordy(value)
    if re.fullmatch(r"[0-9a-f]{32,128}|[0-9A-F]{32,128}", value):
        return entropy(value) >= 3.3  # a hex key (a hash too: only under a name that asks)
    return False


def basic_credential(value: str) -> bool:
    """Whether ``value`` is base64 of ``user:password`` (HTTP Basic, .npmrc ``_auth``, Docker)."""
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    text = decoded.decode("utf-8", "replace")
    return ":" in text and text.isprintable()


@lru_cache(maxsize=4096)
def is_password(name: str) -> bool:
    return any(
        p in ("password", "passwd", "pwd", "pass", "passphrase", "passcode")
        or (p.endswith(("password", "passwd", "pass")) and p not in _NOT_SUFFIX)
        for p in parts(name)
    )
