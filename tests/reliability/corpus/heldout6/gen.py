#!/usr/bin/env python3
"""Generate the heldout6 secrets corpus (secrets6.jsonl) and its clean lines (clean6.jsonl).

Deterministic: every random value comes from one seeded ``random.Random``. No value is a real
credential; provider formats (prefix, length, alphabet, checksum) are reproduced from public
documentation of the token formats, the random parts are PRNG output.

Run:  python3 tests/reliability/corpus/heldout6/gen.py
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import string
import struct
import sys
import uuid
import zlib
from pathlib import Path
from random import Random
from typing import Callable
from urllib.parse import quote

SEED = 6_2026_1202
R = Random(SEED)
SPLIT = "heldout6"
HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent

UP = string.ascii_uppercase
LO = string.ascii_lowercase
DIG = string.digits
ALNUM = UP + LO + DIG
HEX = "0123456789abcdef"
HEXUP = HEX.upper()
B64 = ALNUM + "+/"
B64URL = ALNUM + "-_"
B32 = UP + "234567"
B62 = DIG + UP + LO


# --------------------------------------------------------------------------- primitives
def rs(n: int, alpha: str = ALNUM) -> str:
    return "".join(R.choice(alpha) for _ in range(n))


def rb(n: int) -> bytes:
    return bytes(R.getrandbits(8) for _ in range(n))


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


def b64u(b: bytes) -> str:
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def ruuid() -> str:
    return str(uuid.UUID(int=R.getrandbits(128), version=4))


def digits(lo: int, hi: int) -> str:
    n = R.randint(lo, hi)
    return str(R.randint(1, 9)) + rs(n - 1, DIG)


def base62(n: int, width: int) -> str:
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = B62[r] + out
    return out.rjust(width, "0")


def crc_token(prefix: str, body_len: int = 30) -> str:
    """GitHub / npm style: random base62 body + 6-char base62 CRC32 of the body."""
    body = rs(body_len)
    return prefix + body + base62(zlib.crc32(body.encode()), 6)


def wrap(s: str, n: int = 64) -> list[str]:
    return [s[i : i + n] for i in range(0, len(s), n)]


def pick(seq):  # noqa: ANN001, ANN201
    return R.choice(seq)


def shq(v: str) -> str:
    return v if re.fullmatch(r"[A-Za-z0-9_.:/@+=,-]+", v) else "'" + v + "'"


def when() -> str:
    return (
        f"2026-{R.randint(1, 11):02d}-{R.randint(1, 28):02d}T{R.randint(0, 23):02d}:"
        f"{R.randint(0, 59):02d}:{R.randint(0, 59):02d}.{R.randint(0, 999):03d}Z"
    )


def strong_password(n: int | None = None) -> str:
    n = n or R.randint(14, 26)
    alpha = ALNUM + "!#%^*_-+=.,~@"
    while True:
        p = rs(n, alpha)
        if any(c in DIG for c in p) and any(c in "!#%^*_-+=.,~@" for c in p):
            return p


WORDS = (
    "amber anchor apple arrow atlas autumn badger banjo basil beacon birch blizzard bramble breeze "
    "cactus canyon carbon cedar cobalt comet copper coral cricket crimson dahlia delta desert ember "
    "falcon fennel fjord forest gadget galaxy garnet glacier granite harbor hazel heron indigo island "
    "jasper juniper kettle kiwi lagoon lantern lemon lilac lotus maple marble meadow mango nectar "
    "nimbus nutmeg oasis olive onyx orbit otter papaya pebble pepper pixel plum quartz quill raven "
    "rocket saffron sierra spruce starling tango thistle tundra umber velvet violet walnut willow "
    "yonder zephyr"
).split()


def human_password() -> str:
    style = R.randint(0, 4)
    w1, w2 = pick(WORDS), pick(WORDS)
    if style == 0:
        return f"{w1.title()}{R.randint(1990, 2026)}{pick('!#$*?')}"
    if style == 1:
        return f"{w1}-{w2.title()}-{R.randint(10, 99)}"
    if style == 2:
        return f"{w1.title()}{pick('@#&_')}{w2.title()}{R.randint(1, 999)}"
    if style == 3:
        return f"{pick(['Summer', 'Winter', 'Spring', 'Autumn'])}{pick(['', '_', '.'])}{R.randint(2019, 2026)}{pick('!?#')}"
    return f"{w1[0].upper()}{w1[1:].replace('a', '4').replace('e', '3').replace('o', '0')}{pick('!%*')}{w2}"


# ------------------------------------------------------------------ structured value builders
def jwt(payload: dict, alg: str = "HS256") -> str:
    header = {"alg": alg, "typ": "JWT"}
    h = b64u(json.dumps(header, separators=(",", ":")).encode())
    p = b64u(json.dumps(payload, separators=(",", ":")).encode())
    if alg == "HS256":
        sig = hmac.new(rb(32), f"{h}.{p}".encode(), hashlib.sha256).digest()
    else:
        sig = rb(256)
    return f"{h}.{p}.{b64u(sig)}"


def jwt_claims() -> dict:
    iat = R.randint(1_760_000_000, 1_790_000_000)
    c: dict = {"sub": pick([ruuid(), f"user_{rs(10, LO + DIG)}", str(R.randint(10**5, 10**9))]), "iat": iat}
    if R.random() < 0.8:
        c["exp"] = iat + pick([900, 3600, 86400, 604800])
    if R.random() < 0.6:
        c["iss"] = pick(["https://auth.acme-internal.dev/", "https://login.northwind.io", "api-gateway", "https://id.example-corp.net/oauth2/default"])
    if R.random() < 0.5:
        c["scope"] = pick(["read:orders write:orders", "openid profile email", "admin", "repo:read"])
    if R.random() < 0.4:
        c["email"] = f"{pick(WORDS)}.{pick(WORDS)}@{pick(['acme.io', 'northwind.dev', 'contoso.com'])}"
    return c


def pem_body_rsa() -> str:
    der = b"\x30\x82\x04\xa4\x02\x01\x00\x02\x82\x01\x01\x00" + rb(1180)
    return "\n".join(wrap(b64(der)))


def pem_body_pkcs8() -> str:
    der = b"\x30\x82\x04\xbe\x02\x01\x00\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x04\x82\x04\xa8" + rb(1192)
    return "\n".join(wrap(b64(der)))


def pem_body_ec() -> str:
    der = (
        b"\x30\x77\x02\x01\x01\x04\x20" + rb(32)
        + b"\xa0\x0a\x06\x08\x2a\x86\x48\xce\x3d\x03\x01\x07\xa1\x44\x03\x42\x00\x04" + rb(64)
    )
    return "\n".join(wrap(b64(der)))


def _sshstr(b: bytes) -> bytes:
    return struct.pack(">I", len(b)) + b


def openssh_body(comment: str) -> str:
    pub = rb(32)
    pubblob = _sshstr(b"ssh-ed25519") + _sshstr(pub)
    check = rb(4)
    priv = check + check + _sshstr(b"ssh-ed25519") + _sshstr(pub) + _sshstr(rb(32) + pub) + _sshstr(comment.encode())
    pad = 1
    while len(priv) % 8:
        priv += bytes([pad])
        pad += 1
    blob = (
        b"openssh-key-v1\x00" + _sshstr(b"none") + _sshstr(b"none") + _sshstr(b"")
        + struct.pack(">I", 1) + _sshstr(pubblob) + _sshstr(priv)
    )
    return "\n".join(wrap(b64(blob), 70))


def crc24(data: bytes) -> int:
    crc = 0xB704CE
    for byte in data:
        crc ^= byte << 16
        for _ in range(8):
            crc <<= 1
            if crc & 0x1000000:
                crc ^= 0x1864CFB
    return crc & 0xFFFFFF


def pgp_body() -> str:
    data = b"\x95\x03\xc6\x04" + struct.pack(">I", R.randint(1_600_000_000, 1_780_000_000)) + b"\x01\x0c\x00" + rb(900)
    ck = base64.b64encode(crc24(data).to_bytes(3, "big")).decode()
    return "\n".join(wrap(b64(data))) + "\n=" + ck


BECH = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def bech32_encode(hrp: str, data: bytes) -> str:
    def polymod(values: list[int]) -> int:
        gen = [0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3]
        chk = 1
        for v in values:
            b = chk >> 25
            chk = (chk & 0x1FFFFFF) << 5 ^ v
            for i in range(5):
                chk ^= gen[i] if ((b >> i) & 1) else 0
        return chk

    acc, bits, out = 0, 0, []
    for byte in data:
        acc = (acc << 8) | byte
        bits += 8
        while bits >= 5:
            bits -= 5
            out.append((acc >> bits) & 31)
    if bits:
        out.append((acc << (5 - bits)) & 31)
    hx = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    pm = polymod(hx + out + [0] * 6) ^ 1
    chk = [(pm >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(BECH[d] for d in out + chk)


def pypi_token() -> str:
    ident = ruuid().encode()
    caveat = json.dumps(pick([{"version": 1, "permissions": "user"}, {"version": 1, "permissions": {"projects": [f"{pick(WORDS)}-{pick(WORDS)}"]}}]), separators=(",", ":")).encode()
    blob = (
        b"\x02" + b"\x01\x08pypi.org" + b"\x02" + bytes([len(ident)]) + ident + b"\x00"
        + b"\x02" + bytes([len(caveat)]) + caveat + b"\x00" + b"\x00" + b"\x06\x20" + rb(32)
    )
    return "pypi-" + b64u(blob)


def wg_private() -> str:
    k = bytearray(rb(32))
    k[0] &= 248
    k[31] = (k[31] & 127) | 64
    return b64(bytes(k))


# --------------------------------------------------------------------------- contexts
OTHER_ENV = [
    "NODE_ENV=production", "PORT=8080", "LOG_LEVEL=info", "APP_NAME=billing-api", "DEBUG=false",
    "TZ=UTC", "REGION=eu-west-1", "WORKERS=4", "FEATURE_NEW_CHECKOUT=true", "CACHE_TTL=300",
]
HOSTS = ["api.internal.acme.io", "staging.northwind.dev", "ci-runner-07", "prod-eu-2", "dev-laptop"]


def _others(n: int) -> list[str]:
    return R.sample(OTHER_ENV, n)


def c_export(k, v, val):
    return pick([f"export {v}={shq(val)}", f"$ export {v}={shq(val)}\n$ {k.get('cmd', 'make deploy')}", f"export {v}={shq(val)}  # {pick(['temp', 'from 1password', 'rotated monthly', 'do not commit'])}"])


def c_dotenv(k, v, val):
    lines = _others(R.randint(1, 3)) + [f"{v}={val}" if R.random() < 0.6 else f'{v}="{val}"']
    R.shuffle(lines)
    return "\n".join(([pick(["# .env", "# .env.production", "# local overrides"])] if R.random() < 0.5 else []) + lines)


def c_yaml(k, v, val):
    key = v.lower()
    sect = k.get("section", "credentials")
    return pick([
        f"{sect}:\n  {key}: {val}\n  timeout: 30",
        f"{sect}:\n  enabled: true\n  {key}: \"{val}\"",
        f"# config/{pick(['prod', 'settings', 'app'])}.yml\n{sect}:\n  {key}: '{val}'",
    ])


def c_k8s(k, v, val):
    return (
        f"      containers:\n        - name: {pick(['api', 'worker', 'web', 'cron'])}\n          env:\n"
        f"            - name: {v}\n              value: \"{val}\""
    )


def c_compose(k, v, val):
    return pick([
        f"services:\n  app:\n    image: ghcr.io/acme/app:1.{R.randint(0, 30)}.{R.randint(0, 9)}\n    environment:\n      - {v}={val}",
        f"    environment:\n      {v}: {val}\n      {pick(OTHER_ENV).replace('=', ': ')}",
    ])


def c_json(k, v, val):
    key = pick([v.lower(), camel(v)])
    return pick([
        f'{{"{key}": "{val}", "timeout": {R.randint(5, 60)}}}',
        f'{{\n  "{k.get("section", "auth")}": {{\n    "{key}": "{val}"\n  }}\n}}',
        f'"{key}": "{val}",',
    ])


def c_toml(k, v, val):
    return f"[{k.get('section', 'auth')}]\n{v.lower()} = \"{val}\"" + pick(["", "\nretries = 3"])


def c_tf(k, v, val):
    return pick([
        f'variable "{v.lower()}" {{\n  type      = string\n  default   = "{val}"\n  sensitive = true\n}}',
        f'{v.lower()} = "{val}"',
        f'resource "kubernetes_secret" "app" {{\n  data = {{\n    {v.lower()} = "{val}"\n  }}\n}}',
    ])


def camel(v: str) -> str:
    p = v.lower().split("_")
    return p[0] + "".join(x.title() for x in p[1:])


def c_py(k, v, val):
    return pick([
        f'{v} = "{val}"',
        f"{k.get('pyvar', 'dsn')} = \"{val}\"" if k.get("url") else f"client = {k.get('pycls', 'Client')}({k.get('pyarg', 'api_key')}=\"{val}\")",
        f'os.environ.setdefault("{v}", "{val}")',
        f"settings = {{\n    \"{v.lower()}\": '{val}',\n    \"debug\": False,\n}}",
    ])


def c_js(k, v, val):
    return pick([
        f"const {camel(v)} = '{val}';",
        f"const url = new URL(\"{val}\");" if k.get("url") else f"const client = new {k.get('jscls', 'Client')}({{ {k.get('jsarg', 'apiKey')}: \"{val}\" }});",
        f"process.env.{v} ??= \"{val}\";",
        f"export default {{\n  {camel(v)}: '{val}',\n}};",
    ])


def c_go(k, v, val):
    return pick([f'const {camel(v)} = "{val}"', f'os.Setenv("{v}", "{val}")', f'cfg := Config{{DSN: "{val}", MaxConns: 10}}' if k.get("url") else f'cfg := Config{{Token: "{val}", Timeout: 10 * time.Second}}'])


def c_rb(k, v, val):
    return pick([f"ENV['{v}'] ||= '{val}'", f"config.{v.lower()} = \"{val}\""])


def c_java(k, v, val):
    return pick([f'private static final String {v} = "{val}";', f'props.setProperty("{v.lower().replace("_", ".")}", "{val}");'])


def c_cs(k, v, val):
    return pick([f'var {camel(v)} = "{val}";', f'Environment.SetEnvironmentVariable("{v}", "{val}");'])


def c_rs(k, v, val):
    return f'let {v.lower()} = "{val}";'


def c_php(k, v, val):
    return pick([f"'{v.lower()}' => '{val}',", f"define('{v}', '{val}');", f"putenv('{v}={val}');"])


def c_log(k, v, val):
    t = when()
    return pick([
        f"{t} DEBUG [config] loaded settings {{'{v.lower()}': '{val}', 'debug': True}}",
        f'time="{t}" level=debug msg="starting with env" {v}={val}',
        f"[{t}] INFO  boot: {v}={val} host={pick(HOSTS)}",
        f"{t} WARN  connection lost, reconnecting to {val} (attempt {R.randint(2, 5)})" if k.get("url") else f"{t} WARN  retrying request to https://{k.get('host', 'api.example.net')}/ with token {val} (attempt {R.randint(2, 5)})",
    ])


def c_trace(k, v, val):
    mod = pick(["clients", "integrations", "sync", "notify"])
    return (
        "Traceback (most recent call last):\n"
        f'  File "/srv/app/{mod}/{pick(WORDS)}.py", line {R.randint(20, 400)}, in {pick(["connect", "send", "refresh", "fetch_page"])}\n'
        "    resp.raise_for_status()\n"
        f"requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: https://{k.get('host', 'api.example.net')}/v1/{pick(['me', 'events', 'items'])}\n"
        f"\n{v.lower():<12} = '{val}'\n{'retries':<12} = {R.randint(0, 3)}"
    )


def c_chat(k, v, val):
    label = k.get("label", "key")
    return pick([
        f"hey, can you see why this fails? I set {v}={val} and still get 401",
        f"my {label} is {val}, is that the right format or do I need the other one?",
        f"ok try again with {val} - that one has write access",
        f"for the record the {label} we used in staging was {val}, I'll rotate it tomorrow",
        f"Here's what I have in my env:\n{v}={val}\nStill failing though.",
    ])


def c_md(k, v, val):
    return pick([
        f"To reproduce:\n\n```bash\nexport {v}={shq(val)}\n{k.get('cmd', 'npm run sync')}\n```",
        f"| name | value | env |\n|------|-------|-----|\n| {v} | `{val}` | prod |",
        f"- **{k.get('label', 'Key')}**: `{val}`",
    ])


def c_csv(k, v, val):
    cell = f'"{val}"' if "," in val else val
    return f"service,name,value,owner\n{k.get('svc', 'app')},{v},{cell},{pick(WORDS)}@acme.io"


def c_winset(k, v, val):
    return pick([f"set {v}={val}", f"C:\\src\\app> set {v}={val}", f'setx {v} "{val}"'])


def c_ps(k, v, val):
    return pick([f'$env:{v} = "{val}"', f"PS C:\\Users\\dev> $env:{v}='{val}'", f'[Environment]::SetEnvironmentVariable("{v}", "{val}", "User")'])


def c_docker(k, v, val):
    return pick([f"ENV {v}={val}", f"ARG {v}={val}", f"docker run --rm -e {v}={shq(val)} ghcr.io/acme/tool:latest", f"RUN --mount=type=cache,target=/root/.cache {v}={shq(val)} ./build.sh"])


def c_gha(k, v, val):
    return f"jobs:\n  deploy:\n    runs-on: ubuntu-latest\n    env:\n      {v}: {val}\n    steps:\n      - uses: actions/checkout@v4"


def c_ini(k, v, val):
    return f"[{k.get('section', 'default')}]\n{v.lower()} = {val}"


def c_systemd(k, v, val):
    return f"[Service]\nEnvironment=\"{v}={val}\"\nExecStart=/usr/local/bin/{k.get('svc', 'app')}"


def c_curl(k, v, val):
    h = k["header"].format(val)
    return pick([
        f"curl -sS -H \"{h}\" https://{k['host']}/{k.get('path', 'v1/me')}",
        f"curl -X POST https://{k['host']}/{k.get('path', 'v1/me')} \\\n  -H \"{h}\" \\\n  -H 'Content-Type: application/json' \\\n  -d '{{\"limit\": 10}}'",
    ])


def c_http(k, v, val):
    h = k["header"].format(val)
    return (
        f"{pick(['GET', 'POST'])} /{k.get('path', 'v1/me')} HTTP/1.1\nHost: {k['host']}\n{h}\n"
        f"User-Agent: {pick(['python-requests/2.32.3', 'curl/8.5.0', 'axios/1.7.2'])}\nAccept: */*"
    )


GENERIC = {
    "export": c_export, "dotenv": c_dotenv, "yaml": c_yaml, "k8s": c_k8s, "compose": c_compose,
    "json": c_json, "toml": c_toml, "tf": c_tf, "py": c_py, "js": c_js, "go": c_go, "rb": c_rb,
    "java": c_java, "cs": c_cs, "rs": c_rs, "php": c_php, "log": c_log, "trace": c_trace,
    "chat": c_chat, "md": c_md, "csv": c_csv, "winset": c_winset, "ps": c_ps, "docker": c_docker,
    "gha": c_gha, "ini": c_ini, "systemd": c_systemd,
}
HTTPCTX = {"curl": c_curl, "http": c_http}


# --------------------------------------------------------------------------- kinds
KINDS: list[dict] = []


def K(name: str, gen: Callable, vars: list[str], n: int = 5, custom: list | None = None, **meta) -> None:  # noqa: A002
    KINDS.append({"name": name, "gen": gen, "vars": vars, "n": n, "custom": custom or [], **meta})


BEARER = "Authorization: Bearer {}"

# ---- cloud: AWS
K("aws access key id", lambda: pick(["AKIA", "AKIA", "ASIA"]) + rs(16, B32),
  ["AWS_ACCESS_KEY_ID"], n=6, label="AWS access key", svc="aws",
  custom=[
      lambda k, v, val, s: f"[default]\naws_access_key_id = {val}\nregion = eu-west-1",
      lambda k, v, val, s: f"aws configure set aws_access_key_id {val} --profile {pick(['prod', 'ci', 'sandbox'])}",
      lambda k, v, val, s: f"Access key ID,Secret access key\n{val},{rs(40, B64)}",
  ])
K("aws secret access key", lambda: rs(40, ALNUM + "+/"), ["AWS_SECRET_ACCESS_KEY"], n=7, label="AWS secret key", svc="aws",
  custom=[
      lambda k, v, val, s: f"[prod]\naws_access_key_id = AKIA{rs(16, B32)}\naws_secret_access_key = {val}",
      lambda k, v, val, s: f'provider "aws" {{\n  region     = "us-east-1"\n  access_key = "AKIA{rs(16, B32)}"\n  secret_key = "{val}"\n}}',
      lambda k, v, val, s: f"boto3.client('s3', aws_access_key_id='AKIA{rs(16, B32)}', aws_secret_access_key='{val}')",
      lambda k, v, val, s: f"aws_secret_access_key: {val}",
  ])
K("aws session token", lambda: "IQoJb3JpZ2luX2Vj" + rs(R.randint(300, 420), B64) + pick(["", "=", "=="]), ["AWS_SESSION_TOKEN"], n=4,
  custom=[lambda k, v, val, s: f"[assumed]\naws_access_key_id = ASIA{rs(16, B32)}\naws_secret_access_key = {rs(40, B64)}\naws_session_token = {val}"])

# ---- cloud: GCP
def _gcp_sa():
    body = pem_body_pkcs8()
    return body.replace("\n", "\\n"), body


def _gcp_sa_json(k, v, val, s):
    proj = f"{pick(WORDS)}-{pick(WORDS)}-{R.randint(100000, 999999)}"
    name = pick(["deployer", "ci-runner", "bq-loader", "terraform"])
    txt = (
        "{\n  \"type\": \"service_account\",\n"
        f"  \"project_id\": \"{proj}\",\n  \"private_key_id\": \"{rs(40, HEX)}\",\n"
        f"  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\n{s}\\n-----END PRIVATE KEY-----\\n\",\n"
        f"  \"client_email\": \"{name}@{proj}.iam.gserviceaccount.com\",\n  \"client_id\": \"{digits(21, 21)}\",\n"
        "  \"auth_uri\": \"https://accounts.google.com/o/oauth2/auth\",\n  \"token_uri\": \"https://oauth2.googleapis.com/token\"\n}"
    )
    return txt


def _gcp_sa_inline(k, v, val, s):
    proj = f"{pick(WORDS)}-{R.randint(1000, 9999)}"
    return (f"GOOGLE_CREDENTIALS='{{\"type\":\"service_account\",\"project_id\":\"{proj}\",\"private_key\":"
            f"\"-----BEGIN PRIVATE KEY-----\\n{s}\\n-----END PRIVATE KEY-----\\n\",\"client_email\":\"sa@{proj}.iam.gserviceaccount.com\"}}'")


K("gcp service account private key", _gcp_sa, ["GOOGLE_CREDENTIALS"], n=5, ctx=[],
  custom=[_gcp_sa_json, _gcp_sa_inline, _gcp_sa_json, _gcp_sa_json, _gcp_sa_inline], raw=True)
K("google api key", lambda: "AIza" + rs(35, B64URL), ["GOOGLE_API_KEY", "GEMINI_API_KEY", "MAPS_API_KEY", "YOUTUBE_API_KEY"], n=7,
  label="Google API key", host="generativelanguage.googleapis.com", header="x-goog-api-key: {}", path="v1beta/models",
  custom=[lambda k, v, val, s: f"curl \"https://maps.googleapis.com/maps/api/geocode/json?address=Berlin&key={val}\"",
          lambda k, v, val, s: f'<script src="https://maps.googleapis.com/maps/api/js?key={val}&callback=initMap" async></script>'])
K("gcp oauth client secret", lambda: "GOCSPX-" + rs(28, B64URL), ["GOOGLE_CLIENT_SECRET"], n=5,
  custom=[lambda k, v, val, s: f'{{"web":{{"client_id":"{digits(12, 12)}-{rs(32, LO + DIG)}.apps.googleusercontent.com","client_secret":"{val}","redirect_uris":["http://localhost:8080/callback"]}}}}'])

# ---- cloud: Azure
def _azkey():
    return b64(rb(64))


K("azure storage account key", _azkey, ["AZURE_STORAGE_KEY", "AZURE_STORAGE_ACCOUNT_KEY"], n=5,
  custom=[lambda k, v, val, s: f"az storage blob upload --account-name {pick(WORDS)}store{R.randint(1, 99)} --account-key {val} -c backups -f dump.sql.gz -n dump.sql.gz",
          lambda k, v, val, s: f'"AzureWebJobsStorage": "DefaultEndpointsProtocol=https;AccountName={pick(WORDS)}fn;AccountKey={val};EndpointSuffix=core.windows.net"'])


def _az_conn():
    key = _azkey()
    acct = f"{pick(WORDS)}{pick(WORDS)}{R.randint(1, 99)}"
    return key, f"DefaultEndpointsProtocol=https;AccountName={acct};AccountKey={key};EndpointSuffix=core.windows.net"


K("azure storage connection string", _az_conn, ["AZURE_STORAGE_CONNECTION_STRING"], n=5)


def _sas():
    sig = quote(b64(rb(32)), safe="")
    q = (f"sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2027-0{R.randint(1, 9)}-{R.randint(10, 28)}T0{R.randint(0, 9)}:00:00Z"
         f"&st=2026-{R.randint(10, 12)}-0{R.randint(1, 9)}T00:00:00Z&spr=https&sig={sig}")
    return sig, q


K("azure sas token", _sas, ["AZURE_SAS_TOKEN"], n=5,
  custom=[lambda k, v, val, s: f"azcopy copy ./build 'https://{pick(WORDS)}cdn.blob.core.windows.net/$web?{val}' --recursive",
          lambda k, v, val, s: f"GET https://{pick(WORDS)}logs.blob.core.windows.net/insights/2026/11/03/app.log?{val} -> 200 (4.1 MB)"])


def _sb_conn():
    key = b64(rb(32))
    ns = f"{pick(WORDS)}-{pick(['events', 'bus', 'orders'])}"
    svc = pick(["servicebus", "servicebus"])
    return key, f"Endpoint=sb://{ns}.{svc}.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={key}"


K("azure service bus connection string", _sb_conn, ["SERVICEBUS_CONNECTION", "EVENTHUB_CONNECTION_STRING"], n=5)
K("azure ad client secret", lambda: rs(3, ALNUM) + pick("78") + "Q~" + rs(34, ALNUM + "_.~-"), ["AZURE_CLIENT_SECRET", "ARM_CLIENT_SECRET"], n=6,
  custom=[lambda k, v, val, s: f"az login --service-principal -u {ruuid()} -p '{val}' --tenant {ruuid()}"])
K("azure cosmos db key", lambda: b64(rb(64)), ["COSMOS_KEY"], n=4,
  custom=[lambda k, v, val, s: f"AccountEndpoint=https://{pick(WORDS)}-db.documents.azure.com:443/;AccountKey={val};"])

# ---- VCS / CI
K("github personal access token (classic)", lambda: crc_token("ghp_"), ["GITHUB_TOKEN", "GH_TOKEN", "GITHUB_PAT"], n=8,
  label="GitHub token", host="api.github.com", header="Authorization: token {}", path="user/repos", cmd="gh repo list",
  custom=[lambda k, v, val, s: f"git remote set-url origin https://{pick(WORDS)}:{val}@github.com/acme/{pick(WORDS)}.git",
          lambda k, v, val, s: f"echo {val} | gh auth login --with-token",
          lambda k, v, val, s: f"//npm.pkg.github.com/:_authToken={val}"])
K("github fine-grained token", lambda: "github_pat_" + rs(22, ALNUM) + "_" + rs(59, ALNUM), ["GITHUB_TOKEN", "GH_PAT"], n=6,
  label="GitHub token", host="api.github.com", header=BEARER, path="repos/acme/web/issues",
  custom=[lambda k, v, val, s: f"[url \"https://x-access-token:{val}@github.com/\"]\n\tinsteadOf = https://github.com/"])
K("github oauth token", lambda: crc_token("gho_"), ["GITHUB_OAUTH_TOKEN"], n=4, host="api.github.com", header=BEARER, path="user")
K("github app installation token", lambda: crc_token("ghs_"), ["GITHUB_APP_TOKEN", "INSTALLATION_TOKEN"], n=4, host="api.github.com", header=BEARER,
  custom=[lambda k, v, val, s: f"git clone https://x-access-token:{val}@github.com/acme/infra.git"])
K("github user-to-server token", lambda: crc_token("ghu_"), ["GITHUB_USER_TOKEN"], n=3, host="api.github.com", header=BEARER)
K("github refresh token", lambda: "ghr_" + rs(76, ALNUM), ["GITHUB_REFRESH_TOKEN"], n=3)
K("gitlab personal access token", lambda: "glpat-" + rs(20, B64URL), ["GITLAB_TOKEN", "CI_JOB_PAT", "GL_TOKEN"], n=6,
  host="gitlab.com", header="PRIVATE-TOKEN: {}", path="api/v4/projects",
  custom=[lambda k, v, val, s: f"git clone https://oauth2:{val}@gitlab.com/acme/platform/{pick(WORDS)}.git"])
K("gitlab runner token", lambda: "glrt-" + rs(20, B64URL), ["RUNNER_TOKEN"], n=4,
  custom=[lambda k, v, val, s: f"gitlab-runner register --non-interactive --url https://gitlab.com --token {val} --executor docker",
          lambda k, v, val, s: f'[[runners]]\n  name = "{pick(WORDS)}-runner"\n  url = "https://gitlab.com"\n  token = "{val}"\n  executor = "docker"'])
K("gitlab runner registration token", lambda: "GR1348941" + rs(20, B64URL), ["REGISTRATION_TOKEN"], n=3)
K("gitlab deploy token", lambda: "gldt-" + rs(20, B64URL), ["DEPLOY_TOKEN", "CI_DEPLOY_PASSWORD"], n=4,
  custom=[lambda k, v, val, s: f"echo '{val}' | docker login registry.gitlab.com -u gitlab+deploy-token-{R.randint(100, 9999)} --password-stdin"])
K("gitlab pipeline trigger token", lambda: "glptt-" + rs(40, HEX), ["TRIGGER_TOKEN"], n=3,
  custom=[lambda k, v, val, s: f"curl -X POST --fail -F token={val} -F ref=main https://gitlab.com/api/v4/projects/{R.randint(1000, 99999)}/trigger/pipeline"])
K("bitbucket app password", lambda: "ATBB" + rs(32, ALNUM), ["BITBUCKET_APP_PASSWORD"], n=4,
  custom=[lambda k, v, val, s: f"git clone https://{pick(WORDS)}:{val}@bitbucket.org/acme/{pick(WORDS)}.git"])
K("circleci personal api token", lambda: "CCIPAT_" + rs(22, ALNUM) + "_" + rs(40, HEX), ["CIRCLECI_TOKEN", "CIRCLE_TOKEN"], n=4,
  host="circleci.com", header="Circle-Token: {}", path="api/v2/me")
K("travis ci api token", lambda: rs(22, B64URL), ["TRAVIS_TOKEN", "TRAVIS_API_TOKEN"], n=4, host="api.travis-ci.com", header="Authorization: token {}", path="repos",
  custom=[lambda k, v, val, s: f"travis login --pro --github-token {crc_token('ghp_')} && travis env set DEPLOY_KEY x --com --token {val}"])
K("jenkins api token", lambda: "11" + rs(32, HEX), ["JENKINS_API_TOKEN", "JENKINS_TOKEN"], n=4,
  custom=[lambda k, v, val, s: f"curl -X POST -u admin:{val} https://jenkins.acme.io/job/{pick(WORDS)}/build?delay=0sec",
          lambda k, v, val, s: f"java -jar jenkins-cli.jar -s https://ci.acme.io/ -auth deploy:{val} build release"])
K("buildkite api token", lambda: "bkua_" + rs(40, HEX), ["BUILDKITE_API_TOKEN"], n=3, host="api.buildkite.com", header=BEARER, path="v2/organizations")

# ---- payment
K("stripe secret key", lambda: pick(["sk_live_", "sk_test_"]) + rs(pick([24, 99]), ALNUM), ["STRIPE_SECRET_KEY", "STRIPE_API_KEY"], n=7,
  label="Stripe key", host="api.stripe.com", header=BEARER, path="v1/charges", pycls="stripe.StripeClient", jscls="Stripe",
  custom=[lambda k, v, val, s: f"curl https://api.stripe.com/v1/customers -u {val}: -d email=jo@example.com",
          lambda k, v, val, s: f"stripe.api_key = \"{val}\""])
K("stripe restricted key", lambda: "rk_live_" + rs(99, ALNUM), ["STRIPE_RESTRICTED_KEY"], n=3, host="api.stripe.com", header=BEARER)
K("stripe webhook secret", lambda: "whsec_" + rs(32, ALNUM), ["STRIPE_WEBHOOK_SECRET"], n=4,
  custom=[lambda k, v, val, s: f"> Ready! Your webhook signing secret is {val} (^C to quit)",
          lambda k, v, val, s: f"event = stripe.Webhook.construct_event(payload, sig_header, \"{val}\")"])
K("square access token", lambda: "EAAA" + rs(60, B64URL), ["SQUARE_ACCESS_TOKEN"], n=4, host="connect.squareup.com", header=BEARER, path="v2/locations")
K("square oauth secret", lambda: "sq0csp-" + rs(43, B64URL), ["SQUARE_APPLICATION_SECRET"], n=3)
K("braintree access token", lambda: f"access_token$production${rs(16, LO + DIG)}${rs(32, HEX)}", ["BRAINTREE_ACCESS_TOKEN"], n=4)
K("braintree private key", lambda: rs(32, HEX), ["BRAINTREE_PRIVATE_KEY"], n=3,
  custom=[lambda k, v, val, s: f"gateway = braintree.BraintreeGateway(braintree.Configuration(environment=braintree.Environment.Production, merchant_id=\"{rs(16, LO + DIG)}\", public_key=\"{rs(16, LO + DIG)}\", private_key=\"{val}\"))"])
K("paypal client secret", lambda: "E" + rs(79, B64URL), ["PAYPAL_CLIENT_SECRET"], n=4,
  custom=[lambda k, v, val, s: f"curl -v https://api-m.paypal.com/v1/oauth2/token -u \"A{rs(79, B64URL)}:{val}\" -d grant_type=client_credentials"])
K("adyen api key", lambda: "AQE" + rs(R.randint(60, 80), B64) + "=-" + rs(43, B64) + "=-" + rs(16, ALNUM + ".,;:[]()<>"), ["ADYEN_API_KEY"], n=4,
  host="checkout-test.adyen.com", header="X-API-Key: {}", path="v71/payments")

# ---- messaging
K("slack bot token", lambda: f"xoxb-{digits(11, 13)}-{digits(12, 13)}-{rs(24, ALNUM)}", ["SLACK_BOT_TOKEN", "SLACK_TOKEN"], n=6,
  host="slack.com", header=BEARER, path="api/chat.postMessage", pycls="WebClient", pyarg="token", jscls="WebClient", jsarg="token")
K("slack user token", lambda: f"xoxp-{digits(11, 13)}-{digits(11, 13)}-{digits(12, 13)}-{rs(32, HEX)}", ["SLACK_USER_TOKEN"], n=4, host="slack.com", header=BEARER, path="api/users.list")
K("slack app-level token", lambda: f"xapp-1-A{rs(10, UP + DIG)}-{digits(13, 13)}-{rs(64, HEX)}", ["SLACK_APP_TOKEN"], n=3)


def _slack_hook():
    t = rs(24, ALNUM)
    return t, f"https://hooks.slack.com/services/T{rs(R.randint(8, 10), UP + DIG)}/B{rs(R.randint(8, 10), UP + DIG)}/{t}"


K("slack webhook url", _slack_hook, ["SLACK_WEBHOOK_URL"], n=6,
  custom=[lambda k, v, val, s: f"curl -X POST -H 'Content-type: application/json' --data '{{\"text\":\"deploy done\"}}' {val}",
          lambda k, v, val, s: f"  - name: notify\n    run: curl -s -d '{{\"text\": \"build failed\"}}' {val}"])
K("discord bot token",
  lambda: b64(digits(18, 19).encode()).rstrip("=") + "." + rs(6, B64URL) + "." + rs(38, B64URL),
  ["DISCORD_TOKEN", "DISCORD_BOT_TOKEN"], n=5, host="discord.com", header="Authorization: Bot {}", path="api/v10/users/@me",
  custom=[lambda k, v, val, s: f"client.run('{val}')"])


def _discord_hook():
    t = rs(68, B64URL)
    return t, f"https://discord.com/api/webhooks/{digits(18, 19)}/{t}"


K("discord webhook url", _discord_hook, ["DISCORD_WEBHOOK_URL"], n=4)
K("telegram bot token", lambda: f"{digits(9, 10)}:AA{rs(33, B64URL)}", ["TELEGRAM_BOT_TOKEN", "TG_TOKEN"], n=5,
  custom=[lambda k, v, val, s: f"curl -s https://api.telegram.org/bot{val}/getUpdates | jq .",
          lambda k, v, val, s: f"bot = telebot.TeleBot(\"{val}\")"])
K("twilio auth token", lambda: rs(32, HEX), ["TWILIO_AUTH_TOKEN"], n=5,
  custom=[lambda k, v, val, s: f"client = Client(\"AC{rs(32, HEX)}\", \"{val}\")",
          lambda k, v, val, s: f"curl -X POST https://api.twilio.com/2010-04-01/Accounts/AC{rs(32, HEX)}/Messages.json -u AC{rs(32, HEX)}:{val} --data-urlencode 'To=+15558675310'"])
K("twilio api key secret", lambda: rs(32, ALNUM), ["TWILIO_API_SECRET"], n=3,
  custom=[lambda k, v, val, s: f"TWILIO_API_KEY=SK{rs(32, HEX)}\nTWILIO_API_SECRET={val}"])
K("sendgrid api key", lambda: f"SG.{rs(22, B64URL)}.{rs(43, B64URL)}", ["SENDGRID_API_KEY"], n=5, host="api.sendgrid.com", header=BEARER, path="v3/mail/send")
K("mailgun api key", lambda: pick([f"key-{rs(32, HEX)}", f"{rs(32, HEX)}-{rs(8, HEX)}-{rs(8, HEX)}"]), ["MAILGUN_API_KEY"], n=5,
  custom=[lambda k, v, val, s: f"curl -s --user 'api:{val}' https://api.eu.mailgun.net/v3/mg.acme.io/messages -F to=ops@acme.io -F subject=test"])
K("mailchimp api key", lambda: f"{rs(32, HEX)}-us{R.randint(1, 21)}", ["MAILCHIMP_API_KEY"], n=4)
K("postmark server token", ruuid, ["POSTMARK_SERVER_TOKEN", "POSTMARK_API_TOKEN"], n=4, host="api.postmarkapp.com", header="X-Postmark-Server-Token: {}", path="email")

# ---- AI
K("openai api key", lambda: pick([f"sk-proj-{rs(74, B64URL)}T3BlbkFJ{rs(74, B64URL)}", f"sk-{rs(20)}T3BlbkFJ{rs(20)}", f"sk-svcacct-{rs(74, B64URL)}T3BlbkFJ{rs(74, B64URL)}"]),
  ["OPENAI_API_KEY"], n=8, label="OpenAI key", host="api.openai.com", header=BEARER, path="v1/chat/completions", pycls="OpenAI", jscls="OpenAI")
K("anthropic api key", lambda: f"sk-ant-{pick(['api03', 'api03', 'admin01'])}-{rs(93, B64URL)}AA", ["ANTHROPIC_API_KEY"], n=7,
  label="Anthropic key", host="api.anthropic.com", header="x-api-key: {}", path="v1/messages", pycls="anthropic.Anthropic", jscls="Anthropic")
K("hugging face token", lambda: "hf_" + rs(34, UP + LO), ["HF_TOKEN", "HUGGING_FACE_HUB_TOKEN"], n=5, host="huggingface.co", header=BEARER, path="api/whoami-v2",
  custom=[lambda k, v, val, s: f"huggingface-cli login --token {val} --add-to-git-credential",
          lambda k, v, val, s: f"model = AutoModel.from_pretrained(\"meta-llama/Llama-3.1-8B\", token=\"{val}\")"])
K("cohere api key", lambda: rs(40, ALNUM), ["COHERE_API_KEY", "CO_API_KEY"], n=4, host="api.cohere.com", header=BEARER, path="v2/chat",
  custom=[lambda k, v, val, s: f"co = cohere.ClientV2(\"{val}\")"])
K("replicate api token", lambda: "r8_" + rs(37, ALNUM), ["REPLICATE_API_TOKEN"], n=4, host="api.replicate.com", header=BEARER, path="v1/predictions")
K("groq api key", lambda: "gsk_" + rs(52, ALNUM), ["GROQ_API_KEY"], n=4, host="api.groq.com", header=BEARER, path="openai/v1/models")
K("mistral api key", lambda: rs(32, ALNUM), ["MISTRAL_API_KEY"], n=4, host="api.mistral.ai", header=BEARER, path="v1/models")
K("perplexity api key", lambda: "pplx-" + rs(48, ALNUM), ["PERPLEXITY_API_KEY", "PPLX_API_KEY"], n=3, host="api.perplexity.ai", header=BEARER)
K("xai api key", lambda: "xai-" + rs(80, ALNUM), ["XAI_API_KEY"], n=3, host="api.x.ai", header=BEARER, path="v1/models")
K("deepseek api key", lambda: "sk-" + rs(32, HEX), ["DEEPSEEK_API_KEY"], n=3, host="api.deepseek.com", header=BEARER)
K("together ai api key", lambda: "tgp_v1_" + rs(43, B64URL), ["TOGETHER_API_KEY"], n=3, host="api.together.xyz", header=BEARER)

# ---- package registries
K("npm access token", lambda: crc_token("npm_"), ["NPM_TOKEN", "NODE_AUTH_TOKEN"], n=6,
  custom=[lambda k, v, val, s: f"//registry.npmjs.org/:_authToken={val}",
          lambda k, v, val, s: f"npm config set //registry.npmjs.org/:_authToken {val}",
          lambda k, v, val, s: f"# ~/.npmrc\n@acme:registry=https://registry.npmjs.org/\n//registry.npmjs.org/:_authToken={val}"])
K("pypi api token", pypi_token, ["PYPI_TOKEN", "TWINE_PASSWORD", "UV_PUBLISH_TOKEN"], n=5,
  custom=[lambda k, v, val, s: f"[pypi]\n  username = __token__\n  password = {val}",
          lambda k, v, val, s: f"twine upload dist/* -u __token__ -p {val}",
          lambda k, v, val, s: f"poetry config pypi-token.pypi {val}"])
K("rubygems api key", lambda: "rubygems_" + rs(48, HEX), ["GEM_HOST_API_KEY", "RUBYGEMS_API_KEY"], n=4,
  custom=[lambda k, v, val, s: f"---\n:rubygems_api_key: {val}"])
K("nuget api key", lambda: "oy2" + rs(43, LO + DIG), ["NUGET_API_KEY"], n=4,
  custom=[lambda k, v, val, s: f"dotnet nuget push bin/Release/Acme.Core.2.{R.randint(0, 9)}.0.nupkg --api-key {val} --source https://api.nuget.org/v3/index.json"])
K("docker hub personal access token", lambda: "dckr_pat_" + rs(27, B64URL), ["DOCKERHUB_TOKEN", "DOCKER_PASSWORD"], n=5,
  custom=[lambda k, v, val, s: f"echo \"{val}\" | docker login -u {pick(WORDS)}bot --password-stdin",
          lambda k, v, val, s: (lambda a: (f'{{\n  "auths": {{\n    "https://index.docker.io/v1/": {{\n      "auth": "{a}"\n    }}\n  }}\n}}', a))(b64(("acmebot:" + val).encode()))])
K("crates.io api token", lambda: "cio" + rs(32, ALNUM), ["CARGO_REGISTRY_TOKEN"], n=4,
  custom=[lambda k, v, val, s: f"[registry]\ntoken = \"{val}\"", lambda k, v, val, s: f"cargo login {val}"])


# ---- databases / DSNs (secret = the password as it appears in the URL)
def _dsn(scheme, port: int, path, user_choices: list[str], hostf: Callable[[], str], query="") -> Callable:  # noqa: ANN001
    def gen():
        sch = pick(scheme) if isinstance(scheme, list) else scheme
        pth = pick(path) if isinstance(path, list) else path
        qry = pick(query) if isinstance(query, list) else query
        raw = pick([strong_password, human_password, lambda: rs(R.randint(16, 32), ALNUM)])()
        enc = quote(raw, safe="")
        user = pick(user_choices)
        host = hostf()
        hp = host if port == 0 else f"{host}:{port}"
        return enc, f"{sch}://{user}:{enc}@{hp}{pth}{qry}"
    return gen


def _rds() -> str:
    return f"{pick(WORDS)}-{pick(['prod', 'stg', 'replica'])}.{rs(12, LO + DIG)}.{pick(['eu-west-1', 'us-east-2'])}.rds.amazonaws.com"


K("postgres dsn password", _dsn(["postgresql", "postgres"], 5432, ["/app", "/billing", "/analytics", "/postgres"], ["app", "postgres", "readonly", "svc_billing"], lambda: pick([_rds(), "db.internal", "10.0.3.17", "pg-primary.data.svc"]), ["", "?sslmode=require", "?sslmode=verify-full&application_name=api"]),
  ["DATABASE_URL", "POSTGRES_URL", "PG_DSN"], n=7,
  custom=[lambda k, v, val, s: f"psql \"{val}\" -c 'select count(*) from invoices'",
          lambda k, v, val, s: f"engine = create_engine(\"{val.replace('postgresql://', 'postgresql+psycopg://').replace('postgres://', 'postgresql+psycopg://')}\", pool_pre_ping=True)",
          lambda k, v, val, s: f"sqlalchemy.exc.OperationalError: (psycopg.OperationalError) connection failed: {val.split('@')[1].split('/')[0]}\n[SQL: select 1]\nengine url: {val}"])
K("mysql dsn password", _dsn("mysql", 3306, ["/wordpress", "/shop", "/app"], ["root", "app", "wordpress"], lambda: pick(["mysql", "127.0.0.1", _rds()]), "?charset=utf8mb4"),
  ["MYSQL_URL", "DATABASE_URL"], n=5,
  custom=[lambda k, v, val, s: f"spring.datasource.url=jdbc:{val.split('@')[0].split('//')[0]}//{val.split('@')[1]}\nspring.datasource.password={s}"])
K("mongodb srv connection string password", _dsn("mongodb+srv", 0, ["/", "/prod", "/events"], ["admin", "app-user", "atlasAdmin"], lambda: f"cluster0.{rs(5, LO + DIG)}.mongodb.net", "?retryWrites=true&w=majority"),
  ["MONGODB_URI", "MONGO_URL"], n=6,
  custom=[lambda k, v, val, s: f"mongosh \"{val}\" --eval 'db.stats()'",
          lambda k, v, val, s: f"const client = new MongoClient(\"{val}\");"])
K("redis url password", _dsn(["redis", "rediss"], 6379, "/0", ["default", ""], lambda: pick(["redis", f"{pick(WORDS)}.cache.amazonaws.com", "master.redis.svc.cluster.local"])),
  ["REDIS_URL", "CELERY_BROKER_URL", "CACHE_URL"], n=5,
  custom=[lambda k, v, val, s: f"redis-cli -h cache.internal -p 6379 -a '{s}' --no-auth-warning ping"])
K("amqp url password", _dsn(["amqp", "amqps"], 5672, "/%2F", ["guest-prod", "rabbit", "svc_events"], lambda: pick(["rabbitmq", "b-1234.mq.eu-west-1.amazonaws.com", "mq.internal"])),
  ["AMQP_URL", "RABBITMQ_URL", "BROKER_URL"], n=5)
K("mssql connection string password", (lambda: (lambda p: (p, f"Server=tcp:{pick(WORDS)}-sql.database.windows.net,1433;Initial Catalog={pick(WORDS)};User ID=sqladmin;Password={p};Encrypt=True;"))(strong_password())),
  ["ConnectionStrings__Default", "SQLCONNSTR_MAIN"], n=4,
  custom=[lambda k, v, val, s: f'"ConnectionStrings": {{\n  "Default": "{val}"\n}}'])
K("snowflake password", lambda: strong_password(), ["SNOWFLAKE_PASSWORD"], n=3,
  custom=[lambda k, v, val, s: f"snowsql -a {rs(7, LO)}-{rs(7, LO)} -u etl_user  # password: {val}",
          lambda k, v, val, s: f"conn = snowflake.connector.connect(user=\"ETL\", password=\"{val}\", account=\"acme-xy12345\", warehouse=\"COMPUTE_WH\")"])

# ---- JWTs
K("jwt", lambda: jwt(jwt_claims()), ["ACCESS_TOKEN", "AUTH_TOKEN", "ID_TOKEN", "JWT"], n=8, label="token",
  host="api.acme.io", header=BEARER, path="v2/orders",
  custom=[lambda k, v, val, s: f"Cookie: session={val}; theme=dark; lang=en",
          lambda k, v, val, s: f"localStorage.setItem('access_token', '{val}')",
          lambda k, v, val, s: f"{when()} INFO auth: issued token {val} for user {R.randint(1000, 99999)}"])
K("supabase service role key", lambda: jwt({"iss": "supabase", "ref": rs(20, LO), "role": "service_role", "iat": R.randint(1_700_000_000, 1_760_000_000), "exp": R.randint(2_000_000_000, 2_100_000_000)}),
  ["SUPABASE_SERVICE_ROLE_KEY"], n=4, host=f"{rs(20, LO)}.supabase.co", header="apikey: {}", path="rest/v1/profiles",
  custom=[lambda k, v, val, s: f"const supabase = createClient('https://{rs(20, LO)}.supabase.co', '{val}')"])
K("auth0 management api token", lambda: jwt({"iss": f"https://{pick(WORDS)}.eu.auth0.com/", "sub": f"{rs(32, ALNUM)}@clients", "aud": "https://acme.eu.auth0.com/api/v2/", "iat": 1780000000, "exp": 1780086400, "gty": "client-credentials"}, "RS256"),
  ["AUTH0_MGMT_TOKEN"], n=3, host="acme.eu.auth0.com", header=BEARER, path="api/v2/users")

# ---- private keys (multi-line; secret = body)
def _pem_secret(txt: str, begin: str, end: str) -> tuple[str, str]:
    i = txt.index(begin) + len(begin)
    j = txt.index(end, i)
    body = txt[i:j]
    body = body.strip()
    while body.startswith("\\n"):
        body = body[2:]
    while body.endswith("\\n"):
        body = body[:-2]
    return txt, body.strip()


def _pem_kind(name: str, label: str, bodyf: Callable[[], str], n: int) -> None:
    B, E = f"-----BEGIN {label}-----", f"-----END {label}-----"

    def file_(k, v, val, s):
        pre = pick(["", f"$ cat ~/.ssh/{pick(['id_rsa', 'deploy_key', 'server.key'])}\n", "# key.pem\n", "Here is the key file you asked for:\n\n"])
        return _pem_secret(f"{pre}{B}\n{val}\n{E}", B, E)

    def yaml_(k, v, val, s):
        ind = "    "
        body = val.replace("\n", "\n" + ind)
        return _pem_secret(f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {pick(WORDS)}-tls\ntype: kubernetes.io/tls\nstringData:\n  tls.key: |\n{ind}{B}\n{ind}{body}\n{ind}{E}", B, E)

    def env_(k, v, val, s):
        return _pem_secret(f'PRIVATE_KEY="{B}\n{val}\n{E}"', B, E)

    def jsonesc(k, v, val, s):
        esc = val.replace("\n", "\\n")
        return _pem_secret(f'{{"{pick(["private_key", "signing_key", "key"])}": "{B}\\n{esc}\\n{E}\\n"}}', B, E)

    def tf_(k, v, val, s):
        return _pem_secret(f'resource "tls_locally_signed_cert" "x" {{}}\nlocals {{\n  deploy_key = <<-EOT\n{B}\n{val}\n{E}\nEOT\n}}', B, E)

    def py_(k, v, val, s):
        return _pem_secret(f'SIGNING_KEY = """{B}\n{val}\n{E}\n"""', B, E)

    K(name, bodyf, ["PRIVATE_KEY"], n=n, ctx=[], custom=[file_, yaml_, env_, jsonesc, tf_, py_], raw=True)


_pem_kind("rsa private key (pem)", "RSA PRIVATE KEY", pem_body_rsa, 5)
_pem_kind("pkcs8 private key (pem)", "PRIVATE KEY", pem_body_pkcs8, 5)
_pem_kind("ec private key (pem)", "EC PRIVATE KEY", pem_body_ec, 5)
_pem_kind("openssh private key", "OPENSSH PRIVATE KEY", lambda: openssh_body(f"{pick(WORDS)}@{pick(HOSTS)}"), 6)
_pem_kind("pgp private key block", "PGP PRIVATE KEY BLOCK", pgp_body, 3)
K("age secret key", lambda: bech32_encode("age-secret-key-", rb(32)).upper(), ["SOPS_AGE_KEY"], n=4,
  custom=[lambda k, v, val, s: f"# created: 2026-0{R.randint(1, 9)}-1{R.randint(0, 9)}T10:22:31+01:00\n# public key: {bech32_encode('age', rb(32))}\n{val}"])
K("wireguard private key", wg_private, ["WG_PRIVATE_KEY"], n=4,
  custom=[lambda k, v, val, s: f"[Interface]\nAddress = 10.8.0.{R.randint(2, 250)}/24\nPrivateKey = {val}\nListenPort = 51820\n\n[Peer]\nPublicKey = {wg_private()}\nAllowedIPs = 0.0.0.0/0",
          lambda k, v, val, s: f"wg set wg0 private-key <(echo {val})"])
K("ethereum private key", lambda: "0x" + rs(64, HEX), ["PRIVATE_KEY", "DEPLOYER_PRIVATE_KEY", "WALLET_PRIVATE_KEY"], n=4,
  custom=[lambda k, v, val, s: f"networks: {{\n  sepolia: {{\n    url: \"https://sepolia.infura.io/v3/\" + process.env.INFURA_ID,\n    accounts: [\"{val}\"],\n  }},\n}}"])

# ---- passwords
K("password in config", lambda: pick([strong_password, human_password])(), ["DB_PASSWORD", "POSTGRES_PASSWORD", "MYSQL_ROOT_PASSWORD", "ADMIN_PASSWORD", "SMTP_PASSWORD", "LDAP_BIND_PASSWORD", "KEYSTORE_PASSWORD"], n=12,
  label="password", pyarg="password", jsarg="password", ctx=["export", "dotenv", "yaml", "k8s", "compose", "json", "toml", "tf", "py", "ini", "ps", "winset", "docker", "systemd", "php", "java"],
  custom=[lambda k, v, val, s: f"spring.datasource.password={val}",
          lambda k, v, val, s: f"<add key=\"SmtpPassword\" value=\"{val}\" />",
          lambda k, v, val, s: f"machine ftp.acme.io\n  login deploy\n  password {val}",
          lambda k, v, val, s: f"db.internal:5432:*:app:{val}",
          lambda k, v, val, s: f"  <server>\n    <id>nexus</id>\n    <username>ci</username>\n    <password>{val}</password>\n  </server>",
          lambda k, v, val, s: f"ansible_become_password: {val}"])
K("password in cli", lambda: pick([strong_password, human_password])(), ["PASSWORD"], n=9, ctx=[],
  custom=[lambda k, v, val, s: f"mysql -h db.internal -u root -p{shq(val)} app_prod < dump.sql",
          lambda k, v, val, s: f"sshpass -p {shq(val)} ssh deploy@10.0.4.12",
          lambda k, v, val, s: f"docker login registry.acme.io -u ci -p {shq(val)}",
          lambda k, v, val, s: f"keytool -importkeystore -srckeystore app.p12 -srcstorepass {shq(val)} -destkeystore app.jks",
          lambda k, v, val, s: f"openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout pass:{shq(val)}",
          lambda k, v, val, s: f"./manage.py createsuperuser --username admin --password={shq(val)}",
          lambda k, v, val, s: f"curl -u admin:{shq(val)} https://nexus.acme.io/service/rest/v1/repositories",
          lambda k, v, val, s: f"htpasswd -b -c /etc/nginx/.htpasswd admin {shq(val)}",
          lambda k, v, val, s: f"PS> $cred = New-Object PSCredential('svc-backup', (ConvertTo-SecureString '{val}' -AsPlainText -Force))"])
K("password in prose", human_password, ["PASSWORD"], n=10, ctx=[],
  custom=[lambda k, v, val, s: f"the wifi password for the office is {val}",
          lambda k, v, val, s: f"I reset the admin account, new password: {val}",
          lambda k, v, val, s: f"can you log in as qa-bot? password is {val} (don't share it)",
          lambda k, v, val, s: f"Jenkins login is admin / {val}",
          lambda k, v, val, s: f"- staging db: user `app`, pass `{val}`",
          lambda k, v, val, s: f"FYI my vpn password got leaked in the screenshot ({val}), changing it now",
          lambda k, v, val, s: f"Credentials for the demo tenant -> username: demo@acme.io  password: {val}",
          lambda k, v, val, s: f"> pw for the grafana admin is {val}",
          lambda k, v, val, s: f"Login: root\nPassword: {val}\nLast login: Tue Nov  3 09:14:02 2026 from 10.0.0.8",
          lambda k, v, val, s: f"remember the keystore passphrase is {val}, we need it for every release build"])
K("password in url", lambda: (lambda p: (quote(p, safe=""), f"https://{pick(['deploy', 'ci', 'admin', 'jenkins'])}:{quote(p, safe='')}@{pick(['nexus', 'artifacts', 'git', 'svn'])}.acme.io/{pick(['repository/pypi/simple', 'scm/app.git', 'repo'])}"))(strong_password()),
  ["INDEX_URL", "REPO_URL", "PIP_EXTRA_INDEX_URL"], n=6,
  custom=[lambda k, v, val, s: f"pip install --extra-index-url {val} acme-core==3.2.1",
          lambda k, v, val, s: f"[remote \"origin\"]\n\turl = {val}\n\tfetch = +refs/heads/*:refs/remotes/origin/*",
          lambda k, v, val, s: f"origin\t{val} (fetch)\norigin\t{val} (push)"])

# ---- generic high-entropy values under secret-like keys
def _gen_value() -> str:
    return pick([lambda: rs(32, HEX), lambda: rs(64, HEX), lambda: rs(R.randint(32, 48), ALNUM), lambda: b64(rb(R.randint(24, 48))), lambda: b64u(rb(32))])()


GEN_VARS = ["API_KEY", "APP_SECRET", "CLIENT_SECRET", "SIGNING_KEY", "ENCRYPTION_KEY", "WEBHOOK_SECRET", "ACCESS_TOKEN",
            "SESSION_SECRET", "JWT_SECRET", "MASTER_KEY", "PRIVATE_TOKEN", "AUTH_SECRET", "HMAC_KEY", "SECRET_TOKEN", "REFRESH_TOKEN"]
K("generic secret (key=value)", _gen_value, GEN_VARS, n=10, ctx=["export", "dotenv", "ini", "winset", "ps", "docker", "systemd", "log", "chat", "csv"])
K("generic secret (yaml)", _gen_value, GEN_VARS, n=6, ctx=["yaml", "k8s", "compose", "gha"],
  custom=[lambda k, v, val, s: f"auth:\n  oauth:\n    client_id: web-{R.randint(100, 999)}\n    client_secret: {val}\n    scopes: [openid, profile]",
          lambda k, v, val, s: f"spring:\n  security:\n    oauth2:\n      client:\n        registration:\n          okta:\n            client-secret: {val}"])
K("generic secret (json)", _gen_value, GEN_VARS, n=6, ctx=["json"],
  custom=[lambda k, v, val, s: f'{{"Logging": {{"LogLevel": {{"Default": "Information"}}}}, "Jwt": {{"Issuer": "acme", "Key": "{val}"}}}}',
          lambda k, v, val, s: f'  "webhook": {{ "url": "https://hooks.acme.io/in", "secret": "{val}" }}'])
K("generic secret (toml)", _gen_value, GEN_VARS, n=5, ctx=["toml"],
  custom=[lambda k, v, val, s: f"[server]\nhost = \"0.0.0.0\"\nport = 8443\ncookie_secret = \"{val}\""])
K("generic secret (hcl)", _gen_value, GEN_VARS, n=5, ctx=["tf"],
  custom=[lambda k, v, val, s: f'resource "aws_ssm_parameter" "api" {{\n  name  = "/prod/api/key"\n  type  = "SecureString"\n  value = "{val}"\n}}',
          lambda k, v, val, s: f'provider "datadog" {{\n  api_key = "{rs(32, HEX)}"\n  app_key = "{val}"\n}}'])
K("generic secret (cli flag)", _gen_value, GEN_VARS, n=6, ctx=[],
  custom=[lambda k, v, val, s: f"./bin/sync --api-key {val} --since 24h",
          lambda k, v, val, s: f"helm upgrade --install api ./chart --set secrets.apiKey={val} -n prod",
          lambda k, v, val, s: f"terraform apply -var 'client_secret={val}' -auto-approve",
          lambda k, v, val, s: f"kubectl create secret generic app-secrets --from-literal=api-key={val} -n prod",
          lambda k, v, val, s: f"python -m worker --token={val} --queue high",
          lambda k, v, val, s: f"vault kv put secret/prod/api key={val}"])
K("generic api key (http header)", _gen_value, GEN_VARS, n=6, ctx=[],
  custom=[lambda k, v, val, s: f"GET /v2/reports HTTP/1.1\nHost: api.partner.io\nX-API-Key: {val}\nAccept: application/json",
          lambda k, v, val, s: f"curl -H 'X-Auth-Token: {val}' https://metrics.acme.io/api/series",
          lambda k, v, val, s: f"requests.get(url, headers={{\"X-Api-Key\": \"{val}\"}})",
          lambda k, v, val, s: f"> POST /hooks/deploy HTTP/2\n> host: hooks.acme.io\n> x-webhook-secret: {val}\n> content-length: 58",
          lambda k, v, val, s: f"fetch(url, {{ headers: {{ 'api-key': '{val}' }} }})",
          lambda k, v, val, s: f"proxy_set_header X-Api-Key \"{val}\";"])
K("generic token (url query param)", lambda: quote(_gen_value(), safe=""), GEN_VARS, n=6, ctx=[],
  custom=[lambda k, v, val, s: f"https://api.weather-data.io/v3/forecast?lat=52.52&lon=13.40&appid={val}",
          lambda k, v, val, s: f"{when()} GET /export.csv?access_token={val}&format=csv 200 1834ms",
          lambda k, v, val, s: f"wss://stream.acme.io/ws?token={val}",
          lambda k, v, val, s: f"https://hooks.acme.io/trigger?key={val}&job=nightly",
          lambda k, v, val, s: f"redirect: https://app.acme.io/callback#access_token={val}&token_type=bearer&expires_in=3600",
          lambda k, v, val, s: f"curl 'https://api.example-geo.com/v1/ip/8.8.8.8?api_key={val}'"])
K("bearer token (opaque)", lambda: pick([lambda: rs(R.randint(32, 64), B64URL), lambda: b64(rb(48))])(), ["TOKEN"], n=6, ctx=[], raw=True,
  custom=[lambda k, v, val, s: f"Authorization: Bearer {val}",
          lambda k, v, val, s: f"curl -H \"Authorization: Bearer {val}\" https://api.acme.io/v1/me",
          lambda k, v, val, s: f"headers = {{'Authorization': 'Bearer {val}'}}",
          lambda k, v, val, s: f"{when()} DEBUG http: > Authorization: Bearer {val}",
          lambda k, v, val, s: f"axios.defaults.headers.common['Authorization'] = 'Bearer {val}';",
          lambda k, v, val, s: f"http GET :8000/api/items 'Authorization:Bearer {val}'"])
K("http basic auth header", lambda: b64(f"{pick(WORDS)}:{strong_password()}".encode()), ["AUTH"], n=5, ctx=[], raw=True,
  custom=[lambda k, v, val, s: f"Authorization: Basic {val}",
          lambda k, v, val, s: f"curl -H 'Authorization: Basic {val}' https://registry.acme.io/v2/_catalog",
          lambda k, v, val, s: f"GET /api/v1/status HTTP/1.1\r\nHost: grafana.acme.io\r\nAuthorization: Basic {val}\r\n",
          lambda k, v, val, s: f"proxy_set_header Authorization \"Basic {val}\";",
          lambda k, v, val, s: f"{{\"auths\": {{\"registry.acme.io\": {{\"auth\": \"{val}\"}}}}}}"])
K("kubernetes secret data (base64)", lambda: b64(pick([strong_password, human_password, lambda: rs(40, ALNUM)])().encode()), ["password"], n=5, ctx=[], raw=True,
  custom=[lambda k, v, val, s: f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: db-credentials\ntype: Opaque\ndata:\n  username: {b64(b'app')}\n  password: {val}",
          lambda k, v, val, s: f"data:\n  api-token: {val}",
          lambda k, v, val, s: f"$ kubectl get secret app -o jsonpath='{{.data.token}}'\n{val}"])
K("django secret key", lambda: pick(["django-insecure-", ""]) + rs(50, LO + DIG + "!@#%^&*(-_=+)"), ["DJANGO_SECRET_KEY", "SECRET_KEY"], n=4, ctx=["dotenv", "export", "k8s"],
  custom=[lambda k, v, val, s: f"# SECURITY WARNING: keep the secret key used in production secret!\nSECRET_KEY = '{val}'"])
K("rails secret_key_base", lambda: rs(128, HEX), ["SECRET_KEY_BASE"], n=3, ctx=["dotenv", "export", "compose"],
  custom=[lambda k, v, val, s: f"production:\n  secret_key_base: {val}"])
K("flask secret key", lambda: pick([lambda: rs(64, HEX), lambda: b64u(rb(32))])(), ["FLASK_SECRET_KEY"], n=3, ctx=["dotenv", "export"],
  custom=[lambda k, v, val, s: f"app.config['SECRET_KEY'] = '{val}'", lambda k, v, val, s: f"app.secret_key = b'{val}'"])
K("credentials in url (userinfo)", lambda: (lambda t: (t, f"https://{pick(['oauth2', 'token', 'bot', 'x-token-auth'])}:{t}@{pick(['git.acme.io', 'artifacts.corp.net', 'charts.acme.io'])}/{pick(['infra.git', 'helm', 'org/repo.git'])}"))(rs(R.randint(24, 40), ALNUM)),
  ["REPO_URL"], n=4, ctx=["export", "dotenv", "yaml", "log"])

# ---- observability / identity / secrets managers
K("datadog api key", lambda: rs(32, HEX), ["DD_API_KEY", "DATADOG_API_KEY"], n=5, host="api.datadoghq.eu", header="DD-API-KEY: {}", path="api/v1/validate",
  custom=[lambda k, v, val, s: f"DD_API_KEY={val} DD_SITE=datadoghq.eu bash -c \"$(curl -L https://install.datadoghq.com/scripts/install_script_agent7.sh)\"",
          lambda k, v, val, s: f"# /etc/datadog-agent/datadog.yaml\napi_key: {val}\nsite: datadoghq.com\nlogs_enabled: true"])
K("datadog application key", lambda: rs(40, HEX), ["DD_APP_KEY", "DATADOG_APP_KEY"], n=3, host="api.datadoghq.com", header="DD-APPLICATION-KEY: {}", path="api/v1/monitor")
K("new relic user api key", lambda: "NRAK-" + rs(27, UP + DIG), ["NEW_RELIC_API_KEY"], n=4, host="api.newrelic.com", header="Api-Key: {}", path="graphql")
K("new relic license key", lambda: rs(36, HEX) + "NRAL", ["NEW_RELIC_LICENSE_KEY"], n=4,
  custom=[lambda k, v, val, s: f"common: &default_settings\n  license_key: '{val}'\n  app_name: billing-api"])


def _sentry_dsn():
    key = rs(32, HEX)
    return key, f"https://{key}@o{R.randint(100000, 4999999)}.ingest.{pick(['', 'us.', 'de.'])}sentry.io/{R.randint(1000000, 4999999)}"


K("sentry dsn", _sentry_dsn, ["SENTRY_DSN", "NEXT_PUBLIC_SENTRY_DSN"], n=5,
  custom=[lambda k, v, val, s: f"sentry_sdk.init(dsn=\"{val}\", traces_sample_rate=0.2)"])
K("sentry auth token", lambda: pick([lambda: "sntryu_" + rs(64, HEX), lambda: "sntrys_" + b64u(json.dumps({"iat": R.randint(1_700_000_000, 1_780_000_000), "url": "https://sentry.io", "region_url": "https://us.sentry.io", "org": pick(WORDS)}).encode()) + "_" + rs(43, B64URL)])(),
  ["SENTRY_AUTH_TOKEN"], n=4, custom=[lambda k, v, val, s: f"sentry-cli --auth-token {val} releases new 2.14.0"])
K("okta api token", lambda: "00" + rs(40, B64URL), ["OKTA_API_TOKEN", "OKTA_TOKEN"], n=4, host="acme.okta.com", header="Authorization: SSWS {}", path="api/v1/users?limit=25")
K("auth0 client secret", lambda: rs(64, B64URL), ["AUTH0_CLIENT_SECRET"], n=4,
  custom=[lambda k, v, val, s: f"AUTH0_DOMAIN=acme.eu.auth0.com\nAUTH0_CLIENT_ID={rs(32, ALNUM)}\nAUTH0_CLIENT_SECRET={val}"])
K("hashicorp vault token", lambda: pick([lambda: "hvs." + "CAESI" + rs(R.randint(85, 100), B64URL), lambda: "hvs." + rs(24, ALNUM), lambda: "hvb.AAAAAQ" + rs(120, B64URL), lambda: "s." + rs(24, ALNUM)])(),
  ["VAULT_TOKEN"], n=6, host="vault.acme.io:8200", header="X-Vault-Token: {}", path="v1/secret/data/prod",
  custom=[lambda k, v, val, s: f"Key                  Value\n---                  -----\ntoken                {val}\ntoken_accessor       {rs(24, ALNUM)}\ntoken_duration       768h\ntoken_renewable      true\ntoken_policies       [\"default\" \"deploy\"]"])
K("doppler token", lambda: pick([lambda: f"dp.st.{pick(['prd', 'stg', 'dev'])}.{rs(40, ALNUM)}", lambda: "dp.pt." + rs(43, ALNUM), lambda: "dp.sa." + rs(43, ALNUM), lambda: "dp.ct." + rs(43, ALNUM)])(),
  ["DOPPLER_TOKEN"], n=5, custom=[lambda k, v, val, s: f"doppler run --token {val} -- npm start"])
K("1password service account token", lambda: "ops_" + b64u(json.dumps({"signInAddress": "acme.1password.com", "userAuth": {"method": "SRPg-4096", "alg": "PBES2g-HS256", "iterations": 650000, "salt": b64u(rb(16))}, "email": f"{rs(26, LO + DIG)}@1passwordserviceaccounts.com", "srpX": rs(64, HEX), "muk": {"alg": "A256GCM", "ext": True, "k": b64u(rb(32)), "key_ops": ["encrypt", "decrypt"], "kty": "oct", "kid": "mp"}, "secretKey": f"A3-{rs(6, UP + DIG)}-{rs(6, UP + DIG)}-{rs(5, UP + DIG)}-{rs(5, UP + DIG)}-{rs(5, UP + DIG)}-{rs(5, UP + DIG)}", "throttleSecret": {"seed": rs(64, HEX), "uuid": rs(26, UP + DIG)}, "deviceUuid": rs(26, LO + DIG)}, separators=(",", ":")).encode()),
  ["OP_SERVICE_ACCOUNT_TOKEN"], n=3)

# ---- productivity / SaaS
K("linear api key", lambda: "lin_api_" + rs(40, ALNUM), ["LINEAR_API_KEY"], n=4, host="api.linear.app", header="Authorization: {}", path="graphql")
K("notion integration token", lambda: pick([lambda: "secret_" + rs(43, ALNUM), lambda: "ntn_" + digits(11, 11) + rs(35, ALNUM)])(), ["NOTION_TOKEN", "NOTION_API_KEY"], n=5,
  host="api.notion.com", header=BEARER, path="v1/databases", custom=[lambda k, v, val, s: f"const notion = new Client({{ auth: \"{val}\" }})"])
K("atlassian api token", lambda: "ATATT3xFfGF0" + rs(R.randint(170, 185), B64URL) + "=" + rs(8, HEXUP), ["JIRA_API_TOKEN", "CONFLUENCE_TOKEN", "ATLASSIAN_API_TOKEN"], n=5,
  custom=[lambda k, v, val, s: f"curl -u ci-bot@acme.io:{val} -H 'Accept: application/json' https://acme.atlassian.net/rest/api/3/myself",
          lambda k, v, val, s: f"jira = JIRA(server=\"https://acme.atlassian.net\", basic_auth=(\"me@acme.io\", \"{val}\"))"])
K("shopify access token", lambda: pick(["shpat_", "shpca_", "shppa_"]) + rs(32, HEX), ["SHOPIFY_ACCESS_TOKEN", "SHOPIFY_ADMIN_TOKEN"], n=5,
  host="acme-store.myshopify.com", header="X-Shopify-Access-Token: {}", path="admin/api/2024-10/products.json")
K("shopify shared secret", lambda: "shpss_" + rs(32, HEX), ["SHOPIFY_API_SECRET"], n=3)
K("airtable personal access token", lambda: f"pat{rs(14, ALNUM)}.{rs(64, HEX)}", ["AIRTABLE_TOKEN", "AIRTABLE_API_KEY"], n=3, host="api.airtable.com", header=BEARER, path="v0/meta/bases")
K("asana personal access token", lambda: f"2/{digits(16, 16)}/{digits(16, 16)}:{rs(32, HEX)}", ["ASANA_TOKEN"], n=3, host="app.asana.com", header=BEARER, path="api/1.0/users/me")
K("figma personal access token", lambda: "figd_" + rs(40, B64URL), ["FIGMA_TOKEN"], n=3, host="api.figma.com", header="X-Figma-Token: {}", path="v1/me")
K("postman api key", lambda: f"PMAK-{rs(24, HEX)}-{rs(34, HEX)}", ["POSTMAN_API_KEY"], n=3, host="api.getpostman.com", header="X-Api-Key: {}", path="collections")
K("dropbox access token", lambda: "sl." + rs(R.randint(135, 150), B64URL), ["DROPBOX_TOKEN"], n=3, host="api.dropboxapi.com", header=BEARER, path="2/users/get_current_account")
K("facebook access token", lambda: pick(["EAAB", "EAAG", "EAAJ"]) + rs(R.randint(150, 200), ALNUM), ["FB_ACCESS_TOKEN", "META_PAGE_TOKEN"], n=3,
  custom=[lambda k, v, val, s: f"https://graph.facebook.com/v21.0/me/accounts?access_token={val}"])
K("twitter bearer token", lambda: "AAAAAAAAAAAAAAAAAAAAA" + rs(8, ALNUM) + "AAAAAA" + rs(20, ALNUM) + "%3D" + rs(50, ALNUM), ["TWITTER_BEARER_TOKEN", "X_BEARER_TOKEN"], n=3,
  host="api.twitter.com", header=BEARER, path="2/tweets/search/recent?query=from:acme")
K("launchdarkly sdk key", lambda: pick(["sdk-", "api-"]) + ruuid(), ["LAUNCHDARKLY_SDK_KEY", "LD_SDK_KEY"], n=3, custom=[lambda k, v, val, s: f"ldclient.set_config(Config(\"{val}\"))"])
K("snyk token", ruuid, ["SNYK_TOKEN"], n=3, custom=[lambda k, v, val, s: f"snyk auth {val}"])
K("cloudinary url", lambda: (lambda sec: (sec, f"cloudinary://{digits(15, 15)}:{sec}@{pick(WORDS)}-{rs(4, LO)}"))(rs(27, B64URL)), ["CLOUDINARY_URL"], n=3)

# ---- hosting / infra
K("cloudflare api token", lambda: rs(40, B64URL), ["CLOUDFLARE_API_TOKEN", "CF_API_TOKEN"], n=5, host="api.cloudflare.com", header=BEARER, path="client/v4/user/tokens/verify",
  custom=[lambda k, v, val, s: f"wrangler secret put API_KEY  # CLOUDFLARE_API_TOKEN={val}"])
K("cloudflare global api key", lambda: rs(37, HEX), ["CLOUDFLARE_API_KEY", "CF_API_KEY"], n=3, host="api.cloudflare.com", header="X-Auth-Key: {}", path="client/v4/zones",
  custom=[lambda k, v, val, s: f"dns_cloudflare_email = ops@acme.io\ndns_cloudflare_api_key = {val}"])
K("digitalocean token", lambda: pick(["dop_v1_", "doo_v1_", "dor_v1_"]) + rs(64, HEX), ["DIGITALOCEAN_TOKEN", "DO_TOKEN"], n=5, host="api.digitalocean.com", header=BEARER, path="v2/droplets",
  custom=[lambda k, v, val, s: f"doctl auth init --access-token {val}"])
K("heroku api key", lambda: pick([lambda: "HRKU-AA" + rs(58, B64URL), ruuid])(), ["HEROKU_API_KEY"], n=4, host="api.heroku.com", header=BEARER, path="apps",
  custom=[lambda k, v, val, s: f"machine api.heroku.com\n  login ops@acme.io\n  password {val}"])
K("netlify access token", lambda: "nfp_" + rs(36, ALNUM), ["NETLIFY_AUTH_TOKEN"], n=4, host="api.netlify.com", header=BEARER, path="api/v1/sites",
  custom=[lambda k, v, val, s: f"netlify deploy --prod --dir=dist --auth {val}"])
K("vercel token", lambda: rs(24, ALNUM), ["VERCEL_TOKEN"], n=4, host="api.vercel.com", header=BEARER, path="v9/projects",
  custom=[lambda k, v, val, s: f"vercel deploy --prod --token={val}", lambda k, v, val, s: f"npx vercel pull --yes --environment=production --token {val}"])
K("supabase personal access token", lambda: "sbp_" + rs(40, HEX), ["SUPABASE_ACCESS_TOKEN"], n=3, custom=[lambda k, v, val, s: f"supabase login --token {val}"])
K("supabase secret key", lambda: "sb_secret_" + rs(31, B64URL), ["SUPABASE_SECRET_KEY"], n=3)
K("firebase cloud messaging server key", lambda: f"AAAA{rs(7, B64URL)}:APA91b{rs(134, B64URL)}", ["FCM_SERVER_KEY", "FIREBASE_SERVER_KEY"], n=3,
  host="fcm.googleapis.com", header="Authorization: key={}", path="fcm/send")
K("algolia admin api key", lambda: rs(32, HEX), ["ALGOLIA_ADMIN_KEY", "ALGOLIA_API_KEY"], n=4,
  custom=[lambda k, v, val, s: f"client = SearchClient.create('{rs(10, UP + DIG)}', '{val}')",
          lambda k, v, val, s: f"curl -H 'X-Algolia-API-Key: {val}' -H 'X-Algolia-Application-Id: {rs(10, UP + DIG)}' https://{rs(10, UP + DIG)}-dsn.algolia.net/1/indexes"])
K("mapbox secret token", lambda: "sk." + b64u(json.dumps({"u": pick(WORDS), "a": rs(25, LO + DIG)}, separators=(",", ":")).encode()) + "." + rs(22, B64URL), ["MAPBOX_SECRET_TOKEN", "MAPBOX_DOWNLOADS_TOKEN"], n=3,
  custom=[lambda k, v, val, s: f"machine api.mapbox.com\nlogin mapbox\npassword {val}"])
K("terraform cloud token", lambda: f"{rs(14, ALNUM)}.atlasv1.{rs(67, ALNUM)}", ["TF_TOKEN_app_terraform_io", "TFE_TOKEN"], n=4,
  custom=[lambda k, v, val, s: f'credentials "app.terraform.io" {{\n  token = "{val}"\n}}',
          lambda k, v, val, s: f'{{\n  "credentials": {{\n    "app.terraform.io": {{\n      "token": "{val}"\n    }}\n  }}\n}}'])
K("pulumi access token", lambda: "pul-" + rs(40, HEX), ["PULUMI_ACCESS_TOKEN"], n=3)
K("grafana service account token", lambda: f"glsa_{rs(32, ALNUM)}_{rs(8, HEX)}", ["GRAFANA_TOKEN", "GRAFANA_SA_TOKEN"], n=4, host="grafana.acme.io", header=BEARER, path="api/dashboards/uid/abc")
K("grafana cloud token", lambda: "glc_" + b64(json.dumps({"o": str(R.randint(100000, 999999)), "n": f"stack-{R.randint(100000, 999999)}-hm-read-{pick(WORDS)}", "k": rs(24, ALNUM), "m": {"r": pick(["prod-eu-west-2", "prod-us-central-0"])}}, separators=(",", ":")).encode()).rstrip("="),
  ["GRAFANA_CLOUD_TOKEN", "GCLOUD_RW_API_KEY"], n=3)
K("planetscale token", lambda: pick(["pscale_tkn_", "pscale_pw_", "pscale_oauth_"]) + rs(43, B64URL.replace("-", "")), ["PLANETSCALE_TOKEN", "PSCALE_PASSWORD"], n=3)
K("databricks token", lambda: "dapi" + rs(32, HEX) + pick(["", "-2", "-3"]), ["DATABRICKS_TOKEN"], n=4, host=f"adb-{digits(16, 16)}.{R.randint(1, 19)}.azuredatabricks.net", header=BEARER, path="api/2.0/clusters/list",
  custom=[lambda k, v, val, s: f"[DEFAULT]\nhost  = https://dbc-{rs(8, HEX)}-{rs(4, HEX)}.cloud.databricks.com\ntoken = {val}"])
K("fly.io token", lambda: (lambda t: (t, "FlyV1 " + t))("fm2_" + rs(R.randint(180, 240), B64)), ["FLY_API_TOKEN"], n=3)
K("sourcegraph access token", lambda: "sgp_" + pick(["", rs(16, HEX) + "_"]) + rs(40, HEX), ["SRC_ACCESS_TOKEN"], n=3, host="sourcegraph.acme.io", header="Authorization: token {}", path=".api/graphql")
K("typeform personal token", lambda: "tfp_" + rs(44, B64URL) + "_" + rs(14, ALNUM), ["TYPEFORM_TOKEN"], n=3, host="api.typeform.com", header=BEARER, path="forms")
K("intercom access token", lambda: "dG9rOj" + b64(rb(45)).rstrip("="), ["INTERCOM_ACCESS_TOKEN"], n=3, host="api.intercom.io", header=BEARER, path="contacts")


# --------------------------------------------------------------------------- build secrets
def build_secrets() -> list[dict]:
    rows: list[dict] = []
    seen: set[str] = set()
    for k in KINDS:
        customs = list(k["custom"])
        R.shuffle(customs)
        names = k.get("ctx")
        if names is None:
            names = list(GENERIC)
            if "header" in k and "host" in k:
                names += list(HTTPCTX)
        pool = [GENERIC.get(x) or HTTPCTX[x] for x in names]
        R.shuffle(pool)
        order: list = []
        ci = gi = 0
        while ci < len(customs) or gi < len(pool):
            if ci < len(customs):
                order.append(customs[ci])
                ci += 1
            if gi < len(pool):
                order.append(pool[gi])
                gi += 1
        made = 0
        attempt = 0
        while made < k["n"]:
            g = k["gen"]()
            secret, val = (g if isinstance(g, tuple) else (g, g))
            ctx = order[attempt % len(order)]
            attempt += 1
            var = pick(k["vars"])
            if ctx in k["custom"]:
                out = ctx(k, var, val, secret)
            else:
                out = ctx(k, var, val)
            text, secret = out if isinstance(out, tuple) else (out, secret)
            assert secret and secret in text, (k["name"], secret, text)
            if secret in seen:
                continue
            seen.add(secret)
            rows.append({"kind": k["name"], "split": SPLIT, "secret": secret, "text": text})
            made += 1
    return rows


# --------------------------------------------------------------------------- clean lines
ENV_NAMES = [
    "GITHUB_TOKEN", "OPENAI_API_KEY", "ANTHROPIC_API_KEY", "DB_PASSWORD", "DATABASE_URL", "STRIPE_SECRET_KEY",
    "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "SLACK_BOT_TOKEN", "NPM_TOKEN", "PYPI_TOKEN", "SENTRY_DSN",
    "REDIS_PASSWORD", "JWT_SECRET", "API_KEY", "CLIENT_SECRET", "DD_API_KEY", "VAULT_TOKEN", "HF_TOKEN",
    "POSTGRES_PASSWORD", "SENDGRID_API_KEY", "TWILIO_AUTH_TOKEN", "CLOUDFLARE_API_TOKEN", "DOCKERHUB_TOKEN",
]
PROJECTS = ["billing-api", "web", "infra", "data-pipeline", "mobile", "auth-service", "search", "notifier", "docs"]
FILES = ["src/app.py", "src/auth/token.py", "lib/client.ts", "cmd/server/main.go", "app/models/user.rb", "internal/cache/lru.go",
         "packages/ui/src/Button.tsx", "services/payments/stripe.py", "tests/test_login.py", "README.md", "config/settings.py"]
MSGS = ["fix: handle empty payload in webhook handler", "chore(deps): bump axios from 1.6.8 to 1.7.2", "feat: add retry with jitter to the http client",
        "refactor: split token refresh out of session middleware", "docs: explain how to rotate the API key", "test: cover expired-token path",
        "ci: cache pip wheels between jobs", "revert \"feat: enable new checkout\"", "perf: avoid re-parsing config on every request",
        "fix(auth): reject tokens with alg=none", "build: pin node to 20.15", "style: ruff format", "feat(search): add prefix queries",
        "fix: do not log the Authorization header", "chore: remove unused secrets from .env.example"]
PEOPLE = ["Ana Souza <ana@acme.io>", "Jonas Weber <jonas.weber@acme.io>", "Priya Raman <priya@northwind.dev>", "Li Wei <wei.li@acme.io>",
          "dependabot[bot] <49699333+dependabot[bot]@users.noreply.github.com>", "Tom Okafor <tom@contoso.com>"]


def sha40() -> str:
    return rs(40, HEX)


def sha64() -> str:
    return rs(64, HEX)


def gitdate() -> str:
    return f"{pick(['Mon', 'Tue', 'Wed', 'Thu', 'Fri'])} {pick(['Oct', 'Nov', 'Dec'])} {R.randint(1, 28)} {R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d} 2026 {pick(['+0000', '+0100', '-0500', '+0530'])}"


def ip4() -> str:
    return f"{pick([10, 172, 192, 34, 52, 185])}.{R.randint(0, 255)}.{R.randint(0, 255)}.{R.randint(1, 254)}"


def c_prose() -> list[str]:
    base = [
        "Never commit your API key to the repository; put it in a .env file that is listed in .gitignore.",
        "The access token expires after one hour, after which the client uses the refresh token to get a new one.",
        "Rotate the database password every 90 days and update the secret in Vault before the old one is revoked.",
        "If you think a token has leaked, revoke it from the settings page and create a new one.",
        "Passwords are hashed with argon2id; we never store them in plain text.",
        "A personal access token works like a password, so treat it with the same care.",
        "The secret key is used to sign session cookies, so changing it logs every user out.",
        "Store credentials in the system keychain rather than in a config file.",
        "GitHub scans public repositories for known token formats and notifies the provider.",
        "Use short-lived credentials from the OIDC provider instead of long-lived access keys.",
        "The webhook secret lets you verify that a request really came from Stripe.",
        "Fine-grained tokens can be limited to a single repository and a set of permissions.",
        "Our password policy requires at least 12 characters and blocks the 10,000 most common passwords.",
        "API keys are scoped per project; a key from staging will not work against production.",
        "Tokens are shown only once when they are created, so copy it somewhere safe.",
        "Secrets are mounted into the pod as files under /var/run/secrets, not as environment variables.",
        "The CLI reads the token from the keyring first, then from the environment, then from the config file.",
        "Do not paste secrets into chat; share them through the password manager instead.",
        "Set the token's expiry to 30 days and enable SSO authorization for the organisation.",
        "The service account key was deleted and replaced with workload identity federation.",
        "A leaked key should be considered compromised even if you deleted the commit afterwards.",
        "Each deploy key is read-only unless you tick 'Allow write access'.",
        "The login form sends the password over TLS and the server compares it with the stored hash.",
        "Bearer tokens must be sent in the Authorization header, never in the URL.",
        "We moved all secrets from the Helm values file into External Secrets backed by AWS Secrets Manager.",
        "When the token is missing the command prints a hint and exits with status 2.",
        "Two-factor authentication is required for everyone with push access to the main branch.",
        "The password reset link is valid for 15 minutes and can be used once.",
        "Keys with the sk_test_ prefix only work in Stripe's test mode.",
        "A GitHub classic token starts with ghp_ and carries a checksum in its last six characters.",
        "The Slack bot token begins with xoxb- while user tokens begin with xoxp-.",
        "Private keys must be readable only by their owner: chmod 600 ~/.ssh/id_ed25519.",
        "Secret scanning found 3 alerts in this repository; all of them were revoked tokens.",
        "Make sure the token has the read:packages scope before pulling from the container registry.",
        "Passwordless login uses a magic link sent to the user's email address.",
        "The API key goes in the X-Api-Key header; requests without it get 401 Unauthorized.",
        "Please don't share your screen while the .env file is open.",
        "I revoked the old token and generated a new one, it's in 1Password under 'CI deploy'.",
        "is the staging password the same as prod? I hope not",
        "the token expired again, can someone with admin rights create a new one?",
        "Where do we keep the Sentry DSN now that the config repo is gone?",
        "Ask Priya for access to the vault; she owns the secrets engine for payments.",
        "An SSH key pair has a private half that stays on your machine and a public half you upload.",
        "OAuth client secrets for single-page apps are pointless; use PKCE instead.",
        "Remember to set the secret as 'masked' and 'protected' in the GitLab CI settings.",
        "Token budget: the prompt uses about 3,200 tokens, leaving 800 for the answer.",
        "The tokenizer splits 'unbelievable' into three tokens.",
        "Encryption keys are managed by KMS and rotated automatically every year.",
        "Session secrets longer than 32 bytes give no extra security with HMAC-SHA256.",
        "The password field is masked in the UI and excluded from the audit log.",
    ]
    subj = ["the API key", "your access token", "the admin password", "the signing key", "a deploy token", "the client secret", "the webhook secret", "the bot token", "the service account key", "the refresh token"]
    pred = ["must never be logged", "is read from the environment at start-up", "is stored in Vault under the team's path", "can be rotated without downtime",
            "should be scoped to the smallest set of permissions", "is injected by the CI runner at build time", "expires after 24 hours",
            "is only visible to project maintainers", "was revoked after the incident on Tuesday", "lives in the password manager, not in git"]
    out = list(base)
    for s in subj:
        for p in R.sample(pred, 5):
            out.append(f"{s[0].upper()}{s[1:]} {p}.")
    return out


def c_envrefs() -> list[str]:
    out = []
    for n in ENV_NAMES:
        lo = n.lower()
        cam = camel(n)
        opts = [
            f'export {n}="$(op read op://Engineering/{n}/credential)"',
            f'curl -H "Authorization: Bearer ${n}" https://api.example.com/v1/me',
            f'curl -H "Authorization: Bearer ${{{n}}}" https://api.example.com/v1/me',
            f"set {n}=%{n}_PROD%",
            f"echo %{n}%",
            f"$env:{n} = $env:{n}_STAGING",
            f"if (-not $env:{n}) {{ throw '{n} is not set' }}",
            f'{lo} = os.environ["{n}"]',
            f'{lo} = os.getenv("{n}")',
            f"{lo} = os.environ.get('{n}', '')",
            f"const {cam} = process.env.{n};",
            f"const {cam} = process.env.{n} ?? '';",
            f"      {n}: ${{{{ secrets.{n} }}}}",
            f"  {lo}: {{{{ .Values.secrets.{cam} }}}}",
            f"  {lo}: {{{{ .Values.{cam} | b64enc | quote }}}}",
            f"            - name: {n}\n              valueFrom:\n                secretKeyRef:\n                  name: app-secrets\n                  key: {lo.replace('_', '-')}",
            f"vault kv get -field={lo} secret/{pick(PROJECTS)}/prod",
            f'{lo} = var.{lo}',
            f'{lo} = data.aws_secretsmanager_secret_version.{lo}.secret_string',
            f'      {n}: ${{{n}:?{n} must be set}}',
            f'{n}=${{{n}}}',
            f'{lo} := os.Getenv("{n}")',
            f'let {lo} = std::env::var("{n}").expect("{n} not set");',
            f"{lo} = ENV.fetch('{n}')",
            f'String {cam} = System.getenv("{n}");',
            f'var {cam} = Environment.GetEnvironmentVariable("{n}");',
            f"doppler secrets get {n} --plain",
            f'  {lo}: "@Microsoft.KeyVault(SecretUri=https://kv-{pick(PROJECTS)}.vault.azure.net/secrets/{lo.replace("_", "-")}/)"',
            f"gcloud secrets versions access latest --secret={lo.replace('_', '-')}",
            f"{n}: ${{{{ env.{n} }}}}",
            f"  {lo}: !Ref {cam.title()}Parameter",
            f"aws ssm get-parameter --name /{pick(PROJECTS)}/{lo} --with-decryption --query Parameter.Value --output text",
        ]
        out += R.sample(opts, 7)
    out += [
        "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
        "spring.datasource.password=${DB_PASSWORD}",
        "  password: ${POSTGRES_PASSWORD}",
        "export PGPASSWORD=\"$(cat /run/secrets/pg_password)\"",
        "docker run -e OPENAI_API_KEY ghcr.io/acme/agent:latest",
        "docker run --env-file .env.local ghcr.io/acme/web:2.3.1",
        "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/billing/db-Xy12Ab",
        "projects/482910374622/secrets/db-password/versions/latest",
        "token_file = /var/run/secrets/kubernetes.io/serviceaccount/token",
        "password_file: /run/secrets/db_password",
        "mysql -u root -p",
        "read -rs -p 'Password: ' PASSWORD && export PASSWORD",
        "password = getpass.getpass('Vault password: ')",
        "ALTER ROLE app WITH PASSWORD :'new_password';",
        "api_key = keyring.get_password('acme-cli', username)",
        "token=$(gcloud auth print-access-token)",
        "TOKEN=$(curl -s -X POST \"$AUTH_URL\" -d \"client_id=$CLIENT_ID\" -d \"client_secret=$CLIENT_SECRET\" | jq -r .access_token)",
        "echo \"$DOCKERHUB_TOKEN\" | docker login -u \"$DOCKERHUB_USER\" --password-stdin",
        "gh auth login --with-token < token.txt",
        "npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN}",
        "//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
        "git clone https://x-access-token:${GITHUB_TOKEN}@github.com/acme/infra.git",
        "  password: \"{{ vault_db_password }}\"",
        "ansible_become_password: \"{{ lookup('env', 'BECOME_PASS') }}\"",
        "client_secret = ${file(\"secrets/client_secret.txt\")}",
    ]
    return out


def c_placeholders() -> list[str]:
    ph = ["<your-api-key>", "<token>", "YOUR_API_KEY", "your-api-key-here", "changeme", "xxx", "xxxxxxxxxxxxxxxx", "***", "********",
          "REPLACE_ME", "<redacted>", "[REDACTED]", "TODO", "...", "<secret>", "CHANGE_ME_IN_PROD", "dummy", "{{API_KEY}}", "<paste-token-here>", "null"]
    out = []
    for n in ENV_NAMES:
        p = pick(ph)
        out.append(pick([f"{n}={p}", f"export {n}={shq(p)}", f"{n.lower()}: {p}", f'"{camel(n)}": "{p}"', f"{n.lower()} = \"{p}\""]))
    out += [
        "OPENAI_API_KEY=sk-...", "STRIPE_SECRET_KEY=sk_test_...", "GITHUB_TOKEN=ghp_...", "SLACK_BOT_TOKEN=xoxb-...",
        "Authorization: Bearer <token>", "Authorization: Bearer YOUR_TOKEN_HERE", "curl -H 'X-Api-Key: <api-key>' https://api.example.com/items",
        "password: changeme", "DB_PASSWORD=changeme  # local docker only", "admin_password = \"********\"", "token: \"***\"",
        "API_KEY=", "SECRET_KEY=", "password=", "\"password\": \"\"", "\"token\": null", "api_key = None", "token: ~",
        "Replace `<YOUR_TOKEN>` with the token you created in step 2.", "Set `api_key` to your key, e.g. `api_key: \"abc123...\"`.",
        "git clone https://<username>:<token>@github.com/<org>/<repo>.git", "postgres://user:password@localhost:5432/dbname",
        "mysql://<user>:<password>@<host>:3306/<db>", "mongodb+srv://<username>:<password>@cluster0.example.mongodb.net/",
        "redis://:<password>@localhost:6379/0", "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "AWS_ACCESS_KEY_ID=AKIA...  # fill in from the console", "aws_secret_access_key = <secret-access-key>",
        "-----BEGIN PRIVATE KEY-----\n...\n-----END PRIVATE KEY-----", "PRIVATE_KEY=\"-----BEGIN OPENSSH PRIVATE KEY-----\\n...\\n-----END OPENSSH PRIVATE KEY-----\"",
        "token = \"your-token-goes-here\"", "client_secret: <from-azure-portal>", "password: <%= ENV['DB_PASSWORD'] %>",
        "SENTRY_DSN=https://<key>@o<org>.ingest.sentry.io/<project>", "export HF_TOKEN=hf_xxx", "export ANTHROPIC_API_KEY=sk-ant-...",
        "Password: ********", "Enter passphrase for key '/home/dev/.ssh/id_ed25519':", "token: [REDACTED]  # masked by CI",
        "::add-mask::***", "DD_API_KEY=<DATADOG_API_KEY>", "<add key=\"ApiKey\" value=\"__API_KEY__\" />", "secret_key_base: <%= ENV[\"SECRET_KEY_BASE\"] %>",
        "password: !!str TODO", "JWT_SECRET=please-change-me", "api_key: \"test\"", "api_key = \"\"  # set in prod via env",
        "--password <password>", "Usage: tool login --token TOKEN [--host HOST]", "  -p, --password TEXT   Database password (or set DB_PASSWORD)",
        "vercel deploy --token $VERCEL_TOKEN", "NPM_TOKEN=npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
    ]
    return out


def c_hashes() -> list[str]:
    out = []
    for _ in range(22):
        out.append(f"{rs(7, HEX)} {pick(MSGS)}")
    for _ in range(12):
        out.append(f"commit {sha40()}\nAuthor: {pick(PEOPLE)}\nDate:   {gitdate()}\n\n    {pick(MSGS)}")
    for _ in range(6):
        out.append(f"commit {sha40()}\nMerge: {rs(7, HEX)} {rs(7, HEX)}\nAuthor: {pick(PEOPLE)}\nDate:   {gitdate()}\n\n    Merge pull request #{R.randint(100, 4000)} from acme/{pick(['fix', 'feat', 'chore'])}/{pick(WORDS)}")
    for _ in range(6):
        out.append(f"HEAD is now at {rs(7, HEX)} {pick(MSGS)}")
    for _ in range(5):
        out.append(f"$ git rev-parse HEAD\n{sha40()}")
    for _ in range(5):
        out.append(f"[main {rs(7, HEX)}] {pick(MSGS)}\n {R.randint(1, 9)} files changed, {R.randint(1, 300)} insertions(+), {R.randint(0, 120)} deletions(-)")
    for _ in range(5):
        out.append(f"   {rs(7, HEX)}..{rs(7, HEX)}  main -> main")
    for _ in range(4):
        out.append(f"Submodule path 'vendor/{pick(WORDS)}': checked out '{sha40()}'")
    for _ in range(10):
        out.append(f"{sha64()}  {pick(['dist/', 'release/', ''])}{pick(PROJECTS)}-{R.randint(0, 4)}.{R.randint(0, 20)}.{R.randint(0, 9)}{pick(['.tar.gz', '-linux-amd64.zip', '.whl', '-darwin-arm64.tar.gz'])}")
    for _ in range(5):
        out.append(f"SHA256 ({pick(PROJECTS)}.dmg) = {sha64()}")
    for _ in range(4):
        out.append(f"MD5 ({pick(['backup.tar', 'image.iso', 'data.csv'])}) = {rs(32, HEX)}")
    for _ in range(10):
        pkg = pick(["lodash", "react-dom", "@babel/core", "typescript", "esbuild", "chalk", "@types/node", "zod", "vite", "undici"])
        out.append(f'      "resolved": "https://registry.npmjs.org/{pkg}/-/{pkg.split("/")[-1]}-{R.randint(1, 9)}.{R.randint(0, 30)}.{R.randint(0, 9)}.tgz",\n      "integrity": "sha512-{b64(rb(64))}",')
    for _ in range(5):
        out.append(f'  integrity sha512-{b64(rb(64))}')
    for _ in range(6):
        out.append(f'<script src="https://cdn.jsdelivr.net/npm/{pick(["bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js", "alpinejs@3.14.1/dist/cdn.min.js", "htmx.org@2.0.2/dist/htmx.min.js"])}" integrity="sha384-{b64(rb(48))}" crossorigin="anonymous"></script>')
    mods = ["github.com/spf13/cobra", "golang.org/x/net", "github.com/stretchr/testify", "google.golang.org/grpc", "github.com/jackc/pgx/v5", "go.uber.org/zap", "github.com/gorilla/mux"]
    for _ in range(12):
        m = pick(mods)
        ver = f"v{R.randint(0, 2)}.{R.randint(0, 60)}.{R.randint(0, 9)}"
        out.append(pick([f"{m} {ver} h1:{b64(rb(32))}", f"{m} {ver}/go.mod h1:{b64(rb(32))}"]))
    for _ in range(8):
        img = pick(["python:3.12-slim", "node:20-alpine", "golang:1.22", "nginx:1.27", "postgres:16", "debian:bookworm-slim"])
        out.append(pick([f"FROM {img}@sha256:{sha64()}", f"Digest: sha256:{sha64()}\nStatus: Downloaded newer image for {img}",
                         f"{img.split(':')[0]}@sha256:{sha64()}", f"latest: digest: sha256:{sha64()} size: {R.randint(1000, 4000)}"]))
    for _ in range(8):
        p = pick(["requests==2.32.3", "urllib3==2.2.2", "certifi==2024.7.4", "idna==3.7", "charset-normalizer==3.3.2", "pydantic==2.8.2"])
        out.append(f"{p} \\\n    --hash=sha256:{sha64()} \\\n    --hash=sha256:{sha64()}")
    for _ in range(6):
        c = pick(["serde", "tokio", "anyhow", "clap", "regex", "rand"])
        out.append(f'[[package]]\nname = "{c}"\nversion = "1.{R.randint(0, 40)}.{R.randint(0, 9)}"\nsource = "registry+https://github.com/rust-lang/crates.io-index"\nchecksum = "{sha64()}"')
    for _ in range(4):
        out.append(f'provider "registry.terraform.io/hashicorp/aws" {{\n  version     = "5.{R.randint(10, 70)}.0"\n  hashes = [\n    "h1:{b64(rb(32))}",\n    "zh:{sha64()}",\n  ]\n}}')
    for _ in range(5):
        out.append(f'ETag: "{rs(32, HEX)}"')
    for _ in range(4):
        out.append(f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha64()}\nsize {R.randint(10000, 90000000)}")
    for _ in range(5):
        out.append(f"/nix/store/{rs(32, '0123456789abcdfghijklmnpqrsvwxyz')}-{pick(['python3-3.11.9', 'nodejs-20.15.1', 'openssl-3.0.14', 'git-2.45.2'])}")
    for _ in range(4):
        out.append(f"sha1: {sha40()}  sha256: {sha64()}")
    for _ in range(3):
        out.append(f"Checksum (SHA-512): {rs(128, HEX)}")
    for _ in range(3):
        out.append(f'        "shasum": "{sha40()}",\n        "tarball": "https://registry.npmjs.org/{pick(["ms", "debug", "semver"])}/-/{pick(["ms", "debug", "semver"])}-2.1.3.tgz"')
    for _ in range(4):
        out.append(f"Fast-forward\n {pick(FILES)} | {R.randint(2, 40)} +++++---\nUpdating {rs(9, HEX)}..{rs(9, HEX)}")
    out.append("git bisect good 4f1d2c8\ngit bisect bad HEAD")
    out.append(f"https://github.com/acme/web/commit/{sha40()}")
    out.append(f"https://github.com/acme/web/compare/{rs(12, HEX)}...{rs(12, HEX)}")
    return out


def c_uuids() -> list[str]:
    out = []
    tpl = [
        lambda u: f'{{"id": "{u}", "status": "active", "created_at": "{when()}"}}',
        lambda u: f"GET /api/v2/orders/{u} 200 {R.randint(3, 400)}ms",
        lambda u: f"X-Request-Id: {u}",
        lambda u: f"X-Correlation-ID: {u}",
        lambda u: f"  uid: {u}",
        lambda u: f"request_id={u} user_id={R.randint(1000, 999999)} path=/checkout status=200",
        lambda u: f"order = Order.objects.get(pk=uuid.UUID('{u}'))",
        lambda u: f"Tenant ID: {u}",
        lambda u: f"Subscription: {u} (Pay-As-You-Go)",
        lambda u: f'INSERT INTO sessions (id, user_id) VALUES (\'{u}\', 42);',
        lambda u: f"trace_id={u.replace('-', '')} span_id={rs(16, HEX)}",
        lambda u: f"ProjectGuid = \"{{{u.upper()}}}\"",
        lambda u: f"Saved run {u} to ./runs/{u}/metrics.json",
        lambda u: f"  \"workspaceId\": \"{u}\",",
        lambda u: f"https://app.acme.io/invoices/{u}?tab=details",
    ]
    for t in tpl:
        for _ in range(4):
            out.append(t(ruuid()))
    return out


def c_base64() -> list[str]:
    texts = [b"hello world\n", b'{"theme":"dark","lang":"en"}', b"user:4821;page:3", b"The quick brown fox jumps over the lazy dog",
             b"2026-11-03T10:00:00Z|batch-17", b'{"cursor":{"id":98213,"ts":1762164000}}', b"Lorem ipsum dolor sit amet, consectetur adipiscing elit.",
             b"#!/bin/sh\necho ready\n", b"offset=500&limit=100", b'{"kind":"page","n":2}']
    out = []
    for t in texts:
        e = b64(t)
        out.append(pick([f"echo '{e}' | base64 -d", f'"next_cursor": "{e}"', f"data: {e}", f"atob('{e}')", f"base64.b64decode('{e}')"]))
        out.append(pick([f"$ echo -n '{t.decode().splitlines()[0]}' | base64\n{b64(t.splitlines()[0])}", f"Content-Transfer-Encoding: base64\n\n{e}", f"  config.json: {e}"]))
    # tiny real images / fonts (ordinary data)
    gif = "R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"
    out += [
        f'<img alt="" src="data:image/gif;base64,{gif}">',
        f"background-image: url(data:image/gif;base64,{gif});",
        "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxNiAxNiI+PGNpcmNsZSBjeD0iOCIgY3k9IjgiIHI9IjgiLz48L3N2Zz4=",
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
        f"src: url(data:font/woff2;base64,d09GMgABAAAAA{b64(rb(60))}) format('woff2');",
        f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: logo\nbinaryData:\n  logo.png: iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAYAAAAf8/9h{b64(rb(45))}",
        "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\nSGksIHRoZSByZXBvcnQgaXMgYXR0YWNoZWQuIFRoYW5rcyE=",
        "$ echo 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9' | base64 -d\n{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
        f"protobuf payload (base64): CgVhbGljZRIHZXhhbXBsZRgB{b64(rb(12))}",
        "Set-Cookie: prefs=eyJ0aGVtZSI6ImRhcmsiLCJmb250U2l6ZSI6MTR9; Path=/; SameSite=Lax",
        "cursor=ZXlKcFpDSTZNVEF5TkN3aWRITWlPakUzTmpJeE5qUXdNREI5; has_more=true",
    ]
    for _ in range(14):
        payload = json.dumps({"page": R.randint(1, 40), "sort": pick(["created_at", "name", "-updated_at"]), "filter": pick(["open", "closed", "all"])}).encode()
        out.append(pick([f'"next_page": "{b64u(payload)}"', f"?cursor={b64u(payload)}&limit=50", f"continue: {b64u(payload)}"]))
    return out


def c_pubkeys() -> list[str]:
    out = []
    for _ in range(10):
        blob = _sshstr(b"ssh-ed25519") + _sshstr(rb(32))
        who = f"{pick(WORDS)}@{pick(HOSTS)}"
        out.append(pick([f"ssh-ed25519 {b64(blob)} {who}", f"{pick(['github.com', 'gitlab.com', ip4()])} ssh-ed25519 {b64(blob)}",
                         f"command=\"/usr/bin/backup\",no-pty ssh-ed25519 {b64(blob)} backup@nas"]))
    for _ in range(5):
        blob = _sshstr(b"ssh-rsa") + _sshstr(b"\x01\x00\x01") + _sshstr(b"\x00" + rb(256))
        out.append(f"ssh-rsa {b64(blob)} {pick(WORDS)}@{pick(HOSTS)}")
    for _ in range(3):
        blob = _sshstr(b"ecdsa-sha2-nistp256") + _sshstr(b"nistp256") + _sshstr(b"\x04" + rb(64))
        out.append(f"|1|{b64(rb(20))}|{b64(rb(20))} ecdsa-sha2-nistp256 {b64(blob)}")
    for _ in range(5):
        der = b"\x30\x82\x01\x22\x30\x0d\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x01\x01\x05\x00\x03\x82\x01\x0f\x00\x30\x82\x01\x0a\x02\x82\x01\x01\x00" + rb(256) + b"\x02\x03\x01\x00\x01"
        out.append("-----BEGIN PUBLIC KEY-----\n" + "\n".join(wrap(b64(der))) + "\n-----END PUBLIC KEY-----")
    for _ in range(4):
        der = b"\x30\x82\x03\x2a\x30\x82\x02\x12\xa0\x03\x02\x01\x02\x02\x14" + rb(780)
        out.append("-----BEGIN CERTIFICATE-----\n" + "\n".join(wrap(b64(der))) + "\n-----END CERTIFICATE-----")
    for _ in range(5):
        out.append(f"[Peer]\nPublicKey = {b64(rb(32))}\nEndpoint = vpn.acme.io:51820\nAllowedIPs = 10.8.0.0/24")
    for _ in range(4):
        out.append(f"# public key: {bech32_encode('age', rb(32))}")
    for _ in range(3):
        out.append(f"creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n    age: {bech32_encode('age', rb(32))}")
    for _ in range(4):
        fp = rs(40, HEXUP)
        out.append(pick([f"pub   ed25519 2025-03-11 [SC]\n      {fp}\nuid           [ultimate] {pick(PEOPLE)}",
                         f"gpg --recv-keys {fp}", f"Primary key fingerprint: {' '.join(wrap(fp, 4))}"]))
    for _ in range(4):
        out.append(f"{pick(['256', '3072'])} SHA256:{b64(rb(32)).rstrip('=')} {pick(WORDS)}@{pick(HOSTS)} ({pick(['ED25519', 'RSA'])})")
    for _ in range(4):
        out.append(json.dumps({"keys": [{"kty": "RSA", "use": "sig", "kid": rs(16, ALNUM), "alg": "RS256", "n": b64u(rb(256)), "e": "AQAB"}]}))
    for _ in range(2):
        out.append(json.dumps({"kty": "EC", "crv": "P-256", "x": b64u(rb(32)), "y": b64u(rb(32)), "use": "sig", "kid": f"key-{R.randint(1, 9)}"}))
    out.append(f"untrusted comment: minisign public key {rs(16, HEXUP)}\nRWQ{b64(rb(39))}")
    out.append(f"The server's host key fingerprint is SHA256:{b64(rb(32)).rstrip('=')}.")
    return out


def c_versions() -> list[str]:
    out = []
    py = ["numpy", "pandas", "requests", "fastapi", "pydantic", "sqlalchemy", "pytest", "ruff", "mypy", "httpx", "typer", "rich"]
    for p in py:
        out.append(pick([f"{p}=={R.randint(0, 3)}.{R.randint(0, 30)}.{R.randint(0, 12)}", f"{p}>={R.randint(0, 3)}.{R.randint(0, 9)},<{R.randint(4, 5)}", f"Successfully installed {p}-{R.randint(0, 3)}.{R.randint(0, 30)}.{R.randint(0, 12)}"]))
    js = ["react", "next", "typescript", "eslint", "vite", "vitest", "@tanstack/react-query", "tailwindcss", "prisma"]
    for p in js:
        out.append(f'    "{p}": "{pick(["^", "~", ""])}{R.randint(0, 19)}.{R.randint(0, 30)}.{R.randint(0, 12)}",')
    out += [
        "go 1.22.5", "toolchain go1.23.1", "Python 3.12.4 (main, Jun  7 2024, 06:33:07) [GCC 12.2.0] on linux", "v20.15.1", "node --version\nv22.4.0",
        "rustc 1.80.0 (051478957 2024-07-21)", "git version 2.45.2", "Docker version 27.1.1, build 6312585", "Terraform v1.9.3\non linux_amd64",
        "kubectl version --client\nClient Version: v1.30.3\nKustomize Version: v5.0.4-0.20230601165947-6ce0bf390ce3",
        "openssl version\nOpenSSL 3.0.13 30 Jan 2024 (Library: OpenSSL 3.0.13 30 Jan 2024)", "Version: 1:9.6p1-3ubuntu13.5",
        "image: ghcr.io/acme/billing-api:2.14.0-rc.1", "version = \"0.19.3\"", "__version__ = \"4.2.0.dev3+g1a2b3c4\"",
        "v1.2.3-alpha.1+build.20261103.sha.5114f85", "Bumps [axios](https://github.com/axios/axios) from 1.6.8 to 1.7.4.",
        "<PackageReference Include=\"Newtonsoft.Json\" Version=\"13.0.3\" />", "implementation 'com.squareup.okhttp3:okhttp:4.12.0'",
        "gem 'rails', '~> 7.1.3'", "serde = { version = \"1.0.204\", features = [\"derive\"] }", "FROM node:20.15.1-bookworm-slim",
        "Linux build-07 6.8.0-45-generic #45-Ubuntu SMP PREEMPT_DYNAMIC x86_64 GNU/Linux", "Chrome/126.0.6478.127 Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
        "## [3.8.0] - 2026-10-14", "Release v0.42.1 · acme/cli", "postgres (PostgreSQL) 16.4 (Debian 16.4-1.pgdg120+1)", "redis_version:7.2.5",
        "apiVersion: apps/v1", "\"engines\": { \"node\": \">=18.17\" }", "requires-python = \">=3.10\"", "minSdkVersion 24",
    ]
    return out


def c_urls() -> list[str]:
    out = [
        "https://docs.python.org/3/library/secrets.html#secrets.token_urlsafe", "https://github.com/acme/web/pull/1432/files#diff-4f1e",
        "git@github.com:acme/infra.git", "ssh://git@gitlab.com/acme/platform/api.git", "https://gitlab.com/acme/platform/api/-/merge_requests/88",
        "https://api.stripe.com/v1/charges?limit=3", "https://api.github.com/repos/acme/web/actions/runs?per_page=50&page=2",
        "https://www.google.com/search?q=how+to+rotate+aws+access+keys", "https://example.com/signup?utm_source=newsletter&utm_medium=email&utm_campaign=q4",
        "s3://acme-prod-backups/postgres/2026-11-03/base.tar.zst", "gs://acme-ml-artifacts/models/ranker/v7/model.onnx",
        "https://acme.atlassian.net/browse/PLAT-2291", "https://sentry.io/organizations/acme/issues/4821930127/?project=1820391",
        "https://console.aws.amazon.com/iam/home#/users/ci-deployer?section=security_credentials", "https://platform.openai.com/api-keys",
        "https://github.com/settings/tokens/new?scopes=repo,read:packages&description=ci", "https://dashboard.stripe.com/test/apikeys",
        "http://localhost:3000/auth/callback?code=pending&state=login", "https://registry.npmjs.org/@acme%2fui", "https://pypi.org/simple/acme-core/",
        "https://hub.docker.com/r/acme/billing-api/tags?page=1&name=2.14", "https://raw.githubusercontent.com/acme/dotfiles/main/install.sh",
        "https://login.microsoftonline.com/common/oauth2/v2.0/authorize?client_id=00000003-0000-0000-c000-000000000000&response_type=code&scope=openid",
        "https://accounts.google.com/o/oauth2/v2/auth?response_type=code&scope=email&redirect_uri=https://app.acme.io/cb",
        "https://app.datadoghq.eu/dashboard/abc-def-ghi/api-latency?from_ts=1762160000000&to_ts=1762163600000",
        "wss://realtime.acme.io/socket/websocket?vsn=2.0.0", "https://grafana.acme.io/d/K8sNodes/node-exporter?orgId=1&refresh=30s",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s", "https://maps.app.goo.gl/9Xy7bQ2v8ZcWqLmR6", "https://bit.ly/3xYz9Qw",
        "file:///home/dev/projects/web/coverage/index.html", "postgres://localhost/app_test", "redis://localhost:6379/1",
        "mongodb://localhost:27017/?directConnection=true", "amqp://localhost:5672", "jdbc:postgresql://db.internal:5432/app?ssl=true",
        "https://hooks.acme.io/ci/status", "https://status.acme.io/incidents/z8k2m1n4p7q0", "https://en.wikipedia.org/wiki/JSON_Web_Token",
        "https://crates.io/crates/tokio/1.39.2", "https://pkg.go.dev/golang.org/x/crypto/ssh", "https://www.npmjs.com/package/jsonwebtoken",
        "https://cdn.acme.io/assets/app.3f9a1c7e.js", "https://auth0.com/docs/secure/tokens/access-tokens", "ftp://mirror.example.org/pub/linux/",
        "https://vault.acme.io/ui/vault/secrets/secret/show/prod/db", "https://acme.1password.com/vaults/all/allitems",
    ]
    for _ in range(15):
        out.append(f"https://{pick(['api', 'app', 'www', 'cdn', 'static'])}.{pick(['acme.io', 'northwind.dev', 'contoso.com'])}/{pick(['v1', 'v2', 'api'])}/{pick(['users', 'orders', 'reports', 'search'])}/{R.randint(1, 99999)}?{pick(['page', 'offset', 'limit', 'sort'])}={R.randint(1, 500)}&{pick(['fields=id,name', 'include=items', 'q=shoes', 'lang=de'])}")
    return out


def c_identifiers() -> list[str]:
    parts = ["user", "auth", "token", "session", "refresh", "access", "cache", "request", "handler", "factory", "provider", "config",
             "validation", "serializer", "payment", "invoice", "webhook", "signature", "retry", "backoff", "middleware", "password", "reset", "secret", "manager"]
    out = []
    for _ in range(35):
        ws = R.sample(parts, R.randint(4, 7))
        cam = ws[0] + "".join(w.title() for w in ws[1:])
        snake = "_".join(ws)
        out.append(pick([
            f"function {cam}(ctx, opts) {{", f"def {snake}(self, request, *, timeout=30):", f"const {cam.upper() if R.random() < 0.1 else cam} = use{cam[0].upper() + cam[1:]}();",
            f"class {''.join(w.title() for w in ws)}(BaseModel):", f"func (s *Server) {''.join(w.title() for w in ws)}(ctx context.Context) error {{",
            f"  {snake.upper()} = {R.randint(1, 500)}", f"import {{ {cam} }} from '@/lib/{ws[0]}/{ws[1]}';", f"private final {''.join(w.title() for w in ws[:2])}Service {cam};",
            f"from app.{ws[0]}.{ws[1]} import {snake}", f"test_{snake}_returns_401_when_expired",
        ]))
    tw = ["flex", "items-center", "justify-between", "gap-2", "px-4", "py-2", "rounded-lg", "border", "border-gray-200", "bg-white", "text-sm",
          "font-medium", "text-gray-700", "hover:bg-gray-50", "focus:outline-none", "focus:ring-2", "focus:ring-indigo-500", "dark:bg-gray-800",
          "md:w-1/2", "lg:grid-cols-3", "shadow-sm", "transition-colors", "duration-150", "disabled:opacity-50", "truncate", "max-w-prose"]
    for _ in range(15):
        out.append(f'<button class="{" ".join(R.sample(tw, R.randint(6, 12)))}" type="button">')
    for _ in range(6):
        out.append(f'<div className="{" ".join(R.sample(tw, R.randint(5, 10)))}">')
    for _ in range(6):
        out.append(f".{pick(['Button', 'Card', 'Header', 'Modal'])}_{pick(['root', 'title', 'icon'])}__{rs(5, ALNUM)} {{ display: flex; }}")
    out += [
        '!function(e,t){"object"==typeof exports&&"undefined"!=typeof module?module.exports=t():"function"==typeof define&&define.amd?define(t):(e="undefined"!=typeof globalThis?globalThis:e||self).Popper=t()}(this,function(){"use strict";',
        'var n=function(e){return e&&e.__esModule?e:{default:e}},r=n(require("react")),o=function(t,e){for(var i=0;i<e.length;i++){var r=e[i];r.enumerable=r.enumerable||!1}};',
        '(self.webpackChunk_N_E=self.webpackChunk_N_E||[]).push([[4888],{41260:function(e,t,n){n.r(t),n.d(t,{default:function(){return a}});var r=n(85893)',
        'e.exports=function(t){return null!=t&&"object"==typeof t&&!0===t._isBuffer};const{a:Ot,b:kt}=Zt;let Qe=0,Xe=Je.length;for(;Qe<Xe;Qe++)Ye(Je[Qe]);',
        "static/chunks/pages/_app-3f9a1c7e2b4d6f80.js", "static/css/4c8e2a1f9b3d7e60.css", "main.7f3a9c2e.bundle.js", "vendor~main.d41d8cd9.chunk.js",
        "_ZN4core3ptr85drop_in_place$LT$std..rt..lang_start$LT$$LP$$RP$$GT$..$u7b$$u7b$closure$u7d$$u7d$$GT$17h5c1e0f0bb1b7b8a1E",
        "_ZNSt6vector4pushEv", "org.springframework.security.oauth2.server.resource.authentication.JwtAuthenticationProvider",
        "com.amazonaws.services.secretsmanager.AWSSecretsManagerClientBuilder", "Microsoft.Extensions.Configuration.AzureKeyVault",
        "AbstractSingletonProxyFactoryBean", "NSURLAuthenticationMethodClientCertificate", "kCFStreamSSLValidatesCertificateChain",
        "ERR_SSL_VERSION_OR_CIPHER_MISMATCH", "ECONNREFUSED", "CVE-2024-3094", "GHSA-jfh8-c2jp-5v3q",
        "--color-background-secondary: var(--gray-2);", "@media (min-width: 768px) and (prefers-reduced-motion: no-preference) {",
        "grid-template-columns: repeat(auto-fill, minmax(min(100%, 18rem), 1fr));", "transform: translate3d(0, -50%, 0) rotate(45deg);",
        "aria-describedby=\"password-requirements\"", "<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required minlength=\"12\">",
        "<input type=\"hidden\" name=\"csrfmiddlewaretoken\" value=\"{{ csrf_token }}\">",
    ]
    return out


def c_paths() -> list[str]:
    return [
        "/home/dev/.config/gh/hosts.yml", "~/.aws/credentials", "~/.ssh/id_ed25519.pub", "~/.docker/config.json", "~/.npmrc", "~/.pypirc",
        "C:\\Users\\ana\\AppData\\Roaming\\npm\\node_modules\\typescript\\lib\\tsc.js", "C:\\Program Files\\Git\\usr\\bin\\ssh-keygen.exe",
        "/var/lib/docker/overlay2/" + sha64() + "/merged/usr/lib/python3.12", "node_modules/.pnpm/@babel+core@7.24.9/node_modules/@babel/core/lib/index.js",
        "/usr/local/lib/python3.12/site-packages/requests/adapters.py", "/etc/ssl/certs/ca-certificates.crt", "/etc/letsencrypt/live/acme.io/fullchain.pem",
        "/run/secrets/db_password", "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", "secrets/prod.enc.yaml", "config/credentials.yml.enc",
        "src/components/auth/PasswordResetForm.tsx", "internal/tokens/refresh_test.go", "app/services/api_key_rotator.rb", "tests/fixtures/jwt/expired.json",
        "/Users/priya/Library/Application Support/Code/User/settings.json", "/opt/homebrew/Cellar/openssl@3/3.3.1/bin/openssl",
        "target/release/build/ring-" + rs(16, HEX) + "/out/libring_core_0_17_8_.a", "~/.cache/huggingface/hub/models--bert-base-uncased/snapshots/" + sha40() + "/config.json",
        "/tmp/pytest-of-dev/pytest-412/test_token_refresh0/state.db", "/proc/self/mountinfo", "\\\\fileserver\\shared\\reports\\2026\\Q4.xlsx",
        "D:\\a\\_work\\1\\s\\src\\Api\\appsettings.Development.json", "/github/workspace/.github/workflows/deploy.yml",
        ".git/refs/heads/feature/token-rotation", ".terraform/providers/registry.terraform.io/hashicorp/aws/5.62.0/linux_amd64",
        "~/.kube/config", "/etc/nginx/sites-enabled/default", "/var/log/nginx/access.log.2.gz", "./scripts/rotate-keys.sh",
        "lib/python3.11/site-packages/cryptography/hazmat/primitives/serialization/ssh.py", "/srv/app/releases/20261103101522/public/assets",
        "~/.local/share/keyrings/login.keyring", "%APPDATA%\\gcloud\\application_default_credentials.json", "$HOME/.config/acme/token",
        "vendor/github.com/golang-jwt/jwt/v5/parser.go", "src/main/resources/application-prod.yml", "android/app/src/main/res/values/strings.xml",
        "ios/Runner.xcodeproj/project.pbxproj", "/private/var/folders/3x/9qz_" + rs(20, LO + DIG) + "/T/tmpk2j3h4/",
    ]


def c_numbers() -> list[str]:
    out = []
    for _ in range(8):
        out.append(pick([when(), f"{R.randint(1_700_000_000, 1_800_000_000)}", f"Date: {gitdate()}", f"{R.randint(1_700_000_000_000, 1_800_000_000_000)} ms since epoch"]))
    for _ in range(8):
        out.append(pick([f"Connected to {ip4()} port {pick([22, 443, 5432, 6379])}", f"inet {ip4()}/24 brd {ip4()} scope global eth0", f"allow {ip4()}/32;",
                         f"2001:db8:{rs(4, HEX)}:{rs(4, HEX)}::{rs(2, HEX)}", f"ether {':'.join(rs(2, HEX) for _ in range(6))}  txqueuelen 1000", f"cidr_blocks = [\"10.{R.randint(0, 255)}.0.0/16\"]"]))
    out += [
        "Total: 1,284,392 rows in 3.42s (375,553 rows/s)", "p50=12ms p95=87ms p99=243ms max=1.9s", "Memory: 3.2 GiB / 15.5 GiB (20.6%)",
        "3.14159265358979323846264338327950288419716939937510", "6.02214076e23", "0x7ffd5e8c3a40", "ISBN 978-0-13-468599-1", "+49 30 12345678",
        "Order #100234871 shipped", "Invoice INV-2026-004712", "Build 20261103.7 succeeded", "uptime 41 days, 3:12, load average: 0.42, 0.51, 0.47",
        "Lat 52.520008, Lon 13.404954", "checksum: 0x1D0F", "exit status 137", "HTTP/2 429 Too Many Requests; retry-after: 30",
        "Estimated cost: $0.0142 (input 3,112 tokens, output 486 tokens)", "max_tokens=4096 temperature=0.2 top_p=0.95",
        "CPU times: user 1.21 s, sys: 84.3 ms, total: 1.29 s\nWall time: 1.47 s", "rate limit: 4999/5000 remaining, resets at 1762167600",
    ]
    return out


def c_ids() -> list[str]:
    out = []
    for _ in range(14):
        out.append(pick([f"cus_{rs(14, ALNUM)}", f"pi_{rs(24, ALNUM)}", f"ch_{rs(24, ALNUM)}", f"price_{rs(24, ALNUM)}", f"evt_{rs(24, ALNUM)}", f"sub_{rs(24, ALNUM)}", f"in_{rs(24, ALNUM)}", f"prod_{rs(14, ALNUM)}"])
                   + pick(["", f" status=succeeded amount={R.randint(100, 99999)} currency=eur", f" -> created", " (livemode: false)"]))
    for _ in range(14):
        out.append(pick([f"i-0{rs(16, HEX)}", f"ami-0{rs(16, HEX)}", f"sg-0{rs(16, HEX)}", f"vpc-0{rs(16, HEX)}", f"subnet-0{rs(16, HEX)}", f"vol-0{rs(16, HEX)}",
                         f"arn:aws:iam::{digits(12, 12)}:role/{pick(['ci-deployer', 'lambda-exec', 'eks-node'])}", f"arn:aws:lambda:eu-west-1:{digits(12, 12)}:function:{pick(PROJECTS)}",
                         f"arn:aws:s3:::acme-{pick(['logs', 'assets', 'backups'])}-{digits(12, 12)}/*", f"eni-0{rs(16, HEX)}", f"snap-0{rs(16, HEX)}"]))
    ul = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for _ in range(8):
        out.append(pick([f"job_id=01J{rs(23, ul)}", f"\"event_id\": \"01H{rs(23, ul)}\"", f"Created run 01J{rs(23, ul)}"]))
    for _ in range(8):
        out.append(pick([f"traceparent: 00-{rs(32, HEX)}-{rs(16, HEX)}-01", f"X-Amzn-Trace-Id: Root=1-{rs(8, HEX)}-{rs(24, HEX)}", f"x-datadog-trace-id: {digits(19, 19)}",
                         f"Sentry event {rs(32, HEX)} sent", f"CF-Ray: {rs(16, HEX)}-FRA", f"x-amz-request-id: {rs(16, HEXUP)}", f"x-goog-request-id: {rs(16, HEX)}"]))
    for _ in range(10):
        out.append(pick([f"{pick(['api', 'worker', 'web'])}-{rs(9, HEX[:10] + 'bcdfghjklmnpqrstvwxz')[:9]}-{rs(5, 'bcdfghjklmnpqrstvwxz2456789')}   1/1     Running   0          {R.randint(1, 59)}m",
                         f"container {rs(12, HEX)} exited with code 0", f"ObjectId(\"{rs(24, HEX)}\")", f"\"_id\": \"{rs(24, HEX)}\"",
                         f"Slack channel C0{rs(9, UP + DIG)} archived", f"discord message id {digits(18, 19)}", f"tests/test_parse.py::test_roundtrip[case-{rs(6, HEX)}] PASSED"]))
    for _ in range(8):
        out.append(pick([f"https://youtu.be/{rs(11, B64URL)}", f"nanoid: {rs(21, B64URL)}", f"Run #{R.randint(1000, 99999)} (id {digits(10, 11)})",
                         f"gid://shopify/Product/{digits(13, 13)}", f"G-{rs(10, UP + DIG)}", f"ca-pub-{digits(16, 16)}", f"projects/{pick(PROJECTS)}-{R.randint(100000, 999999)}/locations/europe-west1",
                         f"Build ID: {rs(8, HEX)}-{rs(4, HEX)}-{rs(4, HEX)}-{rs(4, HEX)}-{rs(12, HEX)}"]))
    return out


def c_logs() -> list[str]:
    out = []
    paths = ["/api/v1/orders", "/healthz", "/login", "/static/app.css", "/api/v1/users/me", "/oauth/callback", "/metrics", "/api/v2/search?q=boots"]
    for _ in range(16):
        out.append(f'{ip4()} - - [{R.randint(1, 28):02d}/Nov/2026:{R.randint(0, 23):02d}:{R.randint(0, 59):02d}:{R.randint(0, 59):02d} +0000] "{pick(["GET", "POST", "PUT"])} {pick(paths)} HTTP/1.1" {pick([200, 200, 201, 204, 301, 401, 404, 500])} {R.randint(0, 90000)} "-" "{pick(["Mozilla/5.0", "curl/8.5.0", "kube-probe/1.30"])}"')
    lv = ["INFO", "DEBUG", "WARN", "ERROR"]
    msgs = ["token refreshed for user_id=4821 expires_in=3600", "login failed for user 'ana' from 10.0.3.4: invalid password", "password reset email queued for user_id=93",
            "api key rotated for project billing-api (old key revoked)", "loaded 14 secrets from vault path secret/data/prod", "JWT validation failed: token expired at 2026-11-03T09:00:00Z",
            "rate limited client_id=web-frontend retry_after=30s", "connected to postgres host=db.internal db=app user=app sslmode=require",
            "cache miss key=user:4821:profile", "worker 3 picked job 01JCF2 queue=high attempts=1", "GET https://api.github.com/user 200 in 142ms",
            "Authorization header present but empty", "missing env var OPENAI_API_KEY, falling back to local model", "webhook signature verified (t=1762164000)",
            "session created sid_len=32 ttl=86400", "secret 'db-credentials' synced to namespace prod", "credential helper 'osxkeychain' returned no entry",
            "using token from keyring (source=keyring)", "OAuth state mismatch, aborting login", "SMTP AUTH PLAIN succeeded for noreply@acme.io"]
    for m in msgs:
        out.append(pick([f"{when()} {pick(lv)} {m}", f"[{pick(lv)}] {m}", f'time="{when()}" level={pick(lv).lower()} msg="{m}"', f"{gitdate()[4:19]} {pick(HOSTS)} app[{R.randint(100, 9999)}]: {m}"]))
    out += [
        'Warning  FailedMount  3m (x12 over 21m)  kubelet  MountVolume.SetUp failed for volume "app-secrets" : secret "app-secrets" not found',
        "Normal   Pulled     45s   kubelet  Successfully pulled image \"ghcr.io/acme/api:2.14.0\" in 2.31s",
        "Nov 03 10:15:22 web-1 systemd[1]: Started nginx.service - A high performance web server.",
        "Nov 03 10:15:23 web-1 sshd[4821]: Accepted publickey for deploy from 10.0.0.8 port 52144 ssh2: ED25519 SHA256:3Cq1PlaTRjN0nBBpcVVr9u1LnYB9QmxMpDqGGh4lG2c",
        "Nov 03 10:16:01 web-1 sshd[4830]: Failed password for invalid user admin from 185.220.101.4 port 40112 ssh2",
        "Nov 03 10:16:02 web-1 sudo[4901]:     ana : TTY=pts/0 ; PWD=/home/ana ; USER=root ; COMMAND=/usr/bin/systemctl restart api",
        "{\"level\":\"info\",\"ts\":1762164000.123,\"caller\":\"server/main.go:88\",\"msg\":\"listening\",\"addr\":\":8080\"}",
        "{\"severity\":\"WARNING\",\"message\":\"slow query (1843 ms): SELECT * FROM invoices WHERE customer_id = $1\",\"logging.googleapis.com/trace\":\"projects/acme/traces/4bf92f3577b34da6a3ce929d0e0e4736\"}",
        "W1103 10:12:44.231871       1 reflector.go:539] failed to list *v1.Secret: secrets is forbidden: User \"system:serviceaccount:ci:runner\" cannot list resource \"secrets\"",
        "level=error ts=2026-11-03T10:12:44Z caller=alertmanager.go:312 msg=\"notify retry canceled\" integration=slack err=\"context deadline exceeded\"",
    ]
    return out


def c_traces() -> list[str]:
    return [
        "Traceback (most recent call last):\n  File \"/srv/app/auth/tokens.py\", line 57, in verify\n    claims = jwt.decode(token, key, algorithms=[\"RS256\"])\n  File \"/usr/local/lib/python3.12/site-packages/jwt/api_jwt.py\", line 211, in decode\n    raise ExpiredSignatureError(\"Signature has expired\")\njwt.exceptions.ExpiredSignatureError: Signature has expired",
        "Traceback (most recent call last):\n  File \"manage.py\", line 22, in <module>\n    main()\n  File \"/app/settings.py\", line 14, in <module>\n    SECRET_KEY = os.environ[\"DJANGO_SECRET_KEY\"]\n  File \"<frozen os>\", line 714, in __getitem__\nKeyError: 'DJANGO_SECRET_KEY'",
        "Traceback (most recent call last):\n  File \"/app/worker.py\", line 91, in run\n    conn = psycopg.connect(os.environ[\"DATABASE_URL\"])\npsycopg.OperationalError: connection failed: FATAL:  password authentication failed for user \"app\"",
        "botocore.exceptions.ClientError: An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: The security token included in the request is invalid.",
        "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
        "openai.AuthenticationError: Error code: 401 - {'error': {'message': 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'type': 'invalid_request_error', 'code': 'invalid_api_key'}}",
        "anthropic.AuthenticationError: Error code: 401 - {'type': 'error', 'error': {'type': 'authentication_error', 'message': 'invalid x-api-key'}}",
        "Exception in thread \"main\" java.lang.IllegalStateException: Failed to load ApplicationContext\n\tat org.springframework.test.context.cache.DefaultCacheAwareContextLoaderDelegate.loadContext(DefaultCacheAwareContextLoaderDelegate.java:180)\n\tat org.springframework.boot.SpringApplication.run(SpringApplication.java:335)\nCaused by: java.lang.IllegalArgumentException: Could not resolve placeholder 'DB_PASSWORD' in value \"${DB_PASSWORD}\"",
        "javax.net.ssl.SSLHandshakeException: PKIX path building failed: sun.security.provider.certpath.SunCertPathBuilderException: unable to find valid certification path to requested target\n\tat java.base/sun.security.ssl.Alert.createSSLException(Alert.java:130)",
        "TypeError: Cannot read properties of undefined (reading 'accessToken')\n    at refreshSession (/app/src/auth/session.ts:48:31)\n    at processTicksAndRejections (node:internal/process/task_queues:95:5)\n    at async /app/src/server.ts:112:7",
        "Error: secretOrPrivateKey must have a value\n    at module.exports [as sign] (/app/node_modules/jsonwebtoken/sign.js:107:20)\n    at issueToken (/app/src/auth.js:22:14)",
        "UnhandledPromiseRejectionWarning: HttpError: Bad credentials - https://docs.github.com/rest\n    at /home/runner/work/_actions/actions/github-script/v7/dist/index.js:9537:21",
        "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x18 pc=0x6f2c3a]\n\ngoroutine 1 [running]:\nmain.(*Client).Token(0x0)\n\t/src/cmd/cli/client.go:41 +0x1a\nmain.main()\n\t/src/cmd/cli/main.go:27 +0x65\nexit status 2",
        "thread 'main' panicked at src/config.rs:33:52:\ncalled `Result::unwrap()` on an `Err` value: NotPresent\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
        "Unhandled exception. System.InvalidOperationException: The ConnectionString property has not been initialized.\n   at Microsoft.Data.SqlClient.SqlConnection.PermissionDemand()\n   at Api.Program.Main(String[] args) in /src/Api/Program.cs:line 31",
        "ActiveSupport::MessageEncryptor::InvalidMessage (ActiveSupport::MessageEncryptor::InvalidMessage)\n  config/initializers/secrets.rb:4:in `<main>'",
        "fatal: Authentication failed for 'https://github.com/acme/infra.git/'",
        "remote: Invalid username or password.\nfatal: Authentication failed for 'https://gitlab.com/acme/platform/api.git/'",
        "Error: error configuring Terraform AWS Provider: no valid credential sources for Terraform AWS Provider found.\n\nPlease see https://registry.terraform.io/providers/hashicorp/aws\nfor more information about providing credentials.",
        "npm ERR! code E401\nnpm ERR! Unable to authenticate, your authentication token seems to be invalid.\nnpm ERR! To correct this please try logging in again with:\nnpm ERR!     npm login",
        "ERROR: HTTP Error 403: Invalid or non-existent authentication information. See https://pypi.org/help/#invalid-auth for more information.",
        "Error response from daemon: Get \"https://registry-1.docker.io/v2/\": unauthorized: incorrect username or password",
        "ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], no supported methods remain",
        "Permission denied (publickey).\nfatal: Could not read from remote repository.",
        "E   AssertionError: assert 401 == 200\nE    +  where 401 = <Response [401]>.status_code\n\ntests/test_api.py:42: AssertionError",
        "  File \"/app/.venv/lib/python3.12/site-packages/httpx/_transports/default.py\", line 86, in map_httpcore_exceptions\n    raise mapped_exc(message) from exc\nhttpx.ConnectTimeout: timed out",
        "RuntimeError: Event loop is closed\nsys:1: RuntimeWarning: coroutine 'Client.refresh_token' was never awaited",
        "KeyError: 'access_token'\n\nDuring handling of the above exception, another exception occurred:\n\nTraceback (most recent call last):\n  File \"/app/oauth.py\", line 30, in callback\n    raise LoginError(\"provider returned no token\") from e",
        "sqlalchemy.exc.IntegrityError: (psycopg.errors.UniqueViolation) duplicate key value violates unique constraint \"api_keys_prefix_key\"\nDETAIL:  Key (prefix)=(ak_live) already exists.",
        "jsonwebtoken.JsonWebTokenError: invalid signature",
        "google.auth.exceptions.DefaultCredentialsError: Your default credentials were not found. To set up Application Default Credentials, see https://cloud.google.com/docs/authentication/external/set-up-adc for more information.",
        "Error: Cannot find module '@acme/ui'\nRequire stack:\n- /app/apps/web/next.config.js",
        "  at com.acme.billing.StripeClient.charge(StripeClient.kt:88)\n  at com.acme.billing.CheckoutService.complete(CheckoutService.kt:142)",
        "Segmentation fault (core dumped)", "Killed: 9", "OOMKilled: container 'worker' exceeded memory limit 512Mi",
    ]


def c_cli() -> list[str]:
    out = [
        f"============================= test session starts ==============================\nplatform linux -- Python 3.12.4, pytest-8.3.2, pluggy-1.5.0\nrootdir: /home/dev/{pick(PROJECTS)}\nconfigfile: pyproject.toml\nplugins: hypothesis-6.108.5, cov-5.0.0\ncollected 412 items",
        "tests/test_auth.py ........F...                                          [ 12%]\ntests/test_tokens.py ..................                                   [ 16%]",
        "FAILED tests/test_auth.py::test_refresh_rotates_token - AssertionError: assert 'old' != 'old'",
        "========== 1 failed, 411 passed, 3 skipped, 2 warnings in 48.31s ==========",
        "Name                      Stmts   Miss  Cover\n---------------------------------------------\nsrc/auth/tokens.py          112      4    96%\nsrc/auth/password.py         64      0   100%\n---------------------------------------------\nTOTAL                      2841    193    93%",
        "added 1342 packages, and audited 1343 packages in 38s\n\n212 packages are looking for funding\n  run `npm fund` for details\n\n2 moderate severity vulnerabilities",
        "npm WARN deprecated inflight@1.0.6: This module is not supported, and leaks memory.",
        "> web@0.1.0 build\n> next build\n\n   ▲ Next.js 14.2.5\n   Creating an optimized production build ...\n ✓ Compiled successfully",
        "Collecting requests>=2.31\n  Downloading requests-2.32.3-py3-none-any.whl (64 kB)\n     ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 64.9/64.9 kB 3.1 MB/s eta 0:00:00",
        "Successfully installed certifi-2024.7.4 charset-normalizer-3.3.2 idna-3.7 requests-2.32.3 urllib3-2.2.2",
        "ERROR: Could not find a version that satisfies the requirement acme-core==9.9 (from versions: 3.0.0, 3.1.0, 3.2.1)",
        "On branch feature/token-rotation\nYour branch is ahead of 'origin/feature/token-rotation' by 2 commits.\n  (use \"git push\" to publish your local commits)\n\nChanges not staged for commit:\n\tmodified:   src/auth/tokens.py",
        "Enumerating objects: 15, done.\nCounting objects: 100% (15/15), done.\nDelta compression using up to 8 threads\nCompressing objects: 100% (8/8), done.\nWriting objects: 100% (8/8), 1.21 KiB | 1.21 MiB/s, done.\nTotal 8 (delta 6), reused 0 (delta 0), pack-reused 0",
        "remote: Create a pull request for 'feature/token-rotation' on GitHub by visiting:\nremote:      https://github.com/acme/web/pull/new/feature/token-rotation",
        "Cloning into 'infra'...\nremote: Enumerating objects: 4821, done.\nReceiving objects: 100% (4821/4821), 2.31 MiB | 8.12 MiB/s, done.\nResolving deltas: 100% (2990/2990), done.",
        "error: failed to push some refs to 'github.com:acme/web.git'\nhint: Updates were rejected because the remote contains work that you do not have locally.",
        "CONFLICT (content): Merge conflict in src/auth/tokens.py\nAutomatic merge failed; fix conflicts and then commit the result.",
        "[+] Building 42.3s (14/14) FINISHED\n => [internal] load build definition from Dockerfile\n => [builder 4/6] RUN pip install --no-cache-dir -r requirements.txt",
        "Terraform will perform the following actions:\n\n  # aws_secretsmanager_secret.db will be created\n  + resource \"aws_secretsmanager_secret\" \"db\" {\n      + arn  = (known after apply)\n      + name = \"prod/db\"\n    }\n\nPlan: 1 to add, 0 to change, 0 to destroy.",
        "  # aws_db_instance.main will be updated in-place\n  ~ resource \"aws_db_instance\" \"main\" {\n      ~ password = (sensitive value)\n    }",
        "NAME                       READY   STATUS    RESTARTS   AGE\napi-7d9f8c6b5-x2kqz        1/1     Running   0          3d\nworker-5c8d7f9b4-m8wqp     1/1     Running   2          3d",
        "NAME                  TYPE                                  DATA   AGE\napp-secrets           Opaque                                4      41d\ndefault-token-x8k2m   kubernetes.io/service-account-token   3      212d",
        "$ gh auth status\ngithub.com\n  ✓ Logged in to github.com account ana-souza (keyring)\n  - Active account: true\n  - Git operations protocol: https\n  - Token: gho_************************************\n  - Token scopes: 'gist', 'read:org', 'repo', 'workflow'",
        "Login Succeeded", "WARNING! Your password will be stored unencrypted in /home/dev/.docker/config.json.", "Authenticated as ana@acme.io (token valid for 23h 59m)",
        "Uploading distributions to https://upload.pypi.org/legacy/\nUploading acme_core-3.2.1-py3-none-any.whl\n100% ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━ 21.4/21.4 kB • 00:00",
        "+ acme-ui@2.7.0", "Compiling tokio v1.39.2\nCompiling acme-cli v0.4.0 (/home/dev/acme-cli)\n    Finished `release` profile [optimized] target(s) in 1m 12s",
        "ok  \tgithub.com/acme/api/internal/tokens\t0.412s\tcoverage: 91.3% of statements", "--- FAIL: TestRefreshToken (0.00s)\n    refresh_test.go:41: got 401, want 200",
        "Found 3 errors in 2 files (checked 84 source files)", "All checks passed!", "src/auth/tokens.py:41:5: F841 Local variable `secret` is assigned to but never used",
        "error[E0425]: cannot find value `api_key` in this scope\n  --> src/main.rs:12:18", "src/client.ts(44,7): error TS2322: Type 'string | undefined' is not assignable to type 'string'.",
        "Run actions/checkout@v4\nSyncing repository: acme/web\nGetting Git version info", "Error: Process completed with exit code 1.",
        "Secret source: Actions\nPrepare workflow directory\nPrepare all required actions", "Waiting for a runner to pick up this job...",
        "$ vault status\nKey             Value\n---             -----\nSeal Type       shamir\nInitialized     true\nSealed          false\nTotal Shares    5\nThreshold       3\nVersion         1.17.2",
        "$ aws sts get-caller-identity\n{\n    \"UserId\": \"AIDA" + rs(17, UP + DIG) + "\",\n    \"Account\": \"" + digits(12, 12) + "\",\n    \"Arn\": \"arn:aws:iam::" + digits(12, 12) + ":user/ci-deployer\"\n}",
        "Generating public/private ed25519 key pair.\nYour identification has been saved in /home/dev/.ssh/id_ed25519\nYour public key has been saved in /home/dev/.ssh/id_ed25519.pub",
        "The key's randomart image is:\n+--[ED25519 256]--+\n|      .o+*=o.    |\n|       oo+B+     |\n|        +=*o.    |\n+----[SHA256]-----+",
        "psql (16.4)\nSSL connection (protocol: TLSv1.3, cipher: TLS_AES_256_GCM_SHA384, compression: off)\nType \"help\" for help.",
        "mysql: [Warning] Using a password on the command line interface can be insecure.", "redis-cli ping\nPONG",
        "HTTP/2 401\ncontent-type: application/json\nwww-authenticate: Bearer realm=\"api\", error=\"invalid_token\"\n\n{\"error\":\"invalid_token\",\"error_description\":\"The access token expired\"}",
        "HTTP/1.1 200 OK\nContent-Type: application/json; charset=utf-8\nCache-Control: no-store\nStrict-Transport-Security: max-age=63072000\nX-RateLimit-Remaining: 59",
        "make: *** [Makefile:42: test] Error 1", "✨  Done in 12.84s.", "Lockfile is up to date, resolution step is skipped", "Already up to date.",
    ]
    for _ in range(12):
        f = pick(FILES)
        out.append(pick([f"tests/test_{pick(WORDS)}.py::test_{pick(WORDS)}_{pick(WORDS)} PASSED [{R.randint(1, 99):3d}%]",
                         f" M {f}", f"?? {f.rsplit('/', 1)[0]}/{pick(WORDS)}.py", f"{f}:{R.randint(1, 400)}:{R.randint(1, 80)}: {pick(['E501 Line too long (104 > 100)', 'W291 trailing whitespace', 'F401 `os` imported but unused'])}",
                         f"{pick(PROJECTS)} | {pick(['Creating', 'Starting', 'Stopping'])} ... done", f"Step {R.randint(1, 12)}/12 : COPY . /app"]))
    return out


def c_sql() -> list[str]:
    return [
        "CREATE TABLE users (\n  id BIGSERIAL PRIMARY KEY,\n  email TEXT NOT NULL UNIQUE,\n  password_hash TEXT NOT NULL,\n  created_at TIMESTAMPTZ NOT NULL DEFAULT now()\n);",
        "CREATE TABLE api_keys (id UUID PRIMARY KEY, prefix VARCHAR(12) NOT NULL, key_hash BYTEA NOT NULL, last_used_at TIMESTAMPTZ);",
        "UPDATE users SET password_hash = $1, password_changed_at = now() WHERE id = $2;",
        "SELECT id, email FROM users WHERE reset_token_hash = $1 AND reset_token_expires_at > now();",
        "DELETE FROM sessions WHERE expires_at < now() - interval '7 days';",
        "SELECT count(*) FILTER (WHERE revoked) AS revoked, count(*) AS total FROM tokens;",
        "GRANT SELECT, INSERT, UPDATE ON ALL TABLES IN SCHEMA public TO app_rw;",
        "REVOKE ALL ON secrets FROM PUBLIC;", "ALTER TABLE tokens ADD COLUMN scopes TEXT[] NOT NULL DEFAULT '{}';",
        "CREATE INDEX CONCURRENTLY idx_tokens_user_id ON tokens (user_id) WHERE revoked_at IS NULL;",
        "SELECT u.email, t.prefix, t.created_at FROM tokens t JOIN users u ON u.id = t.user_id ORDER BY t.created_at DESC LIMIT 20;",
        "INSERT INTO audit_log (actor, action, target) VALUES ('ana', 'token.revoke', 'tok_482');",
        "SELECT * FROM pg_stat_activity WHERE state = 'active' AND query NOT ILIKE '%pg_stat_activity%';",
        "EXPLAIN ANALYZE SELECT * FROM orders WHERE customer_id = 4821 AND status = 'paid';",
        "WITH recent AS (SELECT user_id, max(created_at) AS last FROM logins GROUP BY user_id) SELECT * FROM recent WHERE last < now() - interval '90 days';",
        "SELECT rolname, rolcanlogin, rolpassword IS NOT NULL AS has_password FROM pg_authid;",
        "CREATE EXTENSION IF NOT EXISTS pgcrypto;", "SELECT crypt('input', gen_salt('bf', 12));",
        "SELECT encode(digest(api_key, 'sha256'), 'hex') FROM incoming LIMIT 1;",
        "BEGIN;\nUPDATE accounts SET balance = balance - 100 WHERE id = 1;\nUPDATE accounts SET balance = balance + 100 WHERE id = 2;\nCOMMIT;",
        "SELECT date_trunc('hour', created_at) AS h, count(*) FROM events GROUP BY 1 ORDER BY 1;",
        "MERGE INTO inventory AS t USING incoming AS s ON t.sku = s.sku WHEN MATCHED THEN UPDATE SET qty = t.qty + s.qty;",
        "SHOW VARIABLES LIKE 'validate_password%';", "SELECT user, host, plugin FROM mysql.user;",
        "db.users.find({ email: /@acme\\.io$/ }, { password_hash: 0 }).limit(10)",
        "db.tokens.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 })",
        "SELECT JSON_EXTRACT(payload, '$.user.id') FROM webhooks WHERE source = 'stripe';",
        "CREATE POLICY tenant_isolation ON documents USING (tenant_id = current_setting('app.tenant_id')::uuid);",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO readonly;",
        "SELECT pg_size_pretty(pg_total_relation_size('events'));",
        "VACUUM (VERBOSE, ANALYZE) sessions;", "SELECT * FROM information_schema.columns WHERE column_name ILIKE '%token%';",
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE email = 'ana@acme.io';",
        "CREATE TABLE oauth_clients (client_id TEXT PRIMARY KEY, client_secret_hash TEXT NOT NULL, redirect_uris TEXT[]);",
        "SELECT id FROM sessions WHERE token_hash = sha256($1::bytea);",
    ]


def c_regexes() -> list[str]:
    return [
        r"^ghp_[A-Za-z0-9]{36}$", r"(?i)(api[_-]?key|secret)\s*[:=]\s*['\"]?[A-Za-z0-9/+]{32,}['\"]?", r"AKIA[0-9A-Z]{16}",
        r"xox[baprs]-[0-9A-Za-z-]{10,48}", r"-----BEGIN (RSA|EC|OPENSSH) PRIVATE KEY-----", r"eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+",
        r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)*$", r"^(?=.*[A-Z])(?=.*[a-z])(?=.*\d)(?=.*[^\w\s]).{12,}$",
        r"\b(?:\d{1,3}\.){3}\d{1,3}\b", r"^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?(?:\+([0-9A-Za-z.-]+))?$",
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", r"^sha256:[a-f0-9]{64}$", r"sk-[A-Za-z0-9]{20}T3BlbkFJ[A-Za-z0-9]{20}",
        r"glpat-[0-9A-Za-z_-]{20}", r"SG\.[\w-]{22}\.[\w-]{43}", r"(?P<scheme>[a-z+]+)://(?P<user>[^:@/]+):(?P<password>[^@/]+)@",
        "PASSWORD_RE = re.compile(r\"password\\s*=\\s*(\\S+)\", re.I)", "const TOKEN_PATTERN = /^[A-Za-z0-9_-]{20,}$/;",
        "grep -rEn '(secret|token|passw(or)?d)\\s*[:=]' --include='*.yml' .", "rg -i 'api[_-]?key' -g '!node_modules'",
        "sed -E 's/(Authorization: Bearer )[^ ]+/\\1[REDACTED]/g'", "awk -F: '$2 == \"\" { print $1 }' /etc/shadow",
        r"^\s*#.*$", r"(?m)^\s*$\n", r"\$\{([A-Z_][A-Z0-9_]*)(:-[^}]*)?\}", r"[\p{L}\p{N}_]+", r"(?<!\\)\"(?:\\.|[^\"\\])*\"",
        "if re.fullmatch(r\"[A-Za-z0-9_-]{43}\", candidate):", "assert re.match(r'^hvs\\.[A-Za-z0-9]{24}$', token_format)",
        "pattern: '^(?!.*password).*$'", "  regex: '(?i)bearer\\s+[a-z0-9._~+/-]+=*'", r"^[A-Z]{2}\d{2}[A-Z0-9]{11,30}$",
        r"\b[0-9a-f]{40}\b", r"^data:image/(png|jpeg);base64,", "re.compile(r'(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}')",
        "/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/", r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$",
    ]


def c_code() -> list[str]:
    return [
        "def hash_password(password: str) -> str:\n    return argon2.PasswordHasher().hash(password)",
        "if not hmac.compare_digest(expected_signature, received_signature):\n    raise InvalidSignature()",
        "token = secrets.token_urlsafe(32)", "api_key = generate_api_key(prefix=\"ak_live\")", "password = request.form[\"password\"]",
        "user.set_password(form.cleaned_data['new_password1'])", "if len(password) < MIN_PASSWORD_LENGTH:\n    errors.append('too short')",
        "const token = await getAccessTokenSilently({ authorizationParams: { audience } });", "const { data: session } = useSession();",
        "res.cookie('session', token, { httpOnly: true, secure: true, sameSite: 'lax', maxAge: 86400000 });",
        "headers['Authorization'] = `Bearer ${token}`;", "req.Header.Set(\"Authorization\", \"Bearer \"+token)",
        "func (c *Client) refreshToken(ctx context.Context) (string, error) {", "let token = client.fetch_token().await?;",
        "@app.post('/login')\nasync def login(form: OAuth2PasswordRequestForm = Depends()):", "if (!apiKey) throw new Error('API key is required');",
        "private String password; // never serialised, see @JsonIgnore", "@JsonProperty(access = Access.WRITE_ONLY)\nprivate String password;",
        "key = Fernet.generate_key()", "signing_key = load_pem_private_key(path.read_bytes(), password=None)", "priv = ed25519.Ed25519PrivateKey.generate()",
        "ssh-keygen -t ed25519 -C \"ana@acme.io\" -f ~/.ssh/id_ed25519", "openssl genpkey -algorithm ed25519 -out private.pem",
        "openssl rand -base64 32", "python -c 'import secrets; print(secrets.token_hex(32))'", "head -c 32 /dev/urandom | base64",
        "gh secret set STRIPE_SECRET_KEY < stripe.key", "kubectl create secret generic db --from-file=password=./password.txt",
        "kubectl get secret app-secrets -o yaml | yq '.data | keys'", "vault token lookup", "vault login -method=oidc role=dev",
        "aws configure sso --profile dev", "az login --use-device-code", "gcloud auth application-default login", "npm login --scope=@acme",
        "docker login ghcr.io", "git config --global credential.helper osxkeychain", "git credential-manager configure",
        "chmod 600 ~/.ssh/id_ed25519 && ssh-add --apple-use-keychain ~/.ssh/id_ed25519", "echo \"$(date -u +%FT%TZ) deploy done\" >> deploy.log",
        "for f in *.json; do jq -r '.name' \"$f\"; done", "trap 'rm -f \"$tmpfile\"' EXIT", "set -euo pipefail",
        "SELECT 1;", "return jsonify({\"token_type\": \"bearer\", \"expires_in\": 3600})", "assert response.json()[\"detail\"] == \"Invalid credentials\"",
        "@pytest.mark.parametrize(\"token\", [\"\", \"abc\", None])", "with pytest.raises(AuthError, match=\"expired\"):",
        "expect(screen.getByLabelText(/password/i)).toHaveAttribute('type', 'password');", "it('rejects an expired token', async () => {",
        "mock_client.get_secret_value.return_value = {\"SecretString\": json.dumps({\"username\": \"app\"})}",
        "def redact(text: str) -> str:\n    return PATTERN.sub(\"[REDACTED]\", text)", "logger.info(\"token refreshed\", extra={\"user_id\": user.id})",
        "raise HTTPException(status_code=401, detail=\"Not authenticated\", headers={\"WWW-Authenticate\": \"Bearer\"})",
        "if token.expires_at < datetime.now(timezone.utc) + timedelta(minutes=5):\n    token = await refresh(token)",
        "const hashed = await bcrypt.hash(password, 12);", "if err := bcrypt.CompareHashAndPassword(hash, []byte(pw)); err != nil {",
        "impl Drop for SecretString { fn drop(&mut self) { self.0.zeroize(); } }", "services.AddAuthentication(JwtBearerDefaults.AuthenticationScheme).AddJwtBearer();",
        "config.filter_parameters += [:passw, :secret, :token, :_key, :crypt, :salt, :certificate, :otp, :ssn]",
        "LOGGING['filters']['redact'] = {'()': 'app.logging.RedactSecretsFilter'}", "# TODO: move the token out of the query string",
        "// eslint-disable-next-line @typescript-eslint/no-non-null-assertion", "type Credentials = { username: string; password: string };",
        "interface TokenResponse { access_token: string; refresh_token?: string; expires_in: number; token_type: 'Bearer' }",
        "enum AuthMethod { Password, ApiKey, OAuth, Saml }", "class TokenExpired(Exception):\n    \"\"\"Raised when the access token is past its exp claim.\"\"\"",
        "    api_key: SecretStr = Field(..., description=\"Provider API key\")", "model_config = SettingsConfigDict(env_file='.env', env_prefix='APP_')",
        "PASSWORD_HASHERS = [\"django.contrib.auth.hashers.Argon2PasswordHasher\"]", "AUTH_PASSWORD_VALIDATORS = [{\"NAME\": \"django.contrib.auth.password_validation.MinimumLengthValidator\"}]",
        "SESSION_COOKIE_SECURE = True\nCSRF_COOKIE_HTTPONLY = True", "The function returns a new access token and stores the refresh token in the keychain.",
        "We need the deploy to finish before 5pm, otherwise we roll back to 2.13.4.", "Lunch is at 12:30 in the big meeting room on the 3rd floor.",
        "Please review PR #1432 when you have a minute; it only touches the retry logic.", "The migration took 14 minutes on the replica, so expect ~20 on primary.",
        "Can someone explain why the staging build is 40% slower since Monday?", "I pushed a fix, the flaky test was a timezone issue.",
        "Let's pair on the search ranking tomorrow morning.", "The design doc is in the shared drive under Platform/2026/Q4.",
        "Retrospective notes: deploys were smoother, on-call load dropped, docs still lag behind.", "Release checklist: changelog, tag, build, smoke test, announce.",
        "Reminder: the office is closed on Friday for the public holiday.", "New hire onboarding starts with laptop setup and access requests.",
    ]


def c_secretish_keys() -> list[str]:
    return [
        "max_tokens: 4096", "max_output_tokens = 8192", "token_type: \"Bearer\"", "\"token_type\": \"bearer\", \"expires_in\": 3599", "TOKEN_TTL_SECONDS=3600",
        "ACCESS_TOKEN_EXPIRE_MINUTES=30", "REFRESH_TOKEN_LIFETIME_DAYS = 14", "password_min_length = 12", "PASSWORD_RESET_TIMEOUT = 259200",
        "password_policy:\n  min_length: 12\n  require_symbols: true\n  max_age_days: 90", "secret_name: db-credentials", "secretName: api-tls",
        "  tls:\n    - hosts: [api.acme.io]\n      secretName: api-acme-io-tls", "api_key_header = \"X-API-Key\"", "auth_method: oauth2", "auth: none",
        "\"password\": { \"type\": \"string\", \"format\": \"password\", \"minLength\": 12 }", "\"secret\": false", "secret: true  # mark the variable as masked",
        "\"Action\": [\"secretsmanager:GetSecretValue\", \"kms:Decrypt\"]", "tokenizer: cl100k_base", "\"tokens_used\": 18234", "\"prompt_tokens\": 1284, \"completion_tokens\": 312",
        "api_version = \"2024-10-21\"", "key: app.kubernetes.io/name", "keyFile: /etc/certs/tls.key", "key_path = \"~/.ssh/id_ed25519\"",
        "--token-file /var/run/secrets/tokens/vault-token", "token_endpoint: https://auth.acme.io/oauth2/token", "jwks_uri: https://auth.acme.io/.well-known/jwks.json",
        "\"grant_type\": \"client_credentials\"", "password_hash_algorithm = \"argon2id\"", "SECRET_KEY_FALLBACKS = []", "credential_process = /usr/local/bin/aws-vault exec dev --json",
        "credential_source = Ec2InstanceMetadata", "role_arn = arn:aws:iam::123456789012:role/dev-admin", "sso_start_url = https://acme.awsapps.com/start",
        "use_keyring: true", "token_cache: ~/.cache/acme/tokens.json", "secrets:\n  - db_password\n  - stripe_key", "secrets:\n  db_password:\n    file: ./secrets/db_password.txt",
        "envFrom:\n  - secretRef:\n      name: app-secrets", "  volumes:\n    - name: creds\n      secret:\n        secretName: gcp-sa\n        defaultMode: 0400",
        "  ignoreDifferences:\n    - kind: Secret\n      jsonPointers: [/data]", "apiKeySecretRef:\n  name: cloudflare\n  key: api-token",
        "password_field: \"password\"", "username_field: \"email\"", "auth_type = \"api_key\"", "allow_password_login = false", "otp_length: 6", "key_size: 4096",
        "keyAlgorithm: ECDSA\nkeySize: 256", "encryption: aes-256-gcm", "hash: sha256", "signing_alg: RS256", "token_location: header",
        "\"redact\": [\"authorization\", \"cookie\", \"x-api-key\"]", "mask_secrets: true", "SECRET_SCANNING_ENABLED=true", "API_RATE_LIMIT=100",
        "API_BASE_URL=https://api.acme.io/v2", "AUTH_ISSUER=https://auth.acme.io/", "AUTH_AUDIENCE=https://api.acme.io", "OAUTH_REDIRECT_URI=http://localhost:3000/callback",
        "PASSWORD_HASHER=argon2", "TOKEN_PREFIX=ak_live", "KEY_ROTATION_DAYS=90", "SESSION_COOKIE_NAME=sid", "JWT_ALGORITHM=RS256", "JWT_LEEWAY_SECONDS=30",
        "API_KEY_LENGTH=32", "SECRET_BACKEND=vault", "VAULT_ADDR=https://vault.acme.io:8200", "VAULT_NAMESPACE=admin/platform", "AWS_REGION=eu-west-1",
        "AWS_PROFILE=dev", "GOOGLE_CLOUD_PROJECT=acme-prod-482910", "AZURE_TENANT_ID=72f988bf-86f1-41af-91ab-2d7cd011db47", "SENTRY_ENVIRONMENT=production",
        "STRIPE_API_VERSION=2024-06-20", "OPENAI_MODEL=gpt-4o-mini", "ANTHROPIC_MODEL=claude-3-5-sonnet-latest", "HF_HOME=/data/hf-cache", "NPM_CONFIG_REGISTRY=https://registry.npmjs.org/",
        "PIP_INDEX_URL=https://pypi.org/simple", "DOCKER_BUILDKIT=1", "GIT_TERMINAL_PROMPT=0", "GH_HOST=github.com", "CI=true",
    ]


def build_clean() -> list[dict]:
    cats = [c_prose, c_envrefs, c_placeholders, c_hashes, c_uuids, c_base64, c_pubkeys, c_versions, c_urls, c_identifiers, c_paths,
            c_numbers, c_ids, c_logs, c_traces, c_cli, c_sql, c_regexes, c_code, c_secretish_keys]
    rows, seen, per = [], set(), {}
    for c in cats:
        n0 = len(rows)
        for t in c():
            if t in seen:
                continue
            seen.add(t)
            rows.append({"source": "synthetic", "split": SPLIT, "text": t})
        per[c.__name__[2:]] = len(rows) - n0
    return rows, per


URL_KINDS = {
    "azure storage connection string": "connection string", "azure service bus connection string": "connection string",
    "azure sas token": "SAS token", "slack webhook url": "webhook url", "discord webhook url": "webhook url",
    "postgres dsn password": "database url", "mysql dsn password": "database url", "mongodb srv connection string password": "connection string",
    "redis url password": "redis url", "amqp url password": "broker url", "mssql connection string password": "connection string",
    "sentry dsn": "DSN", "password in url": "index url", "credentials in url (userinfo)": "repo url", "cloudinary url": "cloudinary url",
}
for _k in KINDS:
    if _k["name"] in URL_KINDS:
        _k["url"] = True
        _k.setdefault("label", URL_KINDS[_k["name"]])
    _k.setdefault("label", _k["name"].split(" (")[0].replace("api ", "API ").replace(" key", " key"))
assert set(URL_KINDS) <= {_k["name"] for _k in KINDS}


def main() -> int:
    secrets_rows = build_secrets()
    clean_rows, per = build_clean()
    leaked = [r["secret"] for r in secrets_rows if any(r["secret"] in c["text"] for c in clean_rows)]
    assert not leaked, leaked[:3]
    with open(CORPUS / "secrets6.jsonl", "w", encoding="utf-8") as f:
        for r in secrets_rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with open(CORPUS / "clean6.jsonl", "w", encoding="utf-8") as f:
        for r in clean_rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    kinds = sorted({r["kind"] for r in secrets_rows})
    print(f"secrets: {len(secrets_rows)}")
    print(f"kinds: {len(kinds)}")
    print(f"clean lines: {len(clean_rows)}")
    print("clean categories: " + ", ".join(f"{k}={v}" for k, v in per.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
