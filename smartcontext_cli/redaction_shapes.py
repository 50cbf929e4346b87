"""Credentials whose format names them: the shape table ``redaction.py`` runs first.

Each row is (kind, pattern, group to replace: 0 = the whole match, what must precede it). Why
every pattern starts with its literal and the word boundary before it is checked in Python
(``before``): a leading ``\\b`` keeps the regex engine from skipping ahead to the literal,
which made each rule ~100x slower (210 ms against 2 ms per MB). Rows whose pattern cannot
start with one literal carry ``needles``, one of which the text must hold before the pattern
runs at all (derived from the pattern's leading literals where it has them): ``in`` is C-fast,
a regex scan over an alternation or a character class is not.
Every repeat is bounded, so no input makes a pattern backtrack over the whole text. Order
matters where spans overlap: the first rule to claim a span names it ("token=ghp_..." is a
GitHub token). Sources: each provider's documented token format.
"""

from __future__ import annotations

from typing import NamedTuple

from .redaction_values import LazyPattern


class Shape(NamedTuple):
    kind: str
    pattern: LazyPattern  # compiled when a text first holds one of its needles
    group: int
    before: str  # "word", "space", "digits", "hex32", "scheme" or "any"
    needles: tuple[str, ...]  # the text must hold one of these for the pattern to run
    check: str | None  # a post-check by name (see redaction._checked)


_TABLE: list[tuple[str, str, int, str, str | None, str | None]] = [
    (
        "private key",
        r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]{0,20000}?"
        r"-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----",
        0,
        "any",
        "-----BEGIN",
        None,
    ),
    # A key block whose end is missing (a text cut short, or pasted in part; the compiler's
    # windows of huge texts) is a key to the end of the text: so a prefix of a text is never
    # less redacted than the whole would be. Greedy to the end: linear, whatever the input.
    (
        "private key",
        r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----[\s\S]*\Z",
        0,
        "any",
        "-----BEGIN",
        None,
    ),
    # An OpenSSH key's body without its armour ("openssh-key-v1" in base64), and a PEM key
    # block in base64 (kubeconfig client-key-data, Helm values): decoded and checked.
    ("private key", r"b3BlbnNzaC1rZXktdjE[A-Za-z0-9+/=]{20,20000}", 0, "any", None, None),
    ("private key", r"LS0tLS1CRUdJTi[A-Za-z0-9+/=]{40,20000}", 0, "any", None, "pem64"),
    ("aws access key", r"(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b", 0, "word", None, None),
    (
        "github token",
        r"(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b",
        0,
        "word",
        None,
        None,
    ),
    (
        "gitlab token",
        r"gl(?:pat|dt|rt|ptt|ft|cbt|imt|oas|soat|agent|ffct|wt|rtr)-[A-Za-z0-9_-]{20,255}",
        0,
        "word",
        None,
        None,
    ),
    (
        "api key",
        r"sk-(?:ant-|proj-|svcacct-|admin-|None-)?[A-Za-z0-9_-]{20,255}",
        0,
        "word",
        None,
        None,
    ),
    (
        "slack token",
        r"(?:xox[abposre]-|xoxe\.xox[bp]-\d-|xapp-\d-)[A-Za-z0-9-]{10,255}",
        0,
        "word",
        None,
        None,
    ),
    (
        "slack webhook",
        r"https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/-]{20,255}",
        0,
        "word",
        None,
        None,
    ),
    (
        "stripe key",
        r"(?:(?:sk|rk)_(?:live|test)|pk_live)_[A-Za-z0-9]{16,255}\b",
        0,
        "word",
        None,
        None,
    ),
    ("stripe webhook secret", r"whsec_[A-Za-z0-9+/=]{24,255}", 0, "word", None, None),
    ("google api key", r"AIza[0-9A-Za-z_-]{35}\b", 0, "word", None, None),
    ("google client secret", r"GOCSPX-[A-Za-z0-9_-]{24,255}", 0, "word", None, None),
    ("google oauth token", r"(?:ya29\.|1//0)[0-9A-Za-z_-]{20,2048}", 0, "word", None, None),
    (
        "jwt",
        r"eyJ[A-Za-z0-9_-]{8,4096}\.ey[A-Za-z0-9_-]{8,8192}\.[A-Za-z0-9_-]{8,4096}",
        0,
        "word",
        None,
        None,
    ),
    ("npm token", r"npm_[A-Za-z0-9]{36}\b", 0, "word", None, None),
    ("hugging face token", r"(?:hf_|api_org_)[A-Za-z0-9]{30,255}\b", 0, "word", None, None),
    ("sendgrid key", r"SG\.[A-Za-z0-9_-]{16,64}\.[A-Za-z0-9_-]{30,128}", 0, "word", None, None),
    ("mailgun key", r"key-[0-9a-f]{32}\b", 0, "word", None, None),
    # 32 hex, "-", 8 hex, "-", 8 hex: found by its dashes, the 32 hex checked before them
    ("mailgun key", r"-[0-9a-f]{8}-[0-9a-f]{8}\b", 0, "hex32", None, None),
    ("digitalocean token", r"do[por]_v1_[0-9a-f]{64}\b", 0, "word", None, None),
    ("docker token", r"dckr_pat_[A-Za-z0-9_-]{20,255}", 0, "word", None, None),
    ("pypi token", r"pypi-AgE[A-Za-z0-9_-]{50,1024}", 0, "word", None, None),
    ("shopify token", r"shp(?:at|ca|pa|ss)_[0-9a-fA-F]{32}\b", 0, "word", None, None),
    (
        "discord webhook",
        r"https://(?:ptb\.|canary\.)?discord(?:app)?\.com/api/webhooks/\d{1,30}/[A-Za-z0-9_-]{30,255}",
        0,
        "word",
        None,
        None,
    ),
    # user id in base64 . timestamp . HMAC (Discord's documented bot token)
    (
        "discord bot token",
        r"[MNO][A-Za-z0-9_-]{23,27}\.[A-Za-z0-9_-]{6,7}\.[A-Za-z0-9_-]{27,40}\b",
        0,
        "word",
        None,
        "mixed",
    ),
    ("telegram bot token", r":[A-Za-z0-9_-]{35}\b", 0, "digits", None, "mixed"),
    ("age secret key", r"AGE-SECRET-KEY-1[0-9A-Z]{58}\b", 0, "word", None, None),
    ("linear api key", r"lin_(?:api|oauth)_[A-Za-z0-9]{40,64}\b", 0, "word", None, None),
    ("twilio api key", r"SK[0-9a-fA-F]{32}\b", 0, "word", None, None),
    ("square token", r"sq0(?:atp|csp)-[A-Za-z0-9_-]{22,255}", 0, "word", None, None),
    ("atlassian token", r"(?:ATATT3|ATCTT3|ATBB)[A-Za-z0-9_=.-]{28,1024}", 0, "word", None, None),
    ("databricks token", r"dapi[0-9a-f]{32}\b", 0, "word", None, None),
    ("postman key", r"PMAK-[0-9a-f]{24}-[0-9a-f]{34}\b", 0, "word", None, None),
    ("new relic key", r"NR(?:AK|JS|II|AA)-[A-Z0-9]{20,64}\b", 0, "word", None, None),
    (
        "grafana token",
        r"(?:glsa_[A-Za-z0-9]{32}_[0-9a-f]{8}|glc_[A-Za-z0-9+/=_-]{32,1024})",
        0,
        "word",
        None,
        None,
    ),
    ("vault token", r"hv[sbr]\.[A-Za-z0-9_-]{24,512}", 0, "word", None, None),
    (
        "doppler token",
        r"dp\.(?:st|pt|ct|sa|scim|audit)\.(?:[a-z0-9_-]{1,40}\.)?[A-Za-z0-9]{40,128}",
        0,
        "word",
        None,
        None,
    ),
    ("heroku token", r"HRKU-[A-Za-z0-9_-]{20,255}", 0, "word", None, None),
    ("pulumi token", r"pul-[0-9a-f]{40}\b", 0, "word", None, None),
    ("sentry token", r"sntry[us]_[A-Za-z0-9_=+/.-]{40,1024}", 0, "word", None, None),
    ("figma token", r"figd_[A-Za-z0-9_-]{30,255}", 0, "word", None, None),
    ("supabase token", r"sbp_[0-9a-f]{40}\b", 0, "word", None, None),
    ("contentful token", r"CFPAT-[A-Za-z0-9_-]{40,255}", 0, "word", None, None),
    ("notion token", r"(?:secret_[A-Za-z0-9]{43}|ntn_[A-Za-z0-9]{40,64})\b", 0, "word", None, None),
    ("planetscale token", r"pscale_(?:tkn|pw|oauth)_[A-Za-z0-9_.-]{32,255}", 0, "word", None, None),
    (
        "mapbox secret token",
        r"sk\.eyJ[A-Za-z0-9_-]{20,1024}\.[A-Za-z0-9_-]{10,255}",
        0,
        "word",
        None,
        None,
    ),
    (
        "terraform token",
        r"[A-Za-z0-9]{14}\.atlasv1\.[A-Za-z0-9_-]{60,255}",
        0,
        "word",
        ".atlasv1.",
        None,
    ),
    ("facebook token", r"EAA[A-Za-z0-9]{60,512}\b", 0, "word", None, "mixed"),
    ("twitter bearer token", r"A{20,24}[A-Za-z0-9%]{30,255}", 0, "word", "A" * 20, None),
    ("firebase key", r"AAAA[A-Za-z0-9_-]{7}:APA91b[A-Za-z0-9_-]{100,255}", 0, "word", None, None),
    (
        "braintree token",
        r"access_token\$(?:production|sandbox)\$[a-z0-9]{16}\$[a-f0-9]{32}",
        0,
        "word",
        None,
        None,
    ),
    # Azure AD application (client) secrets: three characters, a digit, "Q~", then 31 to 34.
    (
        "azure client secret",
        r"[A-Za-z0-9_~.-]{3}\dQ~[A-Za-z0-9_~.-]{31,34}",
        0,
        "word",
        "Q~",
        None,
    ),
    (
        "azure key",
        r"(?:AccountKey|SharedAccessKey|SharedSecret)=([A-Za-z0-9+/]{20,1024}=*)",
        1,
        "word",
        None,
        None,
    ),
    (
        "bearer token",
        r"(?:[Bb]earer|BEARER)\s{1,8}([A-Za-z0-9._~+/-]{20,8192}=*)",
        1,
        "word",
        None,
        None,
    ),
    # curl -u user:password, --user user:password (a token alone, "-u TOKEN:", is a shape above)
    (
        "password",
        r"(?:-u|--user)[ =]['\"]?[^\s:'\"]{1,128}:([^\s'\"@]{4,255})",
        1,
        "space",
        None,
        "value",
    ),
    # Go's MySQL DSN: user:password@tcp(host:port)/db, user:password@unix(/path)/db
    (
        "url password",
        r"[\w.-]{1,64}:([^\s@/\"']{1,255})@(?:tcp|unix)\(",
        1,
        "any",
        None,
        "value",
    ),
    ("url password", r"://([^\s:/@]{0,128}):([^\s@/]{1,255})@", 2, "scheme", None, "url"),
    # a token alone before the host: https://<token>@host (Sentry DSNs, git remotes)
    ("url token", r"://([A-Za-z0-9_-]{20,255})@", 1, "scheme", None, "random"),
    (
        "azure sas",
        r"SharedAccessSignature[= ]([^\s;\"']{20,4096})",
        1,
        "word",
        None,
        None,
    ),
    (
        "teams webhook",
        r"https://[\w-]{1,64}\.webhook\.office\.com/webhookb2/[\w@/-]{40,512}",
        0,
        "word",
        None,
        None,
    ),
    (
        "putty private key",
        r"Private-Lines: \d{1,3}\r?\n((?:[A-Za-z0-9+/=]{1,64}(?:\r?\n|\Z)){1,200})",
        1,
        "any",
        None,
        None,
    ),
    (
        "artifactory token",
        r"(?:AKCp[A-Za-z0-9]{69}|cmVmdGtuOjAx[A-Za-z0-9]{40,255})",
        0,
        "word",
        None,
        None,
    ),
    ("sonar token", r"sq[pua]_[0-9a-f]{40}\b", 0, "word", None, None),
    ("brevo key", r"xkeysib-[0-9a-f]{64}-[A-Za-z0-9]{16}\b", 0, "word", None, None),
    ("mailchimp key", r"-us\d{1,2}\b", 0, "hex32", None, None),
    ("airtable token", r"pat[A-Za-z0-9]{14}\.[0-9a-f]{64}\b", 0, "word", None, None),
    ("langsmith key", r"lsv2_(?:pt|sk)_[0-9a-f]{32}_[0-9a-f]{10}\b", 0, "word", None, None),
    ("api key", r"(?:pplx|xai|gsk|csk)[-_][A-Za-z0-9]{32,255}\b", 0, "word", None, "mixed"),
]

_META = set("\\[](){}|?*+^$.")


def _leading(pattern: str) -> str:
    """The literal text a pattern starts with ("" if none): ``sk\\.eyJ`` gives ``sk.eyJ``."""
    out = []
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\" and i + 1 < len(pattern) and pattern[i + 1] in _META | {"-", "/"}:
            out.append(pattern[i + 1])
            i += 2
            continue
        if c in _META:
            break
        out.append(c)
        i += 1
    if i < len(pattern) and pattern[i] in "?*{" and out:
        out.pop()  # the last literal is optional or repeated
    return "".join(out)


def needles(pattern: str) -> tuple[str, ...]:
    """What a text must hold for ``pattern`` to match: its leading literal, or one per branch
    of a leading ``(?:a|b|c)`` of literals; empty when the pattern starts with a class."""
    first = _leading(pattern)
    if first:
        return (first,)
    if pattern.startswith("(?:"):
        depth, i = 0, 0
        for i, c in enumerate(pattern):
            depth += c == "(" and pattern[i - 1 : i] != "\\"
            depth -= c == ")" and pattern[i - 1 : i] != "\\"
            if depth == 0:
                break
        branches = pattern[3:i].split("|")
        if all("(" not in b for b in branches):
            lits = tuple(_leading(b) for b in branches)
            if all(lits):
                return lits
    return ()


_NEEDLES = {
    "(?:(?:sk|rk)_(?:live|test)|pk_live)_": ("sk_", "rk_", "pk_live_"),
    "(?:xox[abposre]-|xoxe": ("xox", "xapp-"),
    "(?:gh[pousr]_": ("gh", "github_pat_"),
    "(?:[Bb]earer|BEARER)": ("earer", "EARER"),
    "[\\w.-]{1,64}:([^\\s@/": ("@tcp(", "@unix("),
}


def _needles_for(pattern: str, given: str | None) -> tuple[str, ...]:
    if given is not None:
        return (given,)
    for start, found in _NEEDLES.items():
        if pattern.startswith(start):
            return found
    return needles(pattern)


SHAPES = [
    Shape(kind, LazyPattern(pattern), group, before, _needles_for(pattern, needle), check)
    for kind, pattern, group, before, needle, check in _TABLE
]
