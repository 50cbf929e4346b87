"""Credentials known by where they sit, not by their shape: the context rules of redaction.

A password has no format; it is found by its place. Each rule here looks for one such place
and hands the span to ``claim`` (see ``redaction._spans``), after asking ``redaction_values``
whether the value looks like a credential:

* HTTP: any ``Authorization:`` scheme (``Token``, ``SSWS``, ``Bearer``...), cookies in
  ``Cookie:``/``Set-Cookie:`` headers and ``curl -b``/``--cookie``;
* command lines: ``-p``/``-P``/``-a``/``-w`` passwords of the tools that take them that way
  (mysql, sshpass, docker login, redis-cli, az, twine, sqlcmd, ldap..., zip),
  ``openssl -pass pass:X``;
* code: ``auth=("user", "pw")``, ``BasicAuth("user", "pw")``, ``define('DB_PASSWORD', 'x')``,
  SQL's ``PASSWORD 'x'`` and ``IDENTIFIED BY 'x'``;
* Kubernetes Secret manifests: every value under ``data:`` and ``stringData:``;
* AWS secret access keys beside an access key id or named nearby (a credentials CSV);
* markup: ``<password>X</password>``, ``<add key="ApiKey" value="X"/>``, a Kubernetes or
  Compose env entry ``- name: DB_PASSWORD`` / ``value: X``, a ``.pgpass`` line;
* prose: "the admin password is X", "pw for the wifi: X", "login is ops / X", "my api key
  is X" (a random-looking X).
"""

from __future__ import annotations

from collections.abc import Callable

from .redaction_values import credential_like, is_password, lazy, name_strength, random_like

Claim = Callable[[int, int, str], None]

_AUTH_HEADER = lazy(
    r"""(?i)authorization["']?[ \t]{0,4}[:=][ \t]{0,4}["'`]?"""
    r"""(?:([a-z][a-z0-9-]{1,24})[ \t]{1,4})?([A-Za-z0-9._~+/=:-]{12,8192})"""
)
_COOKIE_HEADER = lazy(r"(?i)(?:set-)?cookie[\"']?[ \t]{0,4}[:=][ \t]{0,4}[\"']?([^\n]{1,8192})")
_CURL_COOKIE = lazy(r"""(?:^|\s)(?:-b|--cookie)[ =]['"]?([^'"\n]{1,8192})""")
_PAIR = lazy(r"([A-Za-z0-9_.!#$%&'*+^`|~-]{1,128})=([^;,\s\"']{1,4096})")
_SESSIONISH = lazy(r"(?i)sess|sid|token|auth|jwt|remember|login|user|csrf|xsrf|key|secret")

# The tools that take a password as -p (or -P, -a, -w) and the flag each uses.
_TOOLS = lazy(  # run on the lower-cased text; the boundary before is checked in Python
    r"(mysql\w*|mariadb[\w-]*|sshpass|docker|podman|nerdctl|buildah|skopeo|twine|az|"
    r"mongo\w*|redis-cli|keydb-cli|sqlcmd|bcp|zip|7z|7za|unrar|rar|ldap\w+|smbclient|"
    r"rabbitmqadmin|influx|sqlplus|htpasswd|openssl|cqlsh)(?![\w-])"
)
_TOOL_NAMES = (
    "mysql", "mariadb", "sshpass", "docker", "podman", "nerdctl", "buildah", "skopeo", "twine",
    "az ", "mongo", "redis-cli", "keydb-cli", "sqlcmd", "bcp", "zip", "7z", "rar", "ldap",
    "smbclient", "rabbitmqadmin", "influx", "sqlplus", "htpasswd", "openssl", "cqlsh",
)  # fmt: skip
_FLAG_FOR = {
    "sqlcmd": "P", "bcp": "P", "zip": "P", "redis-cli": "a", "keydb-cli": "a", "ldap": "w",
    "rabbitmqadmin": "p", "7z": "p", "7za": "p", "unrar": "p", "rar": "p",
}  # fmt: skip
# Starts with its literal: the white space before it is checked in Python (see redaction_shapes)
_FLAG_VALUE = r"""-{flag}(?:[ \t]{{1,4}}|(?=\S))(['"]?)([^\s'"]{{4,255}})\1(?=\s|$|;)"""
_FLAG_PATTERNS = {f: lazy(_FLAG_VALUE.format(flag=f)) for f in "pPaw"}
_PORTS = lazy(r"[\d.:]+(?:/(?:tcp|udp|sctp))?|[\w.-]*:\d+(?::\d+)?")
_OPENSSL_PASS = lazy(r"(?:^|\s)-(?:pass|passin|passout|k|kfile)\s+(?:pass:)?(\S{4,255})")

_AUTH_TUPLE = lazy(
    r"""(?i)(?:auth|login|credentials?|basicauth|digestauth|connect)\s{0,4}[=(]\s{0,4}[(\[]?\s{0,4}"""
    r"""(['"])[^'"\n]{1,128}\1\s{0,4},\s{0,4}(['"])([^'"\n]{4,255})\2"""
)
_TUPLE_WORDS = ("auth", "login", "credential", "connect")
_SQL = lazy(  # run on the lower-cased text
    r"""(?:identified(?:\s{1,4}with\s{1,4}\w{1,64})?\s{1,4}by|password)\s{1,4}(?:=\s{0,4})?(['"])([^'"\n]{1,255})\1"""
)
_K8S_BLOCK = lazy(r"(?m)^([ \t]*)(?:data|stringData):[ \t]*\n")
_K8S_LINE = lazy(r"([ \t]+)[\w.-]{1,253}:[ \t]+[\"']?([^\s\"']{1,65536})[\"']?[ \t]*(?:\n|$)")
_B64ISH = lazy(r"[A-Za-z0-9+/_-]{4,65536}={0,2}")
# Each run of the key's alphabet once (linear), then its length: a pattern of exactly 40 behind
# a look-behind is tried at every position.
_AWS_RUN = lazy(r"[A-Za-z0-9+/=]{40,}")
# Both run on the lower-cased text (so without (?i), which makes a scan several times slower);
# the word boundary before is checked in Python (see redaction_shapes).
_PROSE = lazy(
    r"""(?:password|passphrase|passcode|passwd|pw|pwd|pin|creds?|credentials)\b"""
    r"""[^.\n:=]{0,40}?(?:\b(?:is|was|are|to|as)\s{1,4}|:\s{0,4})['"]?(\S{1,255}?)['"]?(?=[\s.,;)]|$)"""
)
_LOGIN_PAIR = lazy(
    r"""(?:login|logins|creds?|credentials|user/pass(?:word)?|username/password)\b"""
    r"""(?:\s{1,4}(?:is|are|was))?\s{0,4}:?\s{0,4}[\w.@+-]{1,64}\s{0,2}/\s{0,2}(\S{4,255})"""
)


def http(text: str, low: str, claim: Claim) -> None:
    if "authorization" in low:
        for match in _AUTH_HEADER.finditer(text):
            if not _starts_word(low, match.start()):
                continue  # AggregationAuthorization: a name that ends in the word
            value = match.group(2).rstrip("'\"`,")
            if credential_like(value, strong=True) or random_like(value):
                claim(match.start(2), match.start(2) + len(value), "authorization")
    if "cookie" in low:
        for match in _COOKIE_HEADER.finditer(text):
            _cookies(text, match.start(1), match.end(1), claim)
    if "-b" in text or "--cookie" in text:
        for match in _CURL_COOKIE.finditer(text):
            _cookies(text, match.start(1), match.end(1), claim)


def _cookies(text: str, start: int, end: int, claim: Claim) -> None:
    for pair in _PAIR.finditer(text, start, end):
        name, value = pair.group(1), pair.group(2)
        if random_like(value) or (_SESSIONISH.search(name) and credential_like(value, strong=True)):
            claim(*pair.span(2), "session")


_PIPED = lazy(
    r"""(?:echo|printf)[ \t]{1,4}(?:-n[ \t]{1,4})?(['"]?)([^\s'"|]{4,255})\1[ \t]{0,4}\|"""
    r"""[^\n|]{0,120}?"""
    r"""(?:sudo[ \t]{1,4}-S|--password-stdin|passwd[ \t]{1,4}--stdin|chpasswd|-password-stdin)"""
)
_HTPASSWD = lazy(
    r"htpasswd[ \t]+(?:-\w+[ \t]+)*-\w*b\w*[ \t]+(?:-\w+[ \t]+)*\S+[ \t]+\S+[ \t]+(\S+)"
)
_SECURE_STRING = lazy(
    r"""convertto-securestring[ \t]{1,4}(?:-string[ \t]{1,4})?(['"])([^'"\n]{1,255})\1"""
)
_NET_USE = lazy(r"net[ \t]+use\b[^\n]{0,200}?/user:\S+[ \t]+([^\s/]\S{0,254})")


def command_lines(text: str, low: str, claim: Claim) -> None:
    if "|" in text and ("stdin" in low or "sudo" in low or "chpasswd" in low):
        for match in _PIPED.finditer(text):  # echo X | docker login --password-stdin
            if credential_like(match.group(2), strong=True):
                claim(*match.span(2), "password")
    for pattern, needle in ((_SECURE_STRING, "securestring"), (_NET_USE, "net use")):
        if needle in low:
            for match in pattern.finditer(low):
                start, end = match.span(match.lastindex or 1)
                if credential_like(text[start:end], strong=True):
                    claim(start, end, "password")
    if not any(tool in low for tool in _TOOL_NAMES):
        return
    if "htpasswd" in low:
        for match in _HTPASSWD.finditer(text):
            if credential_like(match.group(1), strong=True):
                claim(*match.span(1), "password")
    tools = {m.group(1) for m in _TOOLS.finditer(low) if _starts_word(low, m.start())}
    if not tools:
        return
    flags = set()
    for tool in tools:
        key = "ldap" if tool.startswith("ldap") else tool
        flags.add(_FLAG_FOR.get(key, "p"))
    for flag in flags:
        for match in _FLAG_PATTERNS[flag].finditer(text):
            if match.start() and not text[match.start() - 1].isspace():
                continue
            value = match.group(2)
            if _PORTS.fullmatch(value) or value.startswith(("-", "/", "~", "./")):
                continue
            if credential_like(value, quoted=bool(match.group(1)), strong=True):
                claim(*match.span(2), "password")
    if "openssl" in tools:
        for match in _OPENSSL_PASS.finditer(text):
            value = match.group(1)
            if not value.startswith(("env:", "file:", "fd:", "stdin")) and credential_like(
                value, strong=True
            ):
                claim(*match.span(1), "password")


def code(text: str, low: str, claim: Claim) -> None:
    if "," in text and any(w in low for w in _TUPLE_WORDS):
        for match in _AUTH_TUPLE.finditer(text):
            if credential_like(match.group(3), quoted=True, strong=True):
                claim(*match.span(3), "password")
    if ("password" in low or "identified" in low) and ("'" in text or '"' in text):
        for match in _SQL.finditer(low):
            if _starts_word(low, match.start()):
                start, end = match.span(2)
                if credential_like(text[start:end], quoted=True, strong=True):
                    claim(start, end, "password")


def _starts_word(text: str, at: int) -> bool:
    return at == 0 or not (text[at - 1].isalnum() or text[at - 1] == "_")


def kubernetes(text: str, claim: Claim) -> None:
    """Every value under ``data:``/``stringData:`` of a ``kind: Secret`` manifest."""
    if "kind: Secret" not in text and ".dockerconfigjson" not in text:
        return
    for block in _K8S_BLOCK.finditer(text):
        indent = len(block.group(1).expandtabs())
        at = block.end()
        while True:
            line = _K8S_LINE.match(text, at)
            if line is None or len(line.group(1).expandtabs()) <= indent:
                break
            value = line.group(2)
            if _B64ISH.fullmatch(value) and not value.startswith("$"):
                claim(*line.span(2), "secret")
            at = line.end()


_ORACLE = lazy(
    r"""(?:sqlplus|expdp|impdp|rman|sqlldr|sqlcl|jdbc:oracle:thin:)[ \t]{0,4}(?:-\w+[ \t]+)*"""
    r"""["']?[\w$#.]{1,64}/([^\s@/"']{1,128})@"""
)
_REDIS_AUTH = lazy(r"(?m)^[ \t]*(?:[\w.:-]{0,64}>[ \t]*)?AUTH[ \t]+(?:\S+[ \t]+)?(\S+)[ \t]*$")
_TWILIO_SID = lazy(r"\bAC[0-9a-f]{32}\b")
_HEX32 = lazy(r"(?<![0-9A-Za-z])[0-9a-f]{32}(?![0-9A-Za-z])")


def databases(text: str, low: str, claim: Claim) -> None:
    """Oracle's user/password@db, a Redis AUTH command, a Twilio auth token beside its SID."""
    if "/" in text and ("sqlplus" in low or "oracle" in low or "dp " in low or "rman" in low):
        for match in _ORACLE.finditer(low):
            start, end = match.span(1)
            if credential_like(text[start:end], strong=True):
                claim(start, end, "password")
    if "AUTH" in text:
        for match in _REDIS_AUTH.finditer(text):
            if credential_like(match.group(1), strong=True):
                claim(*match.span(1), "password")
    if "AC" in text and _TWILIO_SID.search(text):
        for match in _HEX32.finditer(text):  # the SID's own hex follows "AC": not matched
            claim(*match.span(), "twilio auth token")


def aws_secret(text: str, low: str, claim: Claim) -> None:
    """A 40-character AWS secret access key beside its key id, or named nearby."""
    near = "AKIA" in text or "ASIA" in text or ("secret" in low and "access" in low)
    if not (near or ("aws" in low and "secret" in low)):
        return
    for match in _AWS_RUN.finditer(text):
        value = match.group()
        if len(value) != 40 or "=" in value:
            continue
        if random_like(value) and not value.startswith("AKIA"):
            claim(*match.span(), "aws secret key")


_TAG = lazy(r"<([A-Za-z_][\w.:-]{0,63})(?:\s[^<>\n]{0,256})?>([^<\n]{1,1024})</\1>")
_ATTRS = lazy(
    r"""(?:key|name)\s{0,4}=\s{0,4}(["'])([^"'\n]{1,128})\1\s{1,8}value\s{0,4}=\s{0,4}"""
    r"""(["'])([^"'\n]{1,1024})\3"""
)
_ENV_ENTRY = lazy(
    r"""name:[ \t]{0,8}(["']?)([A-Za-z_][\w.-]{0,127})\1[ \t]*\n[ \t-]{0,32}value:[ \t]{0,8}"""
    r"""(["']?)([^"'\n]{1,1024})\3[ \t]*(?:\n|$)"""
)
_PGPASS = lazy(r"[\w.*-]{1,253}:(?:\d{1,5}|\*):[\w*.-]{1,63}:[\w*.@-]{1,63}:(\S{1,255})")


def markup(text: str, claim: Claim) -> None:
    """Values named by markup around them rather than by a ``key=value``."""
    if "</" in text:
        for match in _TAG.finditer(text):
            _named(match.group(1), match.group(2).strip(), match.start(2), text, claim)
    if "value" in text:
        for match in _ATTRS.finditer(text):
            _named(match.group(2), match.group(4), match.start(4), text, claim)
        for match in _ENV_ENTRY.finditer(text):
            value = match.group(4).rstrip()
            _named(match.group(2), value, match.start(4), text, claim)
    if text.count(":") >= 4:  # line by line: a (?m)^ pattern is tried at every position
        at = 0
        for line in text.split("\n"):
            if line.count(":") >= 4:
                lead = len(line) - len(line.lstrip())
                entry = _PGPASS.fullmatch(line.strip())
                if entry and credential_like(entry.group(1), strong=True):
                    claim(at + lead + entry.start(1), at + lead + entry.end(1), "password")
            at += len(line) + 1


def _named(name: str, value: str, start: int, text: str, claim: Claim) -> None:
    power = name_strength(name)
    strong = is_password(name) or "secret" in name.lower()
    if (power == 2 and credential_like(value, strong=strong)) or (power and random_like(value)):
        at = text.find(value, start)
        claim(at, at + len(value), "password" if is_password(name) else "secret")


_HASH_LABELS = ("sha256:", "sha1:", "md5:", "sha512:", "sha384:")
_PROSE_PLAIN = lazy(
    r"""(?:password|passphrase)[ \t]{1,4}['"]?([^\s'"]{8,255})['"]?(?=[\s.,;)]|$)"""
)
_PROSE_KEY = lazy(
    r"""(?:key|token|secret)\b[^.\n:=]{0,24}?(?:\b(?:is|was)\s{1,4}|:\s{0,4})['"`]?"""
    r"""([A-Za-z0-9_\-+/=.~]{16,1024}?)['"`]?(?=[\s.,;)]|$)"""
)


def prose(text: str, low: str, claim: Claim) -> None:
    if "password" in low or "passphrase" in low:
        for match in _PROSE_PLAIN.finditer(low):  # "use password X to log in"
            if _starts_word(low, match.start()):
                start, end = match.span(1)
                if credential_like(text[start:end]):
                    claim(start, end, "password")
    if any(w in low for w in ("pass", "pw", "pin", "cred")):
        for match in _PROSE.finditer(low):
            if _starts_word(low, match.start()):
                start, end = match.span(1)
                if credential_like(text[start:end], strong=True):
                    claim(start, end, "password")
    if any(w in low for w in ("key", "token", "secret")):
        for match in _PROSE_KEY.finditer(low):
            at = match.start()
            if at and low[at - 1] not in " \t\n(":
                continue  # NextToken, PublicKey, arn:...:secret:x: names, not prose
            if "fingerprint" in match.group() or low[: match.start(1)].endswith(_HASH_LABELS):
                continue  # a key's fingerprint (SHA256:...) is public
            start, end = match.span(1)
            if random_like(text[start:end]):
                claim(start, end, "secret")
    if "/" in text and any(w in low for w in ("login", "cred", "user")):
        for match in _LOGIN_PAIR.finditer(low):
            if _starts_word(low, match.start()):
                start = match.start(1)
                value = text[start : match.end(1)].rstrip(".,;")
                if credential_like(value, strong=True):
                    claim(start, start + len(value), "password")
