"""Build the fourth redaction corpus, ``dev4``: a development set written for issue 13's last push.

``python -m tests.reliability.build_corpus4`` writes ``corpus/secrets4.jsonl`` and
``corpus/clean4.jsonl`` (committed, so every run measures the same lines). The rules are tuned
on this split (and on ``dev``, ``heldout`` and ``heldout2``, which have been looked at since);
the figure that counts is a held-out corpus written by someone who has not seen the rules.

What it holds: every provider token format a user is likely to paste into an agent session,
in the places it sits (shell, .env, YAML, TOML, JSON, INI, Dockerfiles, Kubernetes secrets,
code in several languages, HTTP headers, cookies, connection strings, CLI flags, prose); and
clean lines that look close: hashes, UUIDs, git SHAs, base64 payloads, environment and secret
store references in each syntax, placeholders, code and prose about credentials, and real code
from the Python standard library. Every secret is random (fixed seed) in its published shape.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import string
import sys
import sysconfig
import uuid
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
rng = random.Random(20261204)

UP, LOW, DIG = string.ascii_uppercase, string.ascii_lowercase, string.digits
ALNUM = UP + LOW + DIG
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"
URL = ALNUM + "-_"


def r(alphabet: str, n: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def word() -> str:
    return rng.choice(["tundra", "willow", "copper", "saffron", "glacier", "juniper", "onyx"])


def password() -> str:
    pick = rng.random()
    if pick < 0.4:
        return f"{word().capitalize()}{rng.randint(10, 9999)}{rng.choice('!#$%&*?')}{word()}"
    if pick < 0.7:
        return r(ALNUM + "!#%^*-_", rng.randint(12, 22))
    return f"{word()}-{word()}-{rng.randint(100, 999)}-{word()}"


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def jwt() -> str:
    def seg(obj: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    head = seg({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"})
    body = seg({"sub": r(HEX, 12), "exp": rng.randint(1_700_000_000, 1_900_000_000)})
    return f"{head}.{body}.{r(URL, 43)}"


def pem(kind: str) -> str:
    body = "\n".join(r(B64, 64) for _ in range(rng.randint(2, 4)))
    return f"-----BEGIN {kind}-----\n{body}\n{r(B64, 24)}=\n-----END {kind}-----"


def discord_bot() -> str:
    ident = base64.b64encode(str(rng.randint(10**17, 10**18)).encode()).decode().rstrip("=")
    return f"{ident}.{r(URL, 6)}.{r(URL, 38)}"


# kind -> (value maker, templates). {s} is what must disappear.
KINDS: dict[str, tuple] = {
    "github classic token": (
        lambda: rng.choice(["ghp_", "gho_", "ghu_", "ghs_", "ghr_"]) + r(ALNUM, 36),
        [
            "git push https://oauth2:{s}@github.com/acme/site.git",
            "Authorization: token {s}",
            "gh auth login --with-token <<< '{s}'",
        ],
    ),
    "github fine-grained token": (
        lambda: "github_pat_" + r(ALNUM, 22) + "_" + r(ALNUM, 59),
        ["GITHUB_PERSONAL_ACCESS_TOKEN: {s}", "I generated {s} for the bot"],
    ),
    "gitlab token": (
        lambda: rng.choice(["glpat-", "gldt-", "glrt-", "glcbt-", "glptt-"]) + r(URL, 20),
        [
            "CI_JOB_TOKEN={s}",
            "git clone https://oauth2:{s}@gitlab.com/acme/infra.git",
            "gitlab-runner register --token {s}",
        ],
    ),
    "slack token": (
        lambda: (
            rng.choice(["xoxb-", "xoxp-", "xoxa-", "xoxe.xoxp-1-"])
            + f"{rng.randint(10**10, 10**12)}-{rng.randint(10**10, 10**12)}-{r(ALNUM, 24)}"
        ),
        ['slack_token = "{s}"', 'WebClient(token="{s}")'],
    ),
    "slack app token": (
        lambda: f"xapp-1-A{r(UP + DIG, 10)}-{rng.randint(10**12, 10**13)}-{r(HEX, 64)}",
        ["SLACK_APP_TOKEN={s}"],
    ),
    "slack webhook": (
        lambda: (
            f"https://hooks.slack.com/services/T{r(UP + DIG, 10)}/B{r(UP + DIG, 10)}/{r(ALNUM, 24)}"
        ),
        [
            "notify:\n  url: {s}",
            "curl -X POST -H 'Content-type: application/json' --data '{{}}' {s}",
        ],
    ),
    "stripe key": (
        lambda: rng.choice(["sk_live_", "rk_live_", "sk_test_"]) + r(ALNUM, rng.choice([24, 99])),
        [
            "const stripe = require('stripe')('{s}');",
            "stripe listen --api-key {s}",
            'STRIPE_API_KEY: "{s}"',
        ],
    ),
    "stripe publishable live key": (
        lambda: "pk_live_" + r(ALNUM, 99),
        ["NEXT_PUBLIC_STRIPE_KEY={s}"],
    ),
    "stripe webhook secret": (
        lambda: "whsec_" + r(ALNUM, 32),
        ["stripe.Webhook.construct_event(payload, sig, '{s}')", "webhook_secret: {s}"],
    ),
    "twilio": (
        lambda: "SK" + r(HEX, 32),
        ["TWILIO_API_KEY={s}", "client = Client('{s}', api_secret, account_sid)"],
    ),
    "twilio auth token": (
        lambda: r(HEX, 32),
        ["twilio:\n  auth_token: {s}", 'export TWILIO_AUTH_TOKEN="{s}"'],
    ),
    "sendgrid": (
        lambda: "SG." + r(URL, 22) + "." + r(URL, 43),
        ["sendgrid.setApiKey('{s}')", 'SENDGRID_API_KEY="{s}"'],
    ),
    "mailgun": (
        lambda: rng.choice([f"key-{r(HEX, 32)}", f"{r(HEX, 32)}-{r(HEX, 8)}-{r(HEX, 8)}"]),
        [
            'mailgun_api_key = "{s}"',
            "curl -s --user 'api:{s}' https://api.mailgun.net/v3/mg.acme.io/messages",
        ],
    ),
    "npm token": (
        lambda: "npm_" + r(ALNUM, 36),
        [
            "//registry.npmjs.org/:_authToken={s}",
            "npm config set //registry.npmjs.org/:_authToken {s}",
        ],
    ),
    "pypi token": (
        lambda: "pypi-AgEIcHlwaS5vcmc" + r(URL, 70),
        [
            "[pypi]\n  username = __token__\n  password = {s}",
            "twine upload -u __token__ -p {s} dist/*",
        ],
    ),
    "hugging face token": (
        lambda: "hf_" + r(ALNUM, 34),
        ['from huggingface_hub import login; login("{s}")', "HF_API_TOKEN: {s}"],
    ),
    "openai key": (
        lambda: rng.choice(["sk-proj-", "sk-", "sk-svcacct-"]) + r(URL, 48),
        [
            'OPENAI_API_KEY="{s}"',
            'curl https://api.openai.com/v1/models -H "Authorization: Bearer {s}"',
            "my key is {s} can you check why it 401s",
        ],
    ),
    "anthropic key": (
        lambda: "sk-ant-api03-" + r(URL, 93) + "AA",
        ['client = anthropic.Anthropic(api_key="{s}")', "x-api-key: {s}"],
    ),
    "google api key": (
        lambda: "AIza" + r(URL, 35),
        [
            '<script src="https://maps.googleapis.com/maps/api/js?key={s}&callback=init"></script>',
            "GOOGLE_MAPS_KEY: {s}",
        ],
    ),
    "gcp service account private key": (
        lambda: (
            "-----BEGIN PRIVATE KEY-----\\n"
            + "\\n".join(r(B64, 64) for _ in range(4))
            + "\\n-----END PRIVATE KEY-----\\n"
        ),
        [
            '  "private_key": "{s}",',
            '{{"type": "service_account", "project_id": "acme-prod", "private_key": "{s}"}}',
        ],
    ),
    "google oauth token": (
        lambda: rng.choice(["ya29.", "1//0"]) + r(URL, 60),
        ["access_token: {s}", "refresh token {s}"],
    ),
    "azure storage key": (
        lambda: r(B64, 86) + "==",
        [
            "DefaultEndpointsProtocol=https;AccountName=acmelogs;AccountKey={s};EndpointSuffix=core.windows.net",
            "az storage blob upload --account-key {s} -f app.zip",
        ],
    ),
    "azure sas": (
        lambda: (
            "sv=2022-11-02&ss=bfqt&srt=sco&sp=rwdlacupiytfx&se=2027-01-01T00:00:00Z"
            f"&sig={r(B64, 43)}%3D"
        ),
        [
            "BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature={s}",
            "https://acme.blob.core.windows.net/backups/db.bak?{s}",
        ],
    ),
    "azure client secret": (
        lambda: r(URL, 3) + "8Q~" + r(URL + "~.", 34),
        [
            "AZURE_CLIENT_SECRET={s}",
            "az login --service-principal -u 7f1d2c3b-aaaa-bbbb-cccc-1234567890ab -p {s}"
            " --tenant acme.onmicrosoft.com",
        ],
    ),
    "aws access key id": (
        lambda: rng.choice(["AKIA", "ASIA"]) + r(UP + "234567", 16),
        ["[default]\naws_access_key_id={s}", "AWS_ACCESS_KEY_ID: {s}"],
    ),
    "aws secret access key": (
        lambda: r(B64, 40),
        [
            "[prod]\naws_access_key_id = AKIA"
            + "Q2WS3ED4RF5TG6YH"
            + "\naws_secret_access_key = {s}",
            'AWS_SECRET_ACCESS_KEY: "{s}"',
            "Access key ID,Secret access key\nAKIAZ7X6C5V4B3N2M1LK,{s}",
            "aws configure set aws_secret_access_key {s} --profile ci",
        ],
    ),
    "aws session token": (
        lambda: "IQoJb3JpZ2luX2Vj" + r(B64, 200),
        ["aws_session_token = {s}"],
    ),
    "digitalocean token": (
        lambda: rng.choice(["dop_v1_", "doo_v1_"]) + r(HEX, 64),
        ["DO_TOKEN={s}", "doctl auth init --access-token {s}"],
    ),
    "shopify token": (
        lambda: rng.choice(["shpat_", "shpss_"]) + r(HEX, 32),
        ["SHOPIFY_ADMIN_TOKEN={s}", "headers['X-Shopify-Access-Token'] = '{s}'"],
    ),
    "atlassian token": (
        lambda: "ATATT3xFfGF0" + r(URL, 170) + "=" + r(HEX.upper(), 8),
        [
            "JIRA_API_TOKEN={s}",
            "curl -u me@acme.io:{s} https://acme.atlassian.net/rest/api/3/myself",
        ],
    ),
    "discord bot token": (
        discord_bot,
        ["client.run('{s}')", "DISCORD_BOT_TOKEN={s}"],
    ),
    "telegram bot token": (
        lambda: f"{rng.randint(10**8, 10**10 - 1)}:AA{r(URL, 33)}",
        ["curl https://api.telegram.org/bot{s}/getMe", "BOT_TOKEN = '{s}'"],
    ),
    "jwt": (
        jwt,
        [
            "Cookie: access_token={s}; Path=/",
            "localStorage.setItem('jwt', '{s}')",
            "here's the token from the login response: {s}",
        ],
    ),
    "pem private key": (
        lambda: pem(
            rng.choice(
                ["RSA PRIVATE KEY", "PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY"]
            )
        ),
        ["cat > key.pem <<'EOF'\n{s}\nEOF", "tls.key: |\n{s}"],
    ),
    "ssh private key": (
        lambda: (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA"
            + r(B64, 40)
            + "\n"
            + r(B64, 70)
            + "\n-----END OPENSSH PRIVATE KEY-----"
        ),
        ["~/.ssh/id_ed25519:\n{s}"],
    ),
    "basic auth url": (
        password,
        [
            "pip install --index-url https://deploy:{s}@pypi.acme.io/simple pkg",
            "git remote add backup https://ci-user:{s}@git.acme.io/backup.git",
            "proxy: http://proxyuser:{s}@proxy.corp:3128",
        ],
    ),
    "database url": (
        password,
        [
            "DATABASE_URL=mysql://wp:{s}@127.0.0.1:3306/wordpress",
            "spring.datasource.url=jdbc:postgresql://db:5432/app?user=app&password={s}",
            "Server=tcp:acme.database.windows.net,1433;Database=app;User ID=sa;"
            "Password={s};Encrypt=true",
            "CLICKHOUSE_URL=clickhouse://default:{s}@ch.internal:9000/events",
            "mongodb+srv://reporting:{s}@cluster1.x7k2p.mongodb.net/?retryWrites=true",
        ],
    ),
    "broker url": (
        password,
        [
            "CELERY_BROKER_URL=amqps://worker:{s}@mq.internal:5671/prod",
            "REDIS_URL=rediss://default:{s}@redis.internal:6380",
            "nats://app:{s}@nats.internal:4222",
            "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required"
            ' username="svc" password="{s}";',
        ],
    ),
    "authorization header": (
        lambda: r(URL, rng.choice([32, 40, 64])),
        [
            "Authorization: Bearer {s}",
            "-H 'Authorization: Token {s}'",
            "Authorization: SSWS 00{s}",
            "fetch(url, {{ headers: {{ Authorization: `Bearer {s}` }} }})",
        ],
    ),
    "basic auth header": (
        lambda: b64(f"{rng.choice(['admin', 'ci', 'svc'])}:{password()}"),
        ["Authorization: Basic {s}", "proxy-authorization: basic {s}"],
    ),
    "cookie session": (
        lambda: r(URL, rng.choice([26, 32, 48])),
        [
            "Cookie: sessionid={s}; csrftoken=abc",
            "Set-Cookie: session={s}; HttpOnly; Secure",
            "curl -b 'PHPSESSID={s}' https://shop.acme.io/cart",
            "JSESSIONID={s}",
        ],
    ),
    "password flag": (
        password,
        [
            "mysql -h db -u root -p'{s}' app",
            "mysqldump -uroot -p{s} --all-databases > all.sql",
            "sshpass -p {s} scp dump.sql ops@10.0.0.9:/tmp",
            "docker login registry.acme.io -u ci -p {s}",
            "redis-cli -h cache -a {s} ping",
            "psql --set=sslmode=require --password={s}",
        ],
    ),
    "env password": (
        password,
        [
            "POSTGRES_PASSWORD={s}",
            "  - MYSQL_ROOT_PASSWORD={s}",
            "ENV DB_PASS={s}",
            "export PGPASSWORD='{s}'",
            'SMTP_PASS="{s}"',
        ],
    ),
    "config password": (
        password,
        [
            'password = "{s}"',
            "[database]\nuser = app\npassword = {s}",
            'db:\n  password: "{s}"',
            '"password": "{s}",',
        ],
    ),
    "code password": (
        password,
        [
            "conn = psycopg2.connect(host='db', user='app', password='{s}')",
            "requests.get(url, auth=('admin', '{s}'))",
            "define('DB_PASSWORD', '{s}');",
            'ds.setPassword("{s}");',
            "CREATE USER app WITH PASSWORD '{s}';",
            "ALTER USER 'root'@'localhost' IDENTIFIED BY '{s}';",
        ],
    ),
    "netrc and config directives": (
        password,
        ["machine api.acme.io login deploy password {s}", "requirepass {s}", "masterauth {s}"],
    ),
    "k8s secret data": (
        lambda: b64(password()),
        [
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: {s}",
            "kind: Secret\ntype: Opaque\ndata:\n  DB_URL: {s}",
        ],
    ),
    "docker config auth": (
        lambda: b64(f"ci:{password()}"),
        ['{{"auths": {{"ghcr.io": {{"auth": "{s}"}}}}}}', "_auth={s}"],
    ),
    "generic secret under a name": (
        lambda: r(ALNUM + "-_", rng.choice([24, 32, 40, 64])),
        [
            "SECRET_KEY_BASE={s}",
            "NEXTAUTH_SECRET: {s}",
            'signing_key = "{s}"',
            "HMAC_KEY={s}",
            "encryption_key: {s}",
            '"clientSecret": "{s}"',
            "--api-token {s}",
            "X-Api-Key: {s}",
            "CLOUDFLARE_API_TOKEN={s}",
            "Ocp-Apim-Subscription-Key: {s}",
            "webhook_secret = '{s}'",
            "app_key = '{s}'",
            "license_key: {s}",
            "SENTRY_AUTH_TOKEN={s}",
            "auth_token => '{s}'",
        ],
    ),
    "hex secret under a name": (
        lambda: r(HEX, rng.choice([32, 40, 64])),
        ["DD_API_KEY={s}", "algolia_admin_key: {s}", "CF_API_KEY={s}", "MASTER_KEY={s}"],
    ),
    "uuid secret under a name": (
        lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        ["HEROKU_API_KEY={s}", "api_key: {s}", "NEW_RELIC_LICENSE_KEY={s}"],
    ),
    "url query secret": (
        lambda: r(URL, 32),
        [
            "https://api.acme.io/v2/export?format=csv&api_key={s}",
            "wss://feed.acme.io/stream?auth={s}",
            "https://s3.amazonaws.com/b/k?X-Amz-Credential=x&X-Amz-Signature={s}",
            "GET /callback?client_secret={s}&grant_type=client_credentials",
        ],
    ),
    "vendor token with prefix": (
        lambda: rng.choice(
            [
                "hvs." + r(URL, 90),
                "dp.st.prod." + r(ALNUM, 43),
                "pul-" + r(HEX, 40),
                "sntrys_" + r(ALNUM, 60),
                "figd_" + r(URL, 40),
                "sbp_" + r(HEX, 40),
                "CFPAT-" + r(URL, 43),
                "lin_api_" + r(ALNUM, 40),
                "dckr_pat_" + r(URL, 27),
                "glsa_" + r(ALNUM, 32) + "_" + r(HEX, 8),
                "ntn_" + r(ALNUM, 46),
                "pscale_tkn_" + r(URL, 43),
                "NRAK-" + r(UP + DIG, 27),
                "HRKU-" + r(URL, 40),
                "secret_" + r(ALNUM, 43),
                "rnd_" + r(ALNUM, 32),
                "ATBB" + r(ALNUM, 32),
                "EAA" + r(ALNUM, 120),
            ]
        ),
        ["token: {s}", "use {s} for the nightly job", "export TOKEN={s}", "--token={s}"],
    ),
    "password in prose": (
        password,
        ["the admin password is {s} until Friday", "pw for the wifi: {s}", "login is ops / {s}"],
    ),
}

CONTEXT = ["", "", "  ", "note: ", "> ", "$ ", "# prod\n", "Here is my config:\n", "output:\n"]


def secrets() -> list[dict]:
    out = []
    for kind, (make, templates) in KINDS.items():
        for template in templates:
            for _ in range(2):
                value = make()
                text = rng.choice(CONTEXT) + template.format(s=value)
                out.append({"kind": kind, "split": "dev4", "secret": value, "text": text})
    return out


# clean lines -----------------------------------------------------------------------------------

NAMES = [
    "DB_PASSWORD",
    "API_KEY",
    "GITHUB_TOKEN",
    "STRIPE_SECRET_KEY",
    "AWS_SECRET_ACCESS_KEY",
    "OPENAI_API_KEY",
    "SLACK_BOT_TOKEN",
    "JWT_SECRET",
    "REDIS_PASSWORD",
    "SENTRY_DSN",
]
KEYS = [
    "password",
    "api_key",
    "token",
    "secret_key",
    "client_secret",
    "access_token",
    "apiKey",
    "auth_token",
    "db_password",
    "private_key",
]
REFERENCES = [
    '{k} = os.environ["{n}"]',
    "{k} = os.getenv('{n}')",
    "{k}: ${{{n}}}",
    "{k}: ${{{{ secrets.{n} }}}}",
    "{k} = ENV.fetch('{n}')",
    "const {k} = process.env.{n};",
    '{k} := os.Getenv("{n}")',
    "export {n}=${n}",
    "{n}=$({k}_cmd)",
    "set {n}=%{n}%",
    "$env:{n}",
    "{k}: !Ref {n}",
    "{k} = var.{k}",
    '{k}: "{{{{ .Values.{k} }}}}"',
    "{k} = settings.{n}",
    '{k} = config["{k}"]',
    "{k}: vault:secret/data/prod#{k}",
    '{k} = System.getenv("{n}");',
    '{k} = Deno.env.get("{n}")',
    "{n}: ${{env:{n}}}",
    "{k}: <%= ENV['{n}'] %>",
    '--{k} "${n}"',
    '{k}="$(cat /run/secrets/{k})"',
    "{k}: ((vault-{k}))",
    '@Value("${{{k}}}") private String {k};',
]
PLACEHOLDERS = [
    '{k} = "<your-{k}>"',
    "{k}: YOUR_{n}_HERE",
    "{n}=changeme",
    '{k} = "xxxxxxxxxxxxxxxx"',
    "{n}=***",
    '{k}: "********"',
    '{k} = ""',
    "{n}=",
    "{k}: null",
    "{k} = None",
    "{k}: REPLACE_ME",
    "{n}=<{n}>",
    '{k} = "..."',
    "{k}: ~",
    '{k} = "TODO"',
    '{k}: "[REDACTED]"',
    '{k} = "insert-your-{k}-here"',
    "{n}=your_{k}",
    "{k}: <redacted>",
]
PLACEHOLDER_TOKENS = [
    "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "sk-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "AKIAXXXXXXXXXXXXXXXX",
    "xoxb-your-token-here",
    "sk_live_xxxxxxxxxxxxxxxxxxxxxxxx",
    "glpat-XXXXXXXXXXXXXXXXXXXX",
    "hf_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "npm_XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX",
]  # AWS's documented example keys are left out: the rules treat them as keys (see redaction.py)
CODE_AND_PROSE = [
    "def rotate_token(self, token: str) -> str:",
    "if not password: raise ValueError('password required')",
    "tokens = tokenizer.encode(text)",
    "max_tokens: 4096",
    "token_count += len(chunk)",
    "The API key is read from the environment, never from the config file.",
    "Passwords are hashed with argon2id before they are stored.",
    "Rotate your GitHub token if it was ever pasted into a chat.",
    "Use `gh auth token` to print the current token.",
    "password_policy: min_length=12",
    "secret_name: prod/db/credentials",
    "key_vault_name: acme-kv-prod",
    "secretRef: db-credentials",
    "      secretKeyRef:\n        name: app-secrets\n        key: api-key",
    "public_key: ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx7 ops@acme",
    "pk_test_ keys are safe to expose in the browser; sk_ keys are not.",
    "The token endpoint is https://oauth2.googleapis.com/token",
    "Authorization: Bearer <token>",
    "Authorization: Bearer $ACCESS_TOKEN",
    'curl -H "Authorization: Bearer ${GITHUB_TOKEN}" https://api.github.com/user',
    "mysql -u root -p",
    "psql -h localhost -U postgres -W",
    "ssh -p 2222 deploy@bastion",
    "docker run -p 8080:80 nginx",
    "mkdir -p build/dist2",
    "pytest -p no:cacheprovider",
    "docker login --password-stdin -u ci ghcr.io < token.txt",
    "sshpass -f ~/.pw ssh ops@db",
    "redis-cli -h cache ping",
    "password_hash = argon2.hash(password)",
    "primary_key: (tenant_id, id)",
    "sort_key = 'created_at'",
    "partition_key: customer_id",
    "cache_key = f'user:{user_id}:profile'",
    "keyboard_layout: de-nodeadkeys",
    "api_key_header: X-Api-Key",
    "token_type: bearer",
    "auth_method: oauth2-pkce",
    "the secret to fast tests is a warm cache",
    "monkeypatch.setenv('API_KEY', api_key)",
    "assert response.json()['token_type'] == 'Bearer'",
    "session.cookies.clear()",
    "Set-Cookie: theme=dark; Path=/; SameSite=Lax",
    "Cookie: lang=en-GB; tz=Europe/Berlin",
    "kubectl get secret db -o jsonpath='{.data.password}' | base64 -d",
    "aws secretsmanager get-secret-value --secret-id prod/api --query SecretString",
    "gcloud secrets versions access latest --secret=db-password",
    "op read op://Private/GitHub/token",
    "vault kv get -field=password secret/prod/db",
    "PASSWORD_MIN_LENGTH = 12",
    "TOKEN_TTL_SECONDS = 3600",
    "AUTH_BACKEND = 'django.contrib.auth.backends.ModelBackend'",
    "SECRET_KEY = get_random_secret_key()",
    "api_key = request.headers.get('X-Api-Key')",
    "password = getpass.getpass('Password: ')",
    "token = secrets.token_urlsafe(32)",
    "jwt.decode(token, key, algorithms=['HS256'])",
    "hmac.compare_digest(signature, expected)",
    "private_key = serialization.load_pem_private_key(data, password=None)",
    "client_secret: \"{{ lookup('env', 'CLIENT_SECRET') }}\"",
    "The webhook secret lives in 1Password under 'Stripe prod'.",
    "We moved every credential to Vault in March.",
    "Sessions expire after 30 minutes of inactivity.",
    "https://github.com/acme/api/pull/412",
    "postgres://localhost:5432/test",
    "redis://redis:6379/0",
    "amqp://rabbitmq:5672",
    "mongodb://localhost:27017",
    "DATABASE_URL=postgres://app:${DB_PASSWORD}@db:5432/app",
    "url = f'postgresql://{user}:{password}@{host}:{port}/{db}'",
    "BROKER_URL=amqp://guest:guest@localhost:5672//",
    "password: guest",
    "Authorization header missing; got 401",
    "--token-file /var/run/secrets/token",
    "--password-file=/etc/app/db.pw",
    "token_url = 'https://auth.acme.io/oauth/token'",
    "AccessKeyId rotation is handled by the IAM role, not by us.",
    "certificate-authority-data: " + b64("-----BEGIN CERTIFICATE-----\nMIIC" + "A" * 40)[:60],
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7" + "x" * 20 + " user@laptop",
    "-----BEGIN CERTIFICATE-----",
    "-----BEGIN PUBLIC KEY-----",
    "pk.eyJ1IjoiYWNtZSIsImEiOiJjbGFiYzEyMyJ9 is the public Mapbox token for the demo map",
]


def ids() -> list[str]:
    out = []
    for i in range(40):
        sha1 = hashlib.sha1(f"rev {i}".encode()).hexdigest()
        sha256 = hashlib.sha256(f"blob {i}".encode()).hexdigest()
        u = uuid.UUID(int=rng.getrandbits(128), version=4)
        md5 = hashlib.md5(f"file {i}".encode()).hexdigest()
        digest = base64.b64encode(hashlib.sha256(str(i).encode()).digest()).decode()
        out += [
            rng.choice(
                [f"git checkout {sha1[:12]}", f"{sha1} refs/heads/main", f"Reverts {sha1}."]
            ),
            rng.choice(
                [f"sha256 {sha256}", f"Digest: sha256:{sha256}", f"{sha256}  wheel-{i}.whl"]
            ),
            rng.choice([f"trace_id={u.hex}", f"correlation-id: {u}", f"user {u} signed in"]),
            rng.choice([f"md5sum: {md5}", f'ETag: "{md5}"', f'checksum = "{md5}"']),
            rng.choice(
                [
                    f"integrity sha256-{digest}",
                    f'"digest": "{digest}"',
                    f"content-md5: {digest[:24]}",
                ]
            ),
        ]
    for _ in range(15):
        blob = base64.b64encode(bytes(rng.getrandbits(8) for _ in range(60))).decode()
        out += [
            f"background: url(data:image/png;base64,{blob});",
            f'{{"thumbnail": "data:image/jpeg;base64,{blob}"}}',
        ]
    return out


def stdlib_lines(limit: int = 220) -> list[str]:
    """Real code that talks about passwords, keys and tokens: the standard library's."""
    where = Path(sysconfig.get_paths()["stdlib"])
    names = [
        "smtplib.py",
        "getpass.py",
        "netrc.py",
        "ftplib.py",
        "imaplib.py",
        "poplib.py",
        "secrets.py",
        "hmac.py",
        "ssl.py",
        "tokenize.py",
        "urllib/request.py",
        "http/cookies.py",
        "http/cookiejar.py",
        "hashlib.py",
        "base64.py",
        "uuid.py",
    ]
    lines = []
    for name in names:
        path = where / name
        if not path.exists():
            continue
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
            line = line.strip()
            low = line.lower()
            if (
                len(line) >= 20
                and not line.startswith("#")
                and any(
                    w in low
                    for w in ("pass", "key", "token", "secret", "auth", "cookie", "session")
                )
            ):
                lines.append(line)
    lines = sorted(set(lines))
    rng.shuffle(lines)
    return lines[:limit]


def clean() -> list[str]:
    lines: list[str] = []
    for template in REFERENCES:
        for _ in range(3):
            lines.append(template.format(k=rng.choice(KEYS), n=rng.choice(NAMES)))
    for template in PLACEHOLDERS:
        for _ in range(2):
            lines.append(template.format(k=rng.choice(KEYS), n=rng.choice(NAMES)))
    lines += [f"{rng.choice(NAMES)}={t}" for t in PLACEHOLDER_TOKENS]
    lines += CODE_AND_PROSE + ids() + stdlib_lines()
    return list(dict.fromkeys(lines))


def main() -> None:
    rows = secrets()
    with open(HERE / "secrets4.jsonl", "w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    lines = clean()
    with open(HERE / "clean4.jsonl", "w", encoding="utf-8") as fh:
        for text in lines:
            fh.write(json.dumps({"source": "synthetic", "split": "dev4", "text": text}) + "\n")
    print(
        f"secrets4.jsonl: {len(rows)} secrets of {len({r['kind'] for r in rows})} kinds; "
        f"clean4.jsonl: {len(lines)} lines (python {sys.version_info[0]}.{sys.version_info[1]})"
    )


if __name__ == "__main__":
    main()
