"""Build the redaction corpus: realistic fake secrets and clean lines, split dev / held out.

Run once (``python -m tests.reliability.build_corpus``); the output files are committed, so
every run measures the same lines. The corpus was built before the redaction rules were
written. Rules may be tuned on the ``dev`` split only; the ``heldout`` split is what the
reported figures are judged on: its secrets sit in phrasings (templates) the dev split does not
have, and four kinds appear in it only.

Every secret is random (fixed seed) in the published shape of its kind; none is real.
"""

from __future__ import annotations

import hashlib
import json
import random
import string
import uuid
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
ROOT = Path(__file__).resolve().parents[2]
rng = random.Random(20261201)

UP = string.ascii_uppercase
LOW = string.ascii_lowercase
DIG = string.digits
ALNUM = UP + LOW + DIG
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URL = ALNUM + "-_"


def r(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def word() -> str:
    return rng.choice(
        ["falcon", "orbit", "maple", "quartz", "delta", "ember", "harbor", "nimbus", "cobalt"]
    )


def password() -> str:
    # What people actually choose: words, digits, a symbol; or a generated one.
    if rng.random() < 0.5:
        return f"{word().capitalize()}{rng.randint(10, 9999)}{rng.choice('!#$%&*')}{word()}"
    return r(ALNUM + "!#%^*-_", rng.randint(14, 24))


def pem(kind: str) -> str:
    body = "\n".join(r(B64, 64) for _ in range(rng.randint(3, 6)))
    return f"-----BEGIN {kind}-----\n{body}\n{r(B64, 40)}==\n-----END {kind}-----"


def jwt() -> str:
    import base64

    def seg(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = seg({"alg": "HS256", "typ": "JWT"})
    body = seg({"sub": str(rng.randint(10**6, 10**9)), "iat": rng.randint(1.6e9, 1.8e9)})
    return f"{head}.{body}.{r(URL, 43)}"


# kind -> (value maker, dev templates, held-out templates). {s} is the secret; a template may
# also use {host}. The secret is what must disappear; the rest of the line should stay.
KINDS: dict[str, tuple] = {
    "aws access key id": (
        lambda: "AKIA" + r(UP + DIG, 16),
        ["aws_access_key_id = {s}", "export AWS_ACCESS_KEY_ID={s}"],
        ["the IAM user's key {s} was leaked in the logs", "AccessKeyId: {s}"],
    ),
    "aws secret access key": (
        lambda: r(B64, 40),
        ["aws_secret_access_key = {s}", "export AWS_SECRET_ACCESS_KEY={s}"],
        ['"SecretAccessKey": "{s}",', "AWS_SECRET_ACCESS_KEY: {s}"],
    ),
    "github token": (
        lambda: rng.choice(["ghp_", "gho_", "ghs_"]) + r(ALNUM, 36),
        ["GITHUB_TOKEN={s}", "git clone https://{s}@github.com/acme/api.git"],
        ["use {s} for the release workflow", "token: {s}"],
    ),
    "github fine-grained token": (
        lambda: "github_pat_" + r(ALNUM, 22) + "_" + r(ALNUM, 59),
        ["GH_PAT={s}"],
        ["gh auth login --with-token <<< {s}"],
    ),
    "gitlab token": (
        lambda: "glpat-" + r(URL, 20),
        ["GITLAB_TOKEN={s}", "private_token: {s}"],
        ["curl --header 'PRIVATE-TOKEN: {s}' https://gitlab.example.com/api/v4/projects"],
    ),
    "slack bot token": (
        lambda: f"xoxb-{rng.randint(10**10, 10**12)}-{rng.randint(10**10, 10**12)}-{r(ALNUM, 24)}",
        ["SLACK_BOT_TOKEN={s}"],
        ["the bot posts with {s}"],
    ),
    "slack webhook": (
        lambda: (
            f"https://hooks.slack.com/services/T{r(UP + DIG, 8)}/B{r(UP + DIG, 10)}/{r(ALNUM, 24)}"
        ),
        ["SLACK_WEBHOOK_URL={s}", "webhook: {s}"],
        ['curl -X POST -d \'{{"text":"deployed"}}\' {s}'],
    ),
    "stripe secret key": (
        lambda: "sk_live_" + r(ALNUM, 24),
        ["STRIPE_SECRET_KEY={s}", "stripe.api_key = '{s}'"],
        ["charge failed with key {s}"],
    ),
    "stripe webhook secret": (
        lambda: "whsec_" + r(ALNUM, 32),
        ["STRIPE_WEBHOOK_SECRET={s}", "endpoint_secret = '{s}'"],
        ["the signing secret is {s}"],
    ),
    "stripe restricted key": (
        lambda: "rk_live_" + r(ALNUM, 24),
        ["STRIPE_RESTRICTED_KEY={s}"],
        ["restricted key for reporting: {s}"],
    ),
    "openai api key": (
        lambda: "sk-proj-" + r(URL, 48),
        ["OPENAI_API_KEY={s}", "client = OpenAI(api_key='{s}')"],
        ["key: {s}"],
    ),
    "anthropic api key": (
        lambda: "sk-ant-api03-" + r(URL, 80) + "AA",
        ["ANTHROPIC_API_KEY={s}"],
        ['anthropic.Anthropic(api_key="{s}")'],
    ),
    "google api key": (
        lambda: "AIza" + r(URL, 35),
        ["GOOGLE_API_KEY={s}", "maps.googleapis.com/maps/api/js?key={s}"],
        ['"apiKey": "{s}",'],
    ),
    "google oauth client secret": (
        lambda: "GOCSPX-" + r(URL, 28),
        ["GOOGLE_CLIENT_SECRET={s}"],
        ['"client_secret": "{s}"'],
    ),
    "jwt": (
        jwt,
        ["Authorization: Bearer {s}", "token={s}"],
        ["the session cookie was {s}"],
    ),
    "private key": (
        lambda: pem(rng.choice(["RSA PRIVATE KEY", "OPENSSH PRIVATE KEY", "EC PRIVATE KEY"])),
        ["{s}"],
        ["deploy key:\n{s}"],
    ),
    "redis url": (
        lambda: password(),
        ["REDIS_URL=redis://:{s}@cache.internal:6379/0"],
        ["connect with redis://default:{s}@redis-12345.cloud.example.com:12345"],
    ),
    "postgres url": (
        lambda: password(),
        ["DATABASE_URL=postgres://app:{s}@db.internal:5432/app"],
        ["psql postgresql://admin:{s}@10.0.3.7/prod"],
    ),
    "mongodb url": (
        lambda: password(),
        ["MONGO_URI=mongodb+srv://svc:{s}@cluster0.ab1cd.mongodb.net/app"],
        ["mongodb://root:{s}@mongo:27017/?authSource=admin"],
    ),
    "password flag": (
        password,
        ["mysql -u root --password={s} app", "docker login -u bot --password {s} ghcr.io"],
        ["pg_dump --password {s} prod > dump.sql", "sshpass -p '{s}' ssh deploy@web1"],
    ),
    "python secret assignment": (
        lambda: r(ALNUM + "!@#$%^&*(-_=+)", 50),
        ["SECRET_KEY = '{s}'", 'DJANGO_SECRET_KEY = "{s}"'],
        ["app.config['SECRET_KEY'] = '{s}'"],
    ),
    "json secret field": (
        lambda: r(ALNUM, 32),
        ['{{"secret_key": "{s}"}}', '"client_secret": "{s}",'],
        ['    "secret": "{s}"'],
    ),
    "json token field": (
        lambda: r(URL, 40),
        ['{{"token": "{s}", "expires": 3600}}', '"access_token": "{s}",'],
        ['  "refresh_token": "{s}"'],
    ),
    "npm token": (
        lambda: "npm_" + r(ALNUM, 36),
        ["//registry.npmjs.org/:_authToken={s}", "NPM_TOKEN={s}"],
        ["npm publish failed although {s} was set"],
    ),
    "hugging face token": (
        lambda: "hf_" + r(ALNUM, 34),
        ["HF_TOKEN={s}", "huggingface-cli login --token {s}"],
        ["the model pull uses {s}"],
    ),
    "sendgrid key": (
        lambda: "SG." + r(URL, 22) + "." + r(URL, 43),
        ["SENDGRID_API_KEY={s}"],
        ["mail through sendgrid with {s}"],
    ),
    "azure storage key": (
        lambda: r(B64, 86) + "==",
        [
            "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey={s};"
            "EndpointSuffix=core.windows.net"
        ],
        ["AZURE_STORAGE_KEY={s}"],
    ),
    "twilio auth token": (
        lambda: r(HEX, 32),
        ["TWILIO_AUTH_TOKEN={s}"],
        ["twilio_auth_token: {s}"],
    ),
    "discord webhook": (
        lambda: f"https://discord.com/api/webhooks/{rng.randint(10**17, 10**18)}/{r(URL, 68)}",
        ["DISCORD_WEBHOOK={s}"],
        ["alerts go to {s}"],
    ),
    "mailgun key": (
        lambda: "key-" + r(HEX, 32),
        ["MAILGUN_API_KEY={s}"],
        ["mailgun: {s}"],
    ),
    "digitalocean token": (
        lambda: "dop_v1_" + r(HEX, 64),
        ["DIGITALOCEAN_TOKEN={s}"],
        ["doctl auth init -t {s}"],
    ),
    "docker hub token": (
        lambda: "dckr_pat_" + r(URL, 27),
        ["DOCKERHUB_TOKEN={s}"],
        ["echo {s} | docker login -u acme --password-stdin"],
    ),
    "pypi token": (
        lambda: "pypi-AgEIcHlwaS5vcmc" + r(URL, 60),
        ["TWINE_PASSWORD={s}", "password = {s}"],
        ["uv publish --token {s}"],
    ),
    "basic auth header": (
        lambda: __import__("base64").b64encode(f"admin:{password()}".encode()).decode(),
        ["Authorization: Basic {s}"],
        ["curl -H 'Authorization: Basic {s}' https://ci.example.com/api"],
    ),
    "bearer token": (
        lambda: r(URL, 40),
        ["Authorization: Bearer {s}"],
        ['headers = {{"Authorization": "Bearer {s}"}}'],
    ),
    "yaml password": (
        password,
        ["  password: {s}", "db_password: {s}"],
        ["    smtp_pass: {s}"],
    ),
    "env api key": (
        lambda: r(ALNUM, 32),
        ["API_KEY={s}", "PAYMENTS_API_KEY={s}"],
        ["export VENDOR_APIKEY={s}"],
    ),
    "shopify token": (
        lambda: "shpat_" + r(HEX, 32),
        ["SHOPIFY_ACCESS_TOKEN={s}"],
        ["X-Shopify-Access-Token: {s}"],
    ),
    "heroku api key": (
        lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        ["HEROKU_API_KEY={s}"],
        ["heroku_api_key: {s}"],
    ),
    "url query token": (
        lambda: r(URL, 32),
        ["GET https://api.example.com/v1/items?access_token={s}&page=2"],
        ["https://hooks.example.io/ingest?api_key={s}"],
    ),
    "telegram bot token": (
        lambda: f"{rng.randint(10**8, 10**10)}:AA{r(URL, 33)}",
        [],
        ["TELEGRAM_BOT_TOKEN={s}", "bot = telebot.TeleBot('{s}')"],
    ),
    "datadog api key": (
        lambda: r(HEX, 32),
        [],
        ["DD_API_KEY={s}", "datadog_api_key: {s}"],
    ),
    "age secret key": (
        lambda: "AGE-SECRET-KEY-1" + r(UP + DIG, 58),
        [],
        ["{s}"],
    ),
    "linear api key": (
        lambda: "lin_api_" + r(ALNUM, 40),
        [],
        ["LINEAR_API_KEY={s}"],
    ),
}

CONTEXT = [
    "",
    "note: ",
    "From the deploy notes -- ",
    "$ ",
    "# staging\n",
]


def secrets() -> list[dict]:
    out = []
    for kind, (make, dev, held) in KINDS.items():
        for split, templates in (("dev", dev), ("heldout", held)):
            for template in templates:
                # Two instances per template, each with its own value and lead-in.
                for _ in range(2):
                    value = make()
                    text = rng.choice(CONTEXT) + template.format(s=value)
                    out.append({"kind": kind, "split": split, "secret": value, "text": text})
    return out


# clean lines ---------------------------------------------------------------------------------

SYNTHETIC = [
    # environment-variable references: names of secrets, never values
    'password = os.environ["DB_PASSWORD"]',
    'api_key = os.getenv("OPENAI_API_KEY")',
    "token = os.environ.get('GITHUB_TOKEN', '')",
    "SECRET_KEY = env('DJANGO_SECRET_KEY')",
    "const key = process.env.STRIPE_SECRET_KEY;",
    "password: ${DB_PASSWORD}",
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
    "token: ${{ secrets.GITHUB_TOKEN }}",
    "api_key: {{ .Values.apiKey }}",
    "export AWS_SECRET_ACCESS_KEY=$AWS_SECRET_ACCESS_KEY",
    "client_secret = settings.OAUTH_CLIENT_SECRET",
    "aws_secret_access_key = <your-secret-key>",
    "password: <password>",
    'api_key = "YOUR_API_KEY"',
    "PASSWORD=changeme  # replace before deploying",
    'token = "xxx"',
    "password = getpass.getpass()",
    "docker login -u bot --password-stdin < token.txt",
    "mysql -u root -p app",
    "max_tokens = 1024",
    "token_count = len(tokens)",
    "The password policy requires 12 characters and one digit.",
    "Rotate the API key every 90 days; the old one stays valid for a day.",
    "If the token expired, run `gh auth login` again.",
    "secret_santa = draw(names)",
    "def verify_password(password: str, hashed: str) -> bool:",
    "if not api_key: raise ValueError('missing api key')",
    "password_hash = bcrypt.hashpw(password.encode(), bcrypt.gensalt())",
    "The bearer token is sent in the Authorization header.",
    "Authorization: Bearer $TOKEN",
    'headers = {"Authorization": f"Bearer {token}"}',
    "url = f'https://{user}:{password}@{host}/{db}'",
    "redis://localhost:6379/0",
    "postgres://localhost/app_test",
    "mongodb://mongo:27017/app",
    "See https://docs.stripe.com/keys for how keys are named.",
    "sk-12 is a short id, not a key.",
    "The skip list uses sk_ as a prefix for sort keys.",
    "use_ssh_key = true",
    "private_key_path = ~/.ssh/id_ed25519",
    "ssh-keygen -t ed25519 -C deploy@acme",
    "key_id = 42",
    "primary_key = ('tenant_id', 'id')",
    "keyboard layout: us-intl",
    "monkey patch the token refresher in tests",
]


def hashes_and_ids() -> list[str]:
    lines = []
    for i in range(30):
        sha1 = hashlib.sha1(f"commit {i}".encode()).hexdigest()
        sha256 = hashlib.sha256(f"artifact {i}".encode()).hexdigest()
        u = uuid.UUID(int=rng.getrandbits(128), version=4)
        lines += [
            f"commit {sha1}",
            f"Merge: {sha1[:7]} {hashlib.sha1(str(i).encode()).hexdigest()[:7]}",
            f"sha256:{sha256}  dist/app-{i}.tar.gz",
            f"request id {u} failed with 502",
            f'"id": "{u}",',
        ]
    for i in range(12):
        import base64

        blob = base64.b64encode((f"hello world {i} " * 6).encode()).decode()
        lines += [
            f'<img src="data:image/png;base64,{blob}">',
            f'integrity="sha384-{base64.b64encode(hashlib.sha384(str(i).encode()).digest()).decode()}"',
        ]
    for i in range(10):
        lines += [
            f"docker pull ghcr.io/acme/api@sha256:{hashlib.sha256(str(i).encode()).hexdigest()}",
            f'etag: W/"{hashlib.md5(str(i).encode()).hexdigest()}"',
            f'version = "1.{i}.{i * 3}"  # bumped by release-please',
        ]
    return lines


def repository_lines() -> list[str]:
    """Prose and code from this repository (tests with fake secrets left out)."""
    skip = {"redaction.py", "test_redaction.py", "build_corpus.py"}
    files = [*sorted(ROOT.glob("smartcontext_cli/**/*.py")), ROOT / "README.md"]
    files = [f for f in files if f.name not in skip]
    lines = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) >= 25 and not line.startswith(("#", '"""', 'r"', '("', "r'")):
                lines.append(line)
    rng.shuffle(lines)
    return sorted(set(lines[:2000]))[:700]


def clean() -> list[dict]:
    lines = [("synthetic", t) for t in SYNTHETIC]
    lines += [("ids", t) for t in hashes_and_ids()]
    lines += [("repository", t) for t in repository_lines()]
    out = []
    for source, text in lines:
        digest = hashlib.sha256(text.encode()).digest()[0]
        out.append({"source": source, "split": "heldout" if digest < 102 else "dev", "text": text})
    return out


# A second held-out set, written after the first one was measured (92.0% recall), to measure
# again on lines nobody has looked at: new phrasings for known kinds, and kinds no rule names
# (Vault, Render, Fly.io tokens, curl -u, a password in prose).
KINDS_2: dict[str, tuple] = {
    "aws access key id": (
        lambda: "AKIA" + r(UP + DIG, 16),
        ["aws configure set aws_access_key_id {s}", "Access key ID {s} belongs to ci-bot"],
    ),
    "aws secret access key": (
        lambda: r(B64, 40),
        ["aws configure set aws_secret_access_key {s}", "secret_access_key: {s}"],
    ),
    "github token": (
        lambda: "ghp_" + r(ALNUM, 36),
        [
            "git remote set-url origin https://x-access-token:{s}@github.com/acme/web",
            "GH_TOKEN: {s}",
        ],
    ),
    "gitlab token": (lambda: "glpat-" + r(URL, 20), ["gitlab token {s} expires next week"]),
    "slack bot token": (
        lambda: f"xoxb-{rng.randint(10**10, 10**12)}-{r(ALNUM, 24)}",
        ["client.chat_postMessage(token='{s}', channel='#ops')"],
    ),
    "slack webhook": (
        lambda: (
            f"https://hooks.slack.com/services/T{r(UP + DIG, 8)}/B{r(UP + DIG, 10)}/{r(ALNUM, 24)}"
        ),
        ["requests.post('{s}', json=payload)"],
    ),
    "stripe secret key": (
        lambda: "sk_live_" + r(ALNUM, 24),
        ["Stripe.api_key = '{s}'", "curl https://api.stripe.com/v1/charges -u {s}:"],
    ),
    "stripe webhook secret": (
        lambda: "whsec_" + r(ALNUM, 32),
        ["Ready! Your webhook signing secret is {s} (^C to quit)"],
    ),
    "openai api key": (lambda: "sk-proj-" + r(URL, 48), ["openai.api_key = '{s}'"]),
    "anthropic api key": (lambda: "sk-ant-api03-" + r(URL, 80) + "AA", ["x-api-key: {s}"]),
    "google api key": (
        lambda: "AIza" + r(URL, 35),
        ["const firebaseConfig = {{ apiKey: '{s}' }};"],
    ),
    "jwt": (jwt, ["curl -H 'Authorization: Bearer {s}' localhost:8080/me", "jwt = '{s}'"]),
    "private key": (lambda: pem("PRIVATE KEY"), ['key = """{s}"""']),
    "redis url": (password, ["redis-cli -u redis://:{s}@10.0.0.5:6379"]),
    "postgres url": (
        password,
        ["SQLALCHEMY_DATABASE_URI = 'postgresql+psycopg://app:{s}@db/app'"],
    ),
    "amqp url": (password, ["BROKER_URL=amqp://guest:{s}@rabbit:5672//"]),
    "password flag": (
        password,
        ["mongosh --username admin --password '{s}' mongodb://db", "PGPASSWORD={s} psql -h db"],
    ),
    "python secret assignment": (
        lambda: r(ALNUM + "-_", 48),
        ["JWT_SECRET = '{s}'", "secret_key_base: {s}"],
    ),
    "json secret field": (
        password,
        ['{{"username": "svc", "password": "{s}"}}', '"apiKey": "{s}",'],
    ),
    "npm token": (
        lambda: "npm_" + r(ALNUM, 36),
        ["echo '//npm.pkg.github.com/:_authToken={s}' >> .npmrc"],
    ),
    "hugging face token": (lambda: "hf_" + r(ALNUM, 34), ["HUGGING_FACE_HUB_TOKEN={s}"]),
    "sendgrid key": (
        lambda: "SG." + r(URL, 22) + "." + r(URL, 43),
        ["sg = SendGridAPIClient('{s}')"],
    ),
    "azure service bus key": (
        lambda: r(B64, 43) + "=",
        ["Endpoint=sb://acme.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey={s}"],
    ),
    "curl user password": (password, ["curl -u admin:{s} https://jenkins.example.com/api/json"]),
    "yaml token": (lambda: r(ALNUM, 40), ["  api_token: {s}", "    passphrase: {s}"]),
    "heroku api key": (
        lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        ["HEROKU_API_KEY: {s}"],
    ),
    "url query token": (lambda: r(URL, 32), ["wss://stream.example.com/ws?token={s}"]),
    "password in prose": (password, ["my password for the staging box is {s}"]),
    "vault token": (lambda: "hvs." + r(URL, 24), ["VAULT_TOKEN={s}", "vault login {s}"]),
    "render api key": (lambda: "rnd_" + r(ALNUM, 32), ["RENDER_API_KEY={s}"]),
    "fly token": (lambda: "FlyV1 fm2_" + r(URL, 60), ["fly deploy --access-token '{s}'"]),
}

SYNTHETIC_2 = [
    "PGPASSWORD=$PGPASSWORD pg_dump app",
    "set DB_PASSWORD=%DB_PASSWORD%",
    "$env:OPENAI_API_KEY = Read-Host -AsSecureString",
    "NODE_AUTH_TOKEN: ${{ secrets.NPM_TOKEN }}",
    "password_hash: $2b$12$KIXQJ1p5j8oM0b1s7uH2UeVjz7Yk1nq3cE9cFh0Yw7sT8s9G5Qm1e",
    "token_type: Bearer",
    "        secretKeyRef:",
    "          name: db-credentials",
    "          key: password",
    'api_key_header = "X-API-Key"',
    "passwords must not be reused across the three environments",
    "auth_token_ttl = 3600",
    "the secret sauce is a two-level cache",
    "tokenizer = tiktoken.get_encoding('cl100k_base')",
    "tokens_per_minute: 90000",
    "secret_arn: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf",
    "access_key_rotation_days = 90",
    "vault kv get -field=password secret/prod/db",
    "aws secretsmanager get-secret-value --secret-id prod/db",
    "kubectl create secret generic db --from-literal=password=$(openssl rand -hex 16)",
    'if token is None: raise PermissionError("no token")',
    "git log --format='%H %an %s' -n 20",
    "sha1sum release.tar.gz > release.tar.gz.sha1",
    "openssl rand -base64 32",
    "Set-Cookie: theme=dark; Path=/; SameSite=Lax",
    "The API key must be sent in the X-API-Key header, never in the URL.",
    "client_id: 1234567890-abc.apps.googleusercontent.com",
    "public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGm8 deploy@acme",
    "pk_live_51H8 is the publishable key prefix; it is safe to ship in the browser",
    "password_reset_url = f'{base}/reset/{uid}/{token}'",
]


def secrets_2() -> list[dict]:
    out = []
    for kind, (make, templates) in KINDS_2.items():
        for template in templates:
            for _ in range(2):
                value = make()
                text = rng.choice(CONTEXT) + template.format(s=value)
                out.append({"kind": kind, "split": "heldout2", "secret": value, "text": text})
    return out


def clean_2() -> list[dict]:
    """New synthetic lines and lines of this repository's tests (not used by the first set)."""
    lines = [("synthetic", t) for t in SYNTHETIC_2]
    skip = {"test_redaction.py", "test_memories.py"}  # they hold fake secrets on purpose
    files = [f for f in sorted(ROOT.glob("tests/**/*.py")) if f.name not in skip]
    files = [f for f in files if "reliability" not in f.parts]
    code = []
    for path in files:
        for line in path.read_text(encoding="utf-8").splitlines():
            line = line.strip()
            if len(line) >= 25 and not line.startswith("#"):
                code.append(line)
    rng.shuffle(code)
    lines += [("tests", t) for t in sorted(set(code[:1500]))[:420]]
    return [{"source": s, "split": "heldout2", "text": t} for s, t in lines]


def main_2() -> None:
    global rng
    rng = random.Random(20261202)
    for name, rows in (("secrets2.jsonl", secrets_2()), ("clean2.jsonl", clean_2())):
        with open(HERE / name, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        print(f"{name}: {len(rows)} lines")


def main() -> None:
    HERE.mkdir(exist_ok=True)
    found = secrets()
    for name, rows in (("secrets.jsonl", found), ("clean.jsonl", clean())):
        with open(HERE / name, "w", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        splits = {s: sum(1 for r in rows if r["split"] == s) for s in ("dev", "heldout")}
        print(f"{name}: {len(rows)} lines {splits}")
    for split in ("dev", "heldout"):
        kinds = {r["kind"] for r in found if r["split"] == split}
        print(f"{split}: {len(kinds)} kinds")
    print(f"{len({r['kind'] for r in found})} kinds in all")


if __name__ == "__main__":
    import sys

    if "--second" in sys.argv:
        main_2()
    else:
        main()
