"""The redaction rules one by one: each credential a user is likely to paste is caught where it
sits, its name and surroundings kept; the look-alikes beside it (references, placeholders,
hashes, pagination tokens, ports) pass untouched. Fake values in the real shapes."""

from __future__ import annotations

import base64
import json
import re
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smartcontext_cli.redaction import redact
from smartcontext_cli.redaction_shapes import SHAPES, needles

PLACEHOLDER = re.compile(r"\[REDACTED:[a-z ]+\]")
B62 = "Zq8Lm3Xv9Tn2Rb7Kd4Wf6Hs1Jc5Yp0Ga"  # 32 characters, mixed


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# (what, line, the secret that must disappear)
CAUGHT = [
    ("gitlab deploy token", "CI_TOKEN=gldt-" + B62[:24], "gldt-" + B62[:24]),
    (
        "slack app token",
        "SLACK_APP_TOKEN=xapp-1-A0B1C2D3E4-1234567890123-" + "3f9a0c7e5b1d8264" * 4,
        "xapp-1-",
    ),
    ("stripe publishable live key", "pk_live_" + B62 + B62, "pk_live_" + B62),
    (
        "mailgun key (new format)",
        "mg = '0123456789abcdef0123456789abcdef-1b2c3d4e-5f6a7b8c'",
        "-1b2c3d4e",
    ),
    ("google oauth access token", "access: ya29." + B62 + B62, "ya29." + B62),
    ("azure client secret", "secret Abc8Q~" + B62 + "xy in the portal", "8Q~" + B62),
    ("discord bot token", "client.run('MTA4NzY1NDMyMTA5ODc2NTQz.Gh7KlP." + B62 + "abc')", B62),
    (
        "telegram bot token in a url",
        "https://api.telegram.org/bot123456789:AA" + B62 + "x/getMe",
        B62,
    ),
    ("vault token", "vault login hvs." + B62, "hvs." + B62),
    ("doppler token", "DOPPLER=dp.st.prd." + B62 + B62[:12], B62),
    ("terraform cloud token", "token = 'AbCdEfGhIjKlMn.atlasv1." + B62 + B62 + "'", B62 + B62),
    ("authorization: any scheme", "-H 'Authorization: Token " + B62 + "'", B62),
    ("authorization: okta", "Authorization: SSWS 00" + B62, B62),
    ("cookie header", "Cookie: sessionid=" + B62 + "; csrftoken=abc", B62),
    ("set-cookie", "Set-Cookie: session=" + B62 + "; HttpOnly", B62),
    ("curl cookie", "curl -b 'PHPSESSID=" + B62 + "' https://shop.example.com", B62),
    ("session id assignment", "JSESSIONID=" + B62, B62),
    ("mysql -p attached", "mysqldump -uroot -pWillow42!ash --all-databases", "Willow42!ash"),
    ("mysql -p quoted", "mysql -h db -u root -p'Willow42!ash' app", "Willow42!ash"),
    ("sshpass -p", "sshpass -p Willow42!ash scp a.sql ops@db:/tmp", "Willow42!ash"),
    ("docker login -p", "docker login registry.example.com -u ci -p Willow42!ash", "Willow42!ash"),
    ("redis-cli -a", "redis-cli -h cache -a willow-ash-42-oak ping", "willow-ash-42-oak"),
    ("sqlcmd -P", "sqlcmd -S db -U sa -P 'Willow42!ash' -Q 'select 1'", "Willow42!ash"),
    (
        "openssl pass:",
        "openssl pkcs12 -export -passout pass:Willow42!ash -out c.p12",
        "Willow42!ash",
    ),
    ("PGPASSWORD", "PGPASSWORD=Willow42!ash psql -h db", "Willow42!ash"),
    ("storepass flag", "keytool -list -keystore k.jks -storepass Willow42!ash", "Willow42!ash"),
    ("redis.conf directive", "requirepass willow-ash-42-oak", "willow-ash-42-oak"),
    ("netrc", "machine api.example.com login deploy password Willow42!ash", "Willow42!ash"),
    ("space-separated key", "aws configure set aws_secret_access_key " + B62 + "abcdefgh", B62),
    ("aws secret beside its id", "AKIAZ7X6C5V4B3N2M1LK," + B62 + "AbCd1234", B62),
    ("requests auth tuple", "requests.get(url, auth=('admin', 'Willow42!ash'))", "Willow42!ash"),
    ("php define", "define('DB_PASSWORD', 'Willow42!ash');", "Willow42!ash"),
    ("java setter", 'ds.setPassword("Willow42!ash");', "Willow42!ash"),
    ("sql create user", "CREATE USER app WITH PASSWORD 'Willow42!ash';", "Willow42!ash"),
    ("sql identified by", "ALTER USER 'root'@'%' IDENTIFIED BY 'Willow42!ash';", "Willow42!ash"),
    ("k8s secret data", "kind: Secret\ndata:\n  DB_URL: " + b64("postgres://a:b@c/d"), "cG9zdGdy"),
    (
        "docker config auth",
        '{"auths": {"ghcr.io": {"auth": "' + b64("ci:Willow42!ash") + '"}}}',
        "Y2k6",
    ),
    ("xml tag", "<server><password>Willow42!ash</password></server>", "Willow42!ash"),
    ("xml key/value", '<add key="StripeApiKey" value="' + B62 + '" />', B62),
    ("k8s env entry", "env:\n  - name: DB_PASSWORD\n    value: Willow42!ash", "Willow42!ash"),
    ("pgpass line", "db.internal:5432:app:app:Willow42!ash", "Willow42!ash"),
    (
        "go mysql dsn",
        'sql.Open("mysql", "root:Willow42!ash@tcp(127.0.0.1:3306)/app")',
        "Willow42!ash",
    ),
    ("hmac key", "HMAC_KEY=" + B62, B62),
    ("subscription key header", "Ocp-Apim-Subscription-Key: " + B62, B62),
    ("azure sas sig", "https://a.blob.core.windows.net/c/b?sv=2022-11-02&sig=" + B62 + "%3D", B62),
    ("password in prose", "I set the root password to Willow42!ash on the box", "Willow42!ash"),
    ("key in prose", "hey, my api key is " + B62 + " and it 401s", B62),
    ("login pair in prose", "login is ops / Willow42!ash", "Willow42!ash"),
    (
        "gcp service account",
        '{"private_key": "-----BEGIN PRIVATE KEY-----\\nMIIE' + B62 + '"}',
        B62,
    ),
    ("openssh body alone", "b3BlbnNzaC1rZXktdjEAAAAA" + B62, B62),
    (
        "sentry dsn",
        "SENTRY_DSN=https://0123456789abcdef0123456789abcdef@o1.ingest.sentry.io/2",
        "0123",
    ),
    ("azure sas token", "SharedAccessSignature sr=x&sig=" + B62 + "%3D&se=1&skn=Root", B62),
    ("teams webhook", "https://acme.webhook.office.com/webhookb2/" + B62 + "@" + B62, B62),
    ("perplexity key", "PPLX_KEY=pplx-" + B62 + B62, B62),
    ("mailchimp key", "mc = '0123456789abcdef0123456789abcdef-us21'", "0123456789abcdef"),
    ("putty key body", "PuTTY-User-Key-File-3: ssh-ed25519\nPrivate-Lines: 1\n" + B62 + "\n", B62),
    ("password before use", "use password Willow42!ash to log in", "Willow42!ash"),
    ("oracle sqlplus", "sqlplus system/Willow42!ash@//db:1521/XE", "Willow42!ash"),
    ("redis AUTH", "127.0.0.1:6379> AUTH Willow42!ash", "Willow42!ash"),
    (
        "echo into --password-stdin",
        "echo Willow42!ash | docker login -u ci --password-stdin",
        "Willow42",
    ),
    ("echo into sudo -S", "echo 'Willow42!ash' | sudo -S apt update", "Willow42"),
    ("htpasswd -b", "htpasswd -b -c .htpasswd admin Willow42!ash", "Willow42"),
    ("env name, quoted value", "wp config set DB_PASSWORD 'Willow42!ash'", "Willow42"),
    (
        "mysql identified with",
        "ALTER USER 'r'@'%' IDENTIFIED WITH caching_sha2_password BY 'Willow42!ash'",
        "Willow42",
    ),
    (
        "powershell secure string",
        '$p = ConvertTo-SecureString "Willow42!ash" -AsPlainText -Force',
        "Willow42",
    ),
    ("net use", "net use Z: \\\\srv\\share /user:acme\\bob Willow42!ash", "Willow42"),
    (
        "twilio token beside its sid",
        'Client("AC0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210")',
        "fedcba98",
    ),
]


@pytest.mark.parametrize(("what", "line", "secret"), CAUGHT, ids=[c[0] for c in CAUGHT])
def test_each_credential_is_caught_where_it_sits(what: str, line: str, secret: str) -> None:
    out = redact(line)
    assert secret not in out, what
    assert PLACEHOLDER.search(out), out
    assert redact(out) == out  # idempotent
    # only the credential goes: what stands before the first placeholder is kept as it was
    first = PLACEHOLDER.search(out)
    assert first is not None and line.startswith(out[: first.start()])


KEPT = [
    "API_KEY=ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "OPENAI_API_KEY=sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "AWS_ACCESS_KEY_ID=AKIAXXXXXXXXXXXXXXXX",
    "SLACK_BOT_TOKEN=xoxb-your-token-here",
    'api_key = "insert-your-api_key-here"',
    "password: ((vault-password))",
    "apiKey: vault:secret/data/prod#apiKey",
    '"NextToken": "dlhcKMHMzpCBGFukz6IO3JMcWiJAamCVhXHt3r6b4b5Tfbyw3q7o+Jeezt+ZpgfOnW9FCCgQ",',
    '"nextPageToken": "AAAAKgAAAAEAAAAAAAAAAw+7LZ4GRZPzTqBHsp2wBxWB8m1sgLCclgCuq3J+h",',
    "--client-request-token 123Example",
    '"ARN": "arn:aws:secretsmanager:us-west-2:123456789012:secret:MyTestSecret-a1b2c3",',
    '"CustomerMasterKeySpec": "RSA_4096",',
    '"PasswordLastUsed": "2016-09-24T16:18:07Z",',
    '"Sid": "S3ServerAccessLogsPolicy",',
    '"AWS::Config::AggregationAuthorization": "af318b77aaceeeaa",',
    "warnings.filterwarnings('error', category=pytest.PytestRemovedIn9Warning)",
    "'HTTPPasswordMgr', 'HTTPPasswordMgrWithDefaultRealm',",
    "'token_bytes', 'token_hex', 'token_urlsafe',",
    "password = getpass.getpass('Password: ')",
    'creds = " --username=%s --password=%s" % (user, pw)',
    "--private-key-outfile myTest.private.key",
    "BROKER_URL=amqp://guest:guest@localhost:5672//",
    "e.g. `port` in `https://user:pass@host:port/path`",
    'curl -u "$USER:$TOKEN" https://api.example.com',
    "docker run -p 127.0.0.1:8080:80/tcp nginx",
    "mkdir -p build/dist2 && ssh -p 2222 deploy@bastion",
    "mysql -u root -p app",
    "pytest -p no:cacheprovider",
    "Set-Cookie: theme=dark; Path=/; SameSite=Lax",
    "Authorization: Bearer $ACCESS_TOKEN",
    "<password>${env.NEXUS_PASSWORD}</password>",
    "  - name: DB_PASSWORD\n    valueFrom:\n      secretKeyRef:\n        key: password",
    "pk.eyJ1IjoiYWNtZSIsImEiOiJjbGFiYzEyMyJ9 is the public Mapbox token",
    "public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx7 ops@example.com",
    "the api key is rotated every 90 days",
    "the password is at least twelve characters",
    "sqlplus / as sysdba",
    "use password authentication for the bastion",
    "AUTH is required before any command",
    "echo $TOKEN | docker login --password-stdin",
    "echo 'hello world' | sudo -S true",
    "Set-Cookie: _ga=GA1.2.1234567890.1700000000; Path=/",
    "The key fingerprint is SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8 user@host",
    "gpg --recv-keys 0x1234ABCD5678EF90",
    'mysql -h "$DB_HOST" -u "$DB_USER" -p"$DB_PASSWORD" app',
    "- name: LOG_LEVEL\n  value: debug",
    "Invalid API key: sk-proj-********************************************XyZ1",
]


@pytest.mark.parametrize("line", KEPT)
def test_look_alikes_pass_untouched(line: str) -> None:
    assert redact(line) == line


def test_offsets_survive_characters_that_lower_case_longer() -> None:
    # "İ".lower() is two characters: a rule matching on the lower-cased text must still
    # replace the secret's own characters, not its neighbours'.
    line = "İİİ note: DB_PASSWORD=Willow42!ash and more"
    assert redact(line) == "İİİ note: DB_PASSWORD=[REDACTED:password] and more"


def test_every_shape_runs_when_it_can_match() -> None:
    """The needles that spare a scan never hide a match: on every corpus line, a shape that
    matches without its needle check also passes it."""
    from pathlib import Path

    corpus = Path(__file__).parent / "reliability" / "corpus"
    lines = [
        json.loads(row)["text"]
        for name in ("secrets.jsonl", "secrets2.jsonl", "secrets4.jsonl", "secrets5.jsonl")
        for row in (corpus / name).read_text(encoding="utf-8").splitlines()
    ]
    lines += [c[1] for c in CAUGHT]
    matched = 0
    for shape in SHAPES:
        for text in lines:
            if shape.pattern.search(text):
                matched += 1
                assert not shape.needles or any(n in text for n in shape.needles), shape.kind
    assert matched > 300


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"whsec_[A-Za-z0-9]{24}", ("whsec_",)),
        (r"(?:AKIA|ASIA)[0-9A-Z]{16}", ("AKIA", "ASIA")),
        (r"sk\.eyJ[A-Za-z0-9]{20}", ("sk.eyJ",)),
        (r"A{20,24}[A-Za-z0-9]{30}", ()),
        (r"[MNO][A-Za-z0-9]{23}\.", ()),
        (r"(?:ya29\.|1//0)[0-9A-Za-z]{20}", ("ya29.", "1//0")),
        (r"hv[sbr]\.[A-Za-z0-9]{24}", ("hv",)),
    ],
)
def test_needles_are_what_a_pattern_starts_with(pattern: str, expected: tuple[str, ...]) -> None:
    assert needles(pattern) == expected


TOKENS = {
    "github": ("ghp_", string.ascii_letters + string.digits, 36),
    "gitlab": ("glpat-", string.ascii_letters + string.digits, 20),
    "stripe": ("sk_live_", string.ascii_letters + string.digits, 24),
    "npm": ("npm_", string.ascii_letters + string.digits, 36),
    "hugging face": ("hf_", string.ascii_letters + string.digits, 34),
    "digitalocean": ("dop_v1_", "0123456789abcdef", 64),
}
PROSE = st.text(alphabet=string.ascii_letters + string.digits + " .,:;()'\"=-\n", max_size=60)


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(sorted(TOKENS)),
    body=st.data(),
    before=PROSE,
    after=PROSE,
)
def test_a_shaped_token_is_caught_whatever_surrounds_it(
    kind: str, body: st.DataObject, before: str, after: str
) -> None:
    prefix, alphabet, n = TOKENS[kind]
    tail = body.draw(st.text(alphabet=alphabet, min_size=n, max_size=n))
    if len(set(tail[-16:])) <= 3 or "xxxx" in tail.lower():
        tail = (alphabet * n)[:n]  # a placeholder-looking tail is left alone by design
    token = prefix + tail
    out = redact(f"{before} {token} {after}")
    assert token not in out
    assert redact(out) == out


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(["commit", "sha256:", "request id", "etag", "trace_id=", "version"]),
    st.binary(min_size=16, max_size=32),
)
def test_hashes_and_ids_are_never_taken_for_secrets(label: str, raw: bytes) -> None:
    import uuid

    for value in (raw.hex(), str(uuid.UUID(bytes=raw[:16]))):
        line = f"{label} {value}"
        assert redact(line) == line


def test_a_placeholders_kind_is_no_secret_name() -> None:
    """Found by the property above: "[REDACTED:digitalocean token] :000000:A" read the
    placeholder's "token" as a name given ":000000:A", so a second pass changed the text."""
    once = redact("dop_v1_" + ("0123456789abcdef" * 4) + " :000000:A")
    assert once == "[REDACTED:digitalocean token] :000000:A"
    assert redact(once) == once
