#!/usr/bin/env python3
"""Generate a held-out corpus of FAKE secrets (secrets3.jsonl) and clean lines (clean3.jsonl).

All secret values are produced here by a seeded PRNG in the real formats / lengths / alphabets
of each provider. None of them is a real credential. Re-running with the same seed gives the
same files.
"""
import base64, json, os, random, re, string, sys, urllib.parse, zlib
from collections import Counter

SEED = 3_2026_12_02
R = random.Random(SEED)
OUT = os.path.dirname(os.path.abspath(__file__))
SPLIT = "heldout3"

LOW = string.ascii_lowercase
UP = string.ascii_uppercase
DIG = string.digits
AN = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
UHEX = "0123456789ABCDEF"
B64 = AN + "+/"
URLS = AN + "-_"
B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
BECH = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"


def rs(n, alpha=AN):
    return "".join(R.choice(alpha) for _ in range(n))


def rb(n):
    return bytes(R.getrandbits(8) for _ in range(n))


def b64(b):
    return base64.b64encode(b).decode()


def b64u(b):
    return base64.urlsafe_b64encode(b).decode().rstrip("=")


def pick(*xs):
    return R.choice(xs)


def base62(n, width):
    out = ""
    while n:
        n, r = divmod(n, 62)
        out = (DIG + UP + LOW)[r] + out
    return out.rjust(width, "0")


# ---------------------------------------------------------------- fill helpers
WORDS = ["orders", "billing", "ledger", "search", "auth", "payments", "catalog", "notify",
         "reports", "inventory", "gateway", "ingest", "metrics", "checkout", "profile", "media"]
PEOPLE = ["alice", "bob", "carol", "dmitri", "eve", "farah", "gus", "hiro", "ines", "jamal",
          "kenji", "lena", "marco", "nora", "olu", "priya", "quinn", "raj", "sofia", "tomas"]


def svc():
    return R.choice(WORDS)


def user():
    return pick("app", "admin", "postgres", "root", "svc_" + svc(), svc() + "_rw", R.choice(PEOPLE),
                "deploy", "readonly", "etl", "backup")


def host():
    s = svc()
    return pick(
        f"{s}-db.internal", f"10.{R.randint(0,255)}.{R.randint(0,255)}.{R.randint(1,254)}",
        f"{s}-prod.cluster-c{rs(10, LOW+DIG)}.us-east-1.rds.amazonaws.com",
        f"{s}.{pick('svc.cluster.local', 'prod.example.net', 'corp.acme.io')}", "localhost",
        f"db{R.randint(1,9)}.{pick('staging','prod','qa')}.acme.dev", "127.0.0.1", f"{s}-primary")


def dbname():
    return pick(svc(), svc() + "_prod", svc() + "_db", "app", "main", "analytics")


def pw_url(n=None):
    n = n or R.randint(12, 26)
    style = R.random()
    if style < 0.25:
        w = pick("Summer", "Falcon", "Orchid", "Granite", "Velvet", "Copper", "Nimbus", "Tundra")
        return f"{w}{R.randint(10,9999)}{pick('-', '_', '.', '~')}{rs(R.randint(4,8), AN)}"
    return rs(n, AN + "-_.~") if style < 0.6 else rs(n, AN)


def pw_any(n=None):
    n = n or R.randint(12, 28)
    style = R.random()
    if style < 0.25:
        w = pick("Winter", "Harbor", "Quartz", "Meadow", "Saffron", "Ember", "Pylon", "Kestrel")
        return f"{w}{R.randint(10,9999)}{pick('!', '#', '%', '*', '@', '+')}{rs(R.randint(3,7), AN)}"
    s = rs(n, AN + "!%^*-_+=.~@#")
    return s if not s.startswith(("#", "*", "@", "%", "!", "-", "=", "+", "~", ".", "^")) else "Q" + s


def ts():
    return f"2026-{R.randint(1,11):02d}-{R.randint(1,28):02d}T{R.randint(0,23):02d}:{R.randint(0,59):02d}:{R.randint(0,59):02d}.{R.randint(0,999):03d}Z"


def uuid4():
    h = rs(32, HEX)
    h = h[:12] + "4" + h[13:16] + R.choice("89ab") + h[17:]
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def region():
    return pick("us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "ap-northeast-1")


def org():
    return pick("acme", "initech", "globex", "umbrella-labs", "hooli", "piedpiper", "stark-ind", "wayne-ent")


def repo():
    return pick("api", "web", "infra", "platform", "mobile", "data-pipeline", "ml-serving", "docs") 


# ---------------------------------------------------------------- secret value generators
def gh_token(prefix):
    body = rs(30)
    return prefix + body + base62(zlib.crc32(body.encode()), 6)


def gh_fine():
    return "github_pat_" + rs(22, DIG + UP) + "_" + rs(59)


def gitlab():
    return pick("glpat-", "glpat-", "glpat-", "gldt-", "glrt-") + rs(20, URLS)


def slack_tok():
    t = pick("xoxb", "xoxb", "xoxp", "xoxe.xoxp-1", "xapp")
    if t == "xoxb":
        return f"xoxb-{R.randint(10**9, 10**12)}-{R.randint(10**12, 10**13-1)}-{rs(24)}"
    if t == "xoxp":
        return f"xoxp-{R.randint(10**9, 10**12)}-{R.randint(10**9, 10**12)}-{R.randint(10**12, 10**13-1)}-{rs(32, HEX)}"
    if t == "xapp":
        return f"xapp-1-A{rs(10, UP+DIG)}-{R.randint(10**12, 10**13-1)}-{rs(64, HEX)}"
    return f"xoxe.xoxp-1-{rs(140, URLS)}"


def stripe():
    p = pick("sk_live_", "sk_live_", "rk_live_", "sk_test_", "sk_live_51")
    if p == "sk_live_51":
        return p + rs(97)
    return p + rs(pick(24, 24, 99))


def openai():
    k = R.random()
    if k < 0.5:
        return "sk-proj-" + rs(74, URLS) + "T3BlbkFJ" + rs(74, URLS)
    if k < 0.75:
        return "sk-" + rs(20) + "T3BlbkFJ" + rs(20)
    return "sk-svcacct-" + rs(74, URLS) + "T3BlbkFJ" + rs(74, URLS)


def anthropic():
    return pick("sk-ant-api03-", "sk-ant-api03-", "sk-ant-admin01-") + rs(93, URLS) + "AA"


def pem_body(kind):
    if kind == "RSA":
        raw = base64.b64decode("MIIEpAIBAAKCAQEA") + rb(1176 - 12)
    elif kind == "PKCS8":
        raw = base64.b64decode("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIB") + rb(1190 - 37)
    elif kind == "EC":
        raw = base64.b64decode("MHcCAQEEI" [:8]) + rb(121 - 6)
    else:
        raw = b"openssh-key-v1\x00" + b"\x00\x00\x00\x04none\x00\x00\x00\x04none\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00\x33\x00\x00\x00\x0bssh-ed25519" + rb(330)
    s = b64(raw)
    return s


def wrap(s, n):
    return [s[i:i + n] for i in range(0, len(s), n)]


def jwt(alg="HS256", extra=None):
    hdr = {"alg": alg, "typ": "JWT"}
    iat = R.randint(1_760_000_000, 1_790_000_000)
    pl = {"sub": pick(str(R.randint(1000, 999999)), uuid4(), R.choice(PEOPLE) + "@" + org() + ".com"),
          "iat": iat, "exp": iat + pick(900, 3600, 86400)}
    if extra:
        pl.update(extra)
    if R.random() < 0.5:
        pl["role"] = pick("admin", "user", "service", "authenticated")
    sig = b64u(rb(32 if alg == "HS256" else 256))
    return b64u(json.dumps(hdr, separators=(",", ":")).encode()) + "." + b64u(json.dumps(pl, separators=(",", ":")).encode()) + "." + sig


# ---------------------------------------------------------------- the secret corpus
SECRETS = []


def add(kind, text, secret):
    assert secret in text, (kind, secret, text)
    assert len(secret) >= 8, (kind, secret)
    SECRETS.append({"kind": kind, "split": SPLIT, "secret": secret, "text": text})


def K(kind, gen, templates, n=None):
    """Use every template once (n defaults to len(templates)), each with a fresh value."""
    n = n or len(templates)
    for i in range(n):
        t = templates[i % len(templates)]
        s = gen()
        add(kind, t(s), s)


# GitHub classic PAT
K("github personal access token", lambda: gh_token("ghp_"), [
    lambda s: f"git clone https://{s}@github.com/{org()}/{repo()}.git",
    lambda s: f"export GITHUB_TOKEN={s}",
    lambda s: f'echo "{s}" | gh auth login --with-token',
    lambda s: f"  GH_TOKEN: {s}",
    lambda s: f"hey can you try with my token {s} ? the bot one is rate limited",
    lambda s: f'curl -H "Authorization: token {s}" https://api.github.com/repos/{org()}/{repo()}/releases/latest',
    lambda s: f"//npm.pkg.github.com/:_authToken={s}",
    lambda s: f'octokit = Octokit(auth="{s}")',
])
K("github fine-grained token", gh_fine, [
    lambda s: f"GITHUB_PAT={s}",
    lambda s: f'const octokit = new Octokit({{ auth: "{s}" }});',
    lambda s: f"remote: https://x-access-token:{s}@github.com/{org()}/{repo()}.git",
    lambda s: f'[github]\ntoken = "{s}"',
    lambda s: f"docker build --build-arg GH_PAT={s} -t {repo()}:dev .",
])
K("github app/oauth token", lambda: gh_token(pick("gho_", "ghs_", "ghu_", "ghr_")), [
    lambda s: f"DEBUG installation token minted: {s} expires_at=2026-12-02T07:12:44Z",
    lambda s: f'{{"access_token":"{s}","token_type":"bearer","scope":"repo,read:org"}}',
    lambda s: f"oauth_token: {s}",
    lambda s: f"git push https://x-access-token:{s}@github.com/{org()}/{repo()}.git HEAD:main",
    lambda s: f"github.com:\n    user: {R.choice(PEOPLE)}\n    oauth_token: {s}\n    git_protocol: https",
])
K("gitlab token", gitlab, [
    lambda s: f'curl --header "PRIVATE-TOKEN: {s}" "https://gitlab.com/api/v4/projects/{R.randint(1000,99999999)}/pipelines"',
    lambda s: f"export GITLAB_TOKEN={s}",
    lambda s: f"git remote set-url origin https://oauth2:{s}@gitlab.{org()}.com/{repo()}/{repo()}.git",
    lambda s: f"gitlab-runner register --url https://gitlab.com --token {s} --executor docker",
    lambda s: f"  token = \"{s}\"",
    lambda s: f"i rotated it, new one is {s} (expires in 30d)",
])
K("slack token", slack_tok, [
    lambda s: f"SLACK_BOT_TOKEN={s}",
    lambda s: f'client = WebClient(token="{s}")',
    lambda s: f'curl -X POST -H "Authorization: Bearer {s}" -H "Content-type: application/json" --data \'{{"channel":"C0{rs(8, UP+DIG)}","text":"deploy done"}}\' https://slack.com/api/chat.postMessage',
    lambda s: f"    slack_token: {s}",
    lambda s: f"const app = new App({{ token: '{s}', signingSecret: process.env.SLACK_SIGNING_SECRET }});",
    lambda s: f"ERROR slack_sdk.errors.SlackApiError: invalid_auth (token={s})",
])


def slack_hook_tok():
    return rs(24)


for t in [
    lambda s: f"SLACK_WEBHOOK_URL=https://hooks.slack.com/services/T{rs(8, UP+DIG)}/B{rs(10, UP+DIG)}/{s}",
    lambda s: f"curl -X POST -H 'Content-type: application/json' --data '{{\"text\":\"build failed\"}}' https://hooks.slack.com/services/T{rs(10, UP+DIG)}/B{rs(11, UP+DIG)}/{s}",
    lambda s: f"      webhook_url: \"https://hooks.slack.com/services/T{rs(9, UP+DIG)}/B{rs(9, UP+DIG)}/{s}\"",
    lambda s: f"requests.post(\"https://hooks.slack.com/services/T{rs(8, UP+DIG)}/B{rs(10, UP+DIG)}/{s}\", json={{\"text\": msg}})",
    lambda s: f"slack_api_url: https://hooks.slack.com/services/T{rs(8, UP+DIG)}/B{rs(10, UP+DIG)}/{s}",
]:
    s = slack_hook_tok()
    add("slack webhook", t(s), s)

K("stripe secret key", stripe, [
    lambda s: f"STRIPE_SECRET_KEY={s}",
    lambda s: f"stripe.api_key = \"{s}\"",
    lambda s: f"curl https://api.stripe.com/v1/charges -u {s}: -d amount=2000 -d currency=usd",
    lambda s: f"const stripe = require('stripe')('{s}');",
    lambda s: f"  stripe:\n    secret_key: {s}",
    lambda s: f"stripe listen --api-key {s} --forward-to localhost:3000/webhooks",
    lambda s: f"the live key is {s}, please don't commit it this time",
])
K("stripe webhook secret", lambda: "whsec_" + rs(pick(32, 32, 64)), [
    lambda s: f"STRIPE_WEBHOOK_SECRET={s}",
    lambda s: f"> Ready! Your webhook signing secret is {s} (^C to quit)",
    lambda s: f"event = stripe.Webhook.construct_event(payload, sig_header, \"{s}\")",
    lambda s: f"endpoint_secret = '{s}'",
])
K("twilio auth token", lambda: rs(32, HEX), [
    lambda s: f"TWILIO_AUTH_TOKEN={s}",
    lambda s: f"client = Client(\"AC{rs(32, HEX)}\", \"{s}\")",
    lambda s: f"curl -X POST https://api.twilio.com/2010-04-01/Accounts/AC{rs(32, HEX)}/Messages.json -u AC{rs(32, HEX)}:{s} --data-urlencode \"Body=hi\"",
    lambda s: f"  twilio:\n    account_sid: AC{rs(32, HEX)}\n    auth_token: {s}",
])
K("twilio api key secret", lambda: rs(32), [
    lambda s: f"TWILIO_API_SECRET={s}",
    lambda s: f"const client = twilio('SK{rs(32, HEX)}', '{s}', {{ accountSid: 'AC{rs(32, HEX)}' }});",
    lambda s: f"twilio profiles:add --api-key SK{rs(32, HEX)} --api-secret {s}",
])
K("sendgrid api key", lambda: "SG." + rs(22, URLS) + "." + rs(43, URLS), [
    lambda s: f"SENDGRID_API_KEY={s}",
    lambda s: f"sg = SendGridAPIClient('{s}')",
    lambda s: f'curl --request POST --url https://api.sendgrid.com/v3/mail/send --header "Authorization: Bearer {s}" --header "Content-Type: application/json" -d @mail.json',
    lambda s: f"smtp_password = \"{s}\"  # username is literally 'apikey'",
    lambda s: f"sgMail.setApiKey('{s}');",
    lambda s: f"EMAIL_HOST_PASSWORD: {s}",
])
K("mailgun api key", lambda: pick("key-" + rs(32, HEX), rs(32, HEX) + "-" + rs(8, HEX) + "-" + rs(8, HEX)), [
    lambda s: f"MAILGUN_API_KEY={s}",
    lambda s: f"curl -s --user 'api:{s}' https://api.mailgun.net/v3/mg.{org()}.com/messages -F from='noreply@{org()}.com' -F to=ops@{org()}.com -F subject=test -F text=hi",
    lambda s: f"mailgun:\n  domain: mg.{org()}.com\n  api_key: {s}",
    lambda s: f"auth=(\"api\", \"{s}\")",
])
K("npm token", lambda: "npm_" + rs(36), [
    lambda s: f"//registry.npmjs.org/:_authToken={s}",
    lambda s: f"export NPM_TOKEN={s}",
    lambda s: f"echo \"//registry.npmjs.org/:_authToken={s}\" > ~/.npmrc",
    lambda s: f"  NODE_AUTH_TOKEN: {s}",
    lambda s: f"npm ERR! 403 Forbidden - PUT https://registry.npmjs.org/@{org()}%2f{repo()} - token {s} does not have permission",
])
K("pypi token", lambda: "pypi-AgEIcHlwaS5vcmcCJ" + rs(R.randint(140, 170), URLS), [
    lambda s: f"[pypi]\n  username = __token__\n  password = {s}",
    lambda s: f"twine upload -u __token__ -p {s} dist/*",
    lambda s: f"export TWINE_PASSWORD={s}",
    lambda s: f"poetry config pypi-token.pypi {s}",
    lambda s: f"UV_PUBLISH_TOKEN={s} uv publish",
])
K("hugging face token", lambda: "hf_" + rs(34, string.ascii_letters), [
    lambda s: f"export HF_TOKEN={s}",
    lambda s: f"huggingface-cli login --token {s}",
    lambda s: f"login(token=\"{s}\")",
    lambda s: f"model = AutoModel.from_pretrained(\"meta-llama/Llama-3.1-8B\", token=\"{s}\")",
    lambda s: f"      - HUGGING_FACE_HUB_TOKEN={s}",
    lambda s: f"git clone https://{R.choice(PEOPLE)}:{s}@huggingface.co/datasets/{org()}/{svc()}-eval",
])
K("openai api key", openai, [
    lambda s: f"OPENAI_API_KEY={s}",
    lambda s: f"client = OpenAI(api_key=\"{s}\")",
    lambda s: f'curl https://api.openai.com/v1/chat/completions -H "Authorization: Bearer {s}" -H "Content-Type: application/json" -d \'{{"model":"gpt-4o-mini","messages":[]}}\'',
    lambda s: f"here's the key: {s} -- it's the team one so go easy",
    lambda s: f"openai.error.AuthenticationError: Incorrect API key provided: {s}. You can find your API key at https://platform.openai.com/account/api-keys.",
    lambda s: f"const openai = new OpenAI({{ apiKey: \"{s}\" }});",
    lambda s: f"$env:OPENAI_API_KEY = \"{s}\"",
])
K("anthropic api key", anthropic, [
    lambda s: f"ANTHROPIC_API_KEY={s}",
    lambda s: f"client = anthropic.Anthropic(api_key=\"{s}\")",
    lambda s: f'curl https://api.anthropic.com/v1/messages -H "x-api-key: {s}" -H "anthropic-version: 2023-06-01" -H "content-type: application/json" -d @req.json',
    lambda s: f"  \"env\": {{ \"ANTHROPIC_API_KEY\": \"{s}\" }},",
    lambda s: f"set ANTHROPIC_API_KEY={s}",
    lambda s: f"use this one for the eval run: {s}",
])
K("google api key", lambda: "AIzaSy" + rs(33, URLS), [
    lambda s: f"GOOGLE_API_KEY={s}",
    lambda s: f"https://maps.googleapis.com/maps/api/geocode/json?address=1600+Amphitheatre&key={s}",
    lambda s: f"  apiKey: \"{s}\",\n  authDomain: \"{svc()}-{R.randint(1000,9999)}.firebaseapp.com\",",
    lambda s: f"genai.configure(api_key=\"{s}\")",
    lambda s: f"<meta-data android:name=\"com.google.android.geo.API_KEY\" android:value=\"{s}\"/>",
    lambda s: f"GET /youtube/v3/search?part=snippet&q=kubernetes&key={s} HTTP/1.1",
])


def gcp_sa_line(variant):
    body = pem_body("PKCS8")
    lines = wrap(body, 64)
    proj = f"{svc()}-{rs(6, LOW+DIG)}"
    esc = "\\n".join(lines)
    pk = "-----BEGIN PRIVATE KEY-----\\n" + esc + "\\n-----END PRIVATE KEY-----\\n"
    if variant == 0:
        text = json.dumps({"type": "service_account", "project_id": proj, "private_key_id": rs(40, HEX),
                           "private_key": "@@PK@@", "client_email": f"{svc()}-sa@{proj}.iam.gserviceaccount.com",
                           "client_id": str(R.randint(10**20, 10**21))}).replace("@@PK@@", pk)
    elif variant == 1:
        text = f'  "private_key": "{pk}",'
    elif variant == 2:
        text = f"GOOGLE_PRIVATE_KEY=\"{pk}\""
    else:
        text = f"credentials = service_account.Credentials.from_service_account_info({{\"type\": \"service_account\", \"client_email\": \"etl@{proj}.iam.gserviceaccount.com\", \"private_key\": \"{pk}\", \"token_uri\": \"https://oauth2.googleapis.com/token\"}})"
    add("gcp service account private key", text, esc)


for v in range(4):
    gcp_sa_line(v)


def azure_key():
    return b64(rb(64))


for t in [
    lambda s: f"AZURE_STORAGE_CONNECTION_STRING=\"DefaultEndpointsProtocol=https;AccountName={svc()}store{R.randint(1,99)};AccountKey={s};EndpointSuffix=core.windows.net\"",
    lambda s: f"az storage blob upload --account-name {svc()}sa --account-key {s} --container-name backups --file dump.sql.gz",
    lambda s: f"    \"AzureWebJobsStorage\": \"DefaultEndpointsProtocol=https;AccountName={svc()}fn;AccountKey={s};EndpointSuffix=core.windows.net\",",
    lambda s: f"export AZURE_STORAGE_KEY={s}",
    lambda s: f"terraform: primary_access_key = \"{s}\"",
]:
    s = azure_key()
    add("azure storage account key", t(s), s)


def sas():
    sig = urllib.parse.quote(b64(rb(32)), safe="")
    q = f"sv=2022-11-02&ss=b&srt=sco&sp=rwdlacupiytfx&se=2027-01-01T00:00:00Z&st=2026-12-01T00:00:00Z&spr=https&sig={sig}"
    return sig, q


for t in [
    lambda q: f"https://{svc()}store.blob.core.windows.net/exports/report.csv?{q}",
    lambda q: f"azcopy copy ./build \"https://{svc()}cdn.blob.core.windows.net/$web?{q}\" --recursive",
    lambda q: f"AZURE_SAS_TOKEN=\"?{q}\"",
    lambda q: f"INFO uploading chunk 3/17 to https://{svc()}logs.blob.core.windows.net/raw/2026/12/02/app.log?{q}",
]:
    sig, q = sas()
    add("azure sas token", t(q), sig)


def aws_id():
    return pick("AKIA", "AKIA", "AKIA", "ASIA") + rs(16, UP + "234567")


K("aws access key id", aws_id, [
    lambda s: f"aws_access_key_id = {s}",
    lambda s: f"export AWS_ACCESS_KEY_ID={s}",
    lambda s: f"  AWS_ACCESS_KEY_ID: {s}",
    lambda s: f"s3 = boto3.client('s3', aws_access_key_id='{s}', aws_secret_access_key=os.environ['AWS_SECRET'])",
    lambda s: f"botocore.exceptions.ClientError: An error occurred (InvalidAccessKeyId) when calling the ListBuckets operation: The AWS Access Key Id you provided does not exist in our records. key={s}",
    lambda s: f"Credential={s}/20261202/{region()}/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature={rs(64, HEX)}",
])
K("aws secret access key", lambda: rs(40, B64), [
    lambda s: f"aws_secret_access_key = {s}",
    lambda s: f"export AWS_SECRET_ACCESS_KEY={s}",
    lambda s: f"aws configure set aws_secret_access_key {s} --profile {pick('prod','staging','ci')}",
    lambda s: f"      - AWS_SECRET_ACCESS_KEY={s}",
    lambda s: f"new AWS.S3({{ accessKeyId: '{aws_id()}', secretAccessKey: '{s}', region: '{region()}' }})",
    lambda s: f"{{\"AccessKey\": {{\"UserName\": \"ci-bot\", \"AccessKeyId\": \"{aws_id()}\", \"Status\": \"Active\", \"SecretAccessKey\": \"{s}\"}}}}",
    lambda s: f"  secret_key = \"{s}\"",
])
K("aws session token", lambda: pick("FwoGZXIvYXdzE", "IQoJb3JpZ2luX2VjE") + rs(R.randint(300, 420), B64) + pick("", "=", "=="), [
    lambda s: f"aws_session_token = {s}",
    lambda s: f"export AWS_SESSION_TOKEN={s}",
    lambda s: f"\"SessionToken\": \"{s}\",",
])
K("digitalocean token", lambda: pick("dop_v1_", "dop_v1_", "doo_v1_", "dor_v1_") + rs(64, HEX), [
    lambda s: f"doctl auth init --access-token {s}",
    lambda s: f"export DIGITALOCEAN_TOKEN={s}",
    lambda s: f"provider \"digitalocean\" {{\n  token = \"{s}\"\n}}",
    lambda s: f'curl -X GET -H "Content-Type: application/json" -H "Authorization: Bearer {s}" "https://api.digitalocean.com/v2/droplets"',
    lambda s: f"DO_API_TOKEN: {s}",
])
K("shopify token", lambda: pick("shpat_", "shpat_", "shpss_", "shpca_", "shppa_") + rs(32, HEX), [
    lambda s: f"SHOPIFY_ACCESS_TOKEN={s}",
    lambda s: f'curl -X GET "https://{svc()}-store.myshopify.com/admin/api/2024-10/orders.json" -H "X-Shopify-Access-Token: {s}"',
    lambda s: f"session = shopify.Session(\"{svc()}.myshopify.com\", \"2024-10\", \"{s}\")",
    lambda s: f"  shopify_api_secret: {s}",
])


def discord_bot():
    uid = str(R.randint(10**17, 10**19 - 1))
    return b64u(uid.encode()) + "." + rs(6, URLS) + "." + rs(pick(27, 38), URLS)


K("discord bot token", discord_bot, [
    lambda s: f"DISCORD_TOKEN={s}",
    lambda s: f"client.run('{s}')",
    lambda s: f"client.login(\"{s}\");",
    lambda s: f"  \"token\": \"{s}\",\n  \"prefix\": \"!\"",
    lambda s: f"bot token for the staging server: {s}",
])
for t in [
    lambda s: f"DISCORD_WEBHOOK=https://discord.com/api/webhooks/{R.randint(10**17, 10**19-1)}/{s}",
    lambda s: f"curl -H \"Content-Type: application/json\" -d '{{\"content\":\"nightly ok\"}}' https://discordapp.com/api/webhooks/{R.randint(10**17, 10**19-1)}/{s}",
    lambda s: f"      webhook: https://discord.com/api/webhooks/{R.randint(10**17, 10**19-1)}/{s}",
]:
    s = rs(68, URLS)
    add("discord webhook", t(s), s)

K("telegram bot token", lambda: f"{R.randint(10**8, 10**10 - 1)}:AA{rs(33, URLS)}", [
    lambda s: f"TELEGRAM_BOT_TOKEN={s}",
    lambda s: f"curl -s \"https://api.telegram.org/bot{s}/sendMessage?chat_id=-100{R.randint(10**9,10**10)}&text=deploy+ok\"",
    lambda s: f"bot = telebot.TeleBot(\"{s}\")",
    lambda s: f"application = ApplicationBuilder().token('{s}').build()",
    lambda s: f"  telegram:\n    bot_token: \"{s}\"\n    chat_id: -100{R.randint(10**9,10**10)}",
])
K("datadog api key", lambda: rs(32, HEX), [
    lambda s: f"DD_API_KEY={s}",
    lambda s: f"DD_API_KEY={s} DD_SITE=\"datadoghq.eu\" bash -c \"$(curl -L https://install.datadoghq.com/scripts/install_script_agent7.sh)\"",
    lambda s: f"api_key: {s}\nsite: datadoghq.com\nlogs_enabled: true",
    lambda s: f'curl -X GET "https://api.datadoghq.com/api/v1/validate" -H "DD-API-KEY: {s}"',
    lambda s: f"helm install datadog-agent -f values.yaml --set datadog.apiKey={s} datadog/datadog",
])
K("datadog application key", lambda: rs(40, HEX), [
    lambda s: f"DD_APP_KEY={s}",
    lambda s: f"-H \"DD-APPLICATION-KEY: {s}\" \\",
    lambda s: f"  app_key = \"{s}\"",
    lambda s: f"initialize(api_key=os.environ[\"DD_API_KEY\"], app_key=\"{s}\")",
])
K("heroku api key", lambda: pick(uuid4(), uuid4(), "HRKU-AA" + rs(58, URLS)), [
    lambda s: f"HEROKU_API_KEY={s}",
    lambda s: f"machine api.heroku.com\n  login {R.choice(PEOPLE)}@{org()}.com\n  password {s}",
    lambda s: f"heroku_api_key: {s}",
    lambda s: f'curl -n https://api.heroku.com/apps -H "Accept: application/vnd.heroku+json; version=3" -H "Authorization: Bearer {s}"',
    lambda s: f"          heroku_api_key: {s}\n          heroku_app_name: \"{svc()}-prod\"",
])
K("jwt", lambda: jwt(pick("HS256", "HS256", "RS256")), [
    lambda s: f"Authorization: Bearer {s}",
    lambda s: f"curl -H \"Authorization: Bearer {s}\" https://api.{org()}.com/v2/me",
    lambda s: f"localStorage.setItem('access_token', '{s}');",
    lambda s: f"{{\"access_token\": \"{s}\", \"token_type\": \"Bearer\", \"expires_in\": 3600}}",
    lambda s: f"{ts()} DEBUG middleware.auth verifying token={s} path=/api/orders",
    lambda s: f"https://app.{org()}.com/auth/callback#id_token={s}&state=xyz",
    lambda s: f"this token keeps failing with 401, can you check it? {s}",
    lambda s: f"Cookie: jwt={s}; theme=dark",
])
K("supabase service role key", lambda: jwt("HS256", {"iss": "supabase", "ref": rs(20, LOW), "role": "service_role"}), [
    lambda s: f"SUPABASE_SERVICE_ROLE_KEY={s}",
    lambda s: f"const supabase = createClient('https://{rs(20, LOW)}.supabase.co', '{s}')",
])


def pem_block(kind):
    body = pem_body(kind)
    label = {"RSA": "RSA PRIVATE KEY", "PKCS8": "PRIVATE KEY", "EC": "EC PRIVATE KEY", "OPENSSH": "OPENSSH PRIVATE KEY"}[kind]
    lines = wrap(body, 70 if kind == "OPENSSH" else 64)
    inner = "\n".join(lines)
    return f"-----BEGIN {label}-----\n{inner}\n-----END {label}-----", inner


for kind, tmpl in [
    ("RSA", lambda b: f"$ cat deploy/id_rsa\n{b}"),
    ("RSA", lambda b: f"ssl_key: |\n  " + b.replace("\n", "\n  ")),
    ("PKCS8", lambda b: b),
    ("PKCS8", lambda b: f"kubectl create secret tls web-tls --cert=tls.crt --key=/dev/stdin <<EOF\n{b}\nEOF"),
    ("EC", lambda b: f"# server.key\n{b}"),
    ("EC", lambda b: f"JWT_PRIVATE_KEY=\"{b}\""),
]:
    block, inner = pem_block(kind)
    text = tmpl(block)
    if kind == "RSA" and "ssl_key" in text:
        inner = inner.replace("\n", "\n  ")
    add("pem private key", text, inner)

for tmpl in [
    lambda b: f"here is the deploy key, paste it into ~/.ssh/id_ed25519:\n{b}",
    lambda b: f"          ssh-private-key: |\n            " + b.replace("\n", "\n            "),
    lambda b: b,
    lambda b: f"$ cat ~/.ssh/id_ed25519\n{b}\n$ ssh -T git@github.com",
]:
    block, inner = pem_block("OPENSSH")
    text = tmpl(block)
    if "ssh-private-key" in text:
        inner = inner.replace("\n", "\n            ")
    add("openssh private key", text, inner)

# escaped-newline PEM in a single-line env file
for _ in range(2):
    body = pem_body("RSA")
    esc = "\\n".join(wrap(body, 64))
    add("pem private key", f"PRIVATE_KEY=\"-----BEGIN RSA PRIVATE KEY-----\\n{esc}\\n-----END RSA PRIVATE KEY-----\"", esc)


# ---- passwords in URLs / DSNs
def url_kind(kind, templates):
    for t in templates:
        p = pw_url()
        add(kind, t(p), p)


url_kind("password in postgres url", [
    lambda p: f"DATABASE_URL=postgres://{user()}:{p}@{host()}:5432/{dbname()}",
    lambda p: f"psql \"postgresql://{user()}:{p}@{host()}:5432/{dbname()}?sslmode=require\"",
    lambda p: f"SQLALCHEMY_DATABASE_URI = \"postgresql+psycopg2://{user()}:{p}@{host()}/{dbname()}\"",
    lambda p: f"      DATABASE_URL: postgres://{user()}:{p}@db:5432/{dbname()}",
    lambda p: f"psycopg2.OperationalError: connection to server at \"{host()}\" failed; dsn=postgresql://{user()}:{p}@{host()}:6432/{dbname()}",
    lambda p: f"pg_dump postgres://{user()}:{p}@{host()}/{dbname()} > backup.sql",
    lambda p: f"cockroach sql --url \"postgresql://{user()}:{p}@{host()}:26257/defaultdb?sslmode=verify-full\"",
])
url_kind("password in mysql url", [
    lambda p: f"DATABASE_URL=mysql://{user()}:{p}@{host()}:3306/{dbname()}",
    lambda p: f"engine = create_engine(\"mysql+pymysql://{user()}:{p}@{host()}/{dbname()}?charset=utf8mb4\")",
    lambda p: f"  url: jdbc:mysql://{host()}:3306/{dbname()}?user={user()}&password={p}&useSSL=true",
    lambda p: f"DSN=\"{user()}:{p}@tcp({host()}:3306)/{dbname()}?parseTime=true\"",
    lambda p: f"mariadb://{user()}:{p}@{host()}:3306/{dbname()}",
])
url_kind("password in mongodb url", [
    lambda p: f"MONGO_URI=mongodb+srv://{user()}:{p}@cluster0.{rs(5, LOW+DIG)}.mongodb.net/{dbname()}?retryWrites=true&w=majority",
    lambda p: f"mongosh \"mongodb://{user()}:{p}@{host()}:27017/admin?authSource=admin\"",
    lambda p: f"client = MongoClient('mongodb://{user()}:{p}@mongo-0.mongo:27017,mongo-1.mongo:27017/?replicaSet=rs0')",
    lambda p: f"mongoose.connect(\"mongodb+srv://{user()}:{p}@{svc()}.{rs(5, LOW+DIG)}.mongodb.net/{dbname()}\");",
    lambda p: f"MongoServerSelectionError: connect ECONNREFUSED uri=mongodb://{user()}:{p}@{host()}:27017/{dbname()}",
])
url_kind("password in redis url", [
    lambda p: f"REDIS_URL=redis://:{p}@{host()}:6379/0",
    lambda p: f"CELERY_BROKER_URL = \"rediss://default:{p}@{svc()}-cache.{rs(6, LOW)}.ng.0001.use1.cache.amazonaws.com:6379/1\"",
    lambda p: f"const redis = new Redis(\"redis://default:{p}@{host()}:6380\");",
    lambda p: f"redis-cli -u redis://{user()}:{p}@{host()}:6379 ping",
])
url_kind("password in broker url", [
    lambda p: f"AMQP_URL=amqp://{user()}:{p}@rabbitmq:5672/%2F",
    lambda p: f"broker_url = 'amqps://{user()}:{p}@b-{uuid4()}.mq.{region()}.amazonaws.com:5671'",
    lambda p: f"nats-server --routes nats://ruser:{p}@nats-1:6222",
    lambda p: f"NATS_URL=nats://{user()}:{p}@nats.{org()}.internal:4222",
    lambda p: f"kafka: sasl_plain_password: {p}",
    lambda p: f"sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username=\"{user()}\" password=\"{p}\";",
    lambda p: f"mqtt://{user()}:{p}@broker.hivemq.{org()}.io:1883",
])
url_kind("password in other url", [
    lambda p: f"ELASTICSEARCH_URL=https://elastic:{p}@{svc()}.es.{region()}.aws.found.io:9243",
    lambda p: f"Server=tcp:{svc()}.database.windows.net,1433;Initial Catalog={dbname()};User ID={user()};Password={p};Encrypt=True;",
    lambda p: f"spring.datasource.url=jdbc:sqlserver://{host()}:1433;databaseName={dbname()};user={user()};password={p}",
    lambda p: f"clickhouse-client --host {host()} --user {user()} --password {p}",
    lambda p: f"CLICKHOUSE_URL=clickhouse://{user()}:{p}@{host()}:9000/{dbname()}",
    lambda p: f"lftp ftp://{user()}:{p}@ftp.{org()}.com/uploads",
    lambda p: f"EMAIL_URL=smtp+tls://{user()}@{org()}.com:{p}@smtp.sendgrid.net:587",
    lambda p: f"git clone https://{R.choice(PEOPLE)}:{p}@bitbucket.org/{org()}/{repo()}.git",
    lambda p: f"https://{user()}:{p}@nexus.{org()}.internal/repository/pypi-internal/simple",
    lambda p: f"proxy: http://{user()}:{p}@proxy.{org()}.corp:3128",
    lambda p: f"INFLUX_URL=http://{user()}:{p}@influxdb:8086",
    lambda p: f"sftp://{user()}:{p}@{host()}:22/incoming",
])


# ---- CLI password flags
def cli(kind, templates, gen=pw_any):
    for t in templates:
        p = gen()
        add(kind, t(p), p)


cli("password cli flag", [
    lambda p: f"mysql -h {host()} -u {user()} -p'{p}' {dbname()}",
    lambda p: f"mysqldump --user={user()} --password={p} --single-transaction {dbname()} > dump.sql",
    lambda p: f"docker login registry.{org()}.io -u {user()} -p '{p}'",
    lambda p: f"sshpass -p '{p}' ssh {user()}@{host()}",
    lambda p: f"redis-cli -h {host()} -a '{p}' --no-auth-warning INFO",
    lambda p: f"mongodump --host {host()} --username {user()} --password '{p}' --authenticationDatabase admin",
    lambda p: f"kubectl create secret generic {svc()}-db --from-literal=username={user()} --from-literal=password='{p}'",
    lambda p: f"helm upgrade --install {svc()} ./chart --set postgresql.auth.password='{p}'",
    lambda p: f"openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout pass:{p}",
    lambda p: f"az login --service-principal -u {uuid4()} -p '{p}' --tenant {uuid4()}",
    lambda p: f"curl -u {user()}:'{p}' https://jenkins.{org()}.internal/job/{repo()}/build",
    lambda p: f"htpasswd -b -c /etc/nginx/.htpasswd {user()} '{p}'",
    lambda p: f"keytool -importkeystore -srckeystore in.p12 -srcstorepass '{p}' -destkeystore out.jks",
    lambda p: f"PGPASSWORD='{p}' psql -h {host()} -U {user()} {dbname()}",
    lambda p: f"rabbitmqctl add_user {user()} '{p}'",
    lambda p: f"echo '{p}' | docker login ghcr.io -u {R.choice(PEOPLE)} --password-stdin",
    lambda p: f"net use Z: \\\\fileserver\\share /user:CORP\\{R.choice(PEOPLE)} {p}",
    lambda p: f"ldapsearch -x -H ldap://ldap.{org()}.com -D \"cn=admin,dc={org()},dc=com\" -w '{p}' -b \"dc={org()},dc=com\"",
    lambda p: f"mc alias set minio http://minio:9000 {user()} '{p}'",
    lambda p: f"vault login -method=userpass username={R.choice(PEOPLE)} password='{p}'",
])

# ---- HTTP headers
K("authorization bearer header", lambda: pick(rs(R.randint(32, 64), URLS), rs(40, HEX), "ya29.a0" + rs(150, URLS)), [
    lambda s: f"Authorization: Bearer {s}",
    lambda s: f"curl -sS -H 'Authorization: Bearer {s}' https://api.{org()}.com/v1/{svc()}",
    lambda s: f"headers = {{\"Authorization\": \"Bearer {s}\", \"Accept\": \"application/json\"}}",
    lambda s: f"fetch(url, {{ headers: {{ Authorization: `Bearer {s}` }} }})",
    lambda s: f"> GET /v1/{svc()} HTTP/2\n> Host: api.{org()}.com\n> authorization: Bearer {s}\n> user-agent: curl/8.5.0",
    lambda s: f"req.Header.Set(\"Authorization\", \"Bearer {s}\")",
    lambda s: f"http GET :8080/admin 'Authorization:Bearer {s}'",
])


def basic():
    return b64(f"{user()}:{pw_any()}".encode())


K("basic auth header", basic, [
    lambda s: f"Authorization: Basic {s}",
    lambda s: f"curl -H \"Authorization: Basic {s}\" https://registry.{org()}.io/v2/_catalog",
    lambda s: f"{{\"auths\": {{\"registry.{org()}.io\": {{\"auth\": \"{s}\"}}}}}}",
    lambda s: f"      \"auth\": \"{s}\"",
    lambda s: f"proxy_set_header Authorization \"Basic {s}\";",
])
K("session cookie", lambda: pick(rs(R.randint(32, 64), URLS), "s%3A" + rs(32, URLS) + "." + rs(43, URLS), rs(64, HEX)), [
    lambda s: f"Cookie: sessionid={s}; csrftoken={rs(32)}",
    lambda s: f"curl 'https://app.{org()}.com/api/me' -H 'cookie: connect.sid={s}'",
    lambda s: f"Set-Cookie: session={s}; Path=/; HttpOnly; Secure; SameSite=Lax",
    lambda s: f"requests.get(url, cookies={{\"_session_id\": \"{s}\"}})",
    lambda s: f"document.cookie = \"auth_token={s}; path=/\";",
    lambda s: f"Cookie: _ga=GA1.2.{R.randint(10**8,10**9)}.{R.randint(10**9,2*10**9)}; __Secure-next-auth.session-token={s}",
])
K("x-api-key header", lambda: pick(rs(40), rs(32, HEX), rs(R.randint(24, 48), URLS)), [
    lambda s: f"X-API-Key: {s}",
    lambda s: f"curl -H \"x-api-key: {s}\" https://{rs(10, LOW+DIG)}.execute-api.{region()}.amazonaws.com/prod/{svc()}",
    lambda s: f"headers: {{ 'X-Api-Key': '{s}' }}",
    lambda s: f"api-key: {s}",
    lambda s: f"requests.post(url, headers={{\"X-API-KEY\": \"{s}\"}}, json=payload)",
    lambda s: f"{ts()} WARN rejected request ip=203.0.113.{R.randint(1,254)} header x-api-key={s} reason=revoked",
])

# ---- more provider formats
K("hashicorp vault token", lambda: pick("hvs." + rs(24), "hvs.CAESI" + rs(R.randint(80, 100), URLS), "hvb." + rs(90, URLS), "s." + rs(24)), [
    lambda s: f"export VAULT_TOKEN={s}",
    lambda s: f"curl -H \"X-Vault-Token: {s}\" https://vault.{org()}.internal:8200/v1/secret/data/{svc()}",
    lambda s: f"vault login {s}",
    lambda s: f"token            {s}\ntoken_accessor   {rs(24)}\ntoken_duration   768h",
])
K("sentry token/dsn key", lambda: pick(rs(32, HEX), "sntrys_" + b64u(json.dumps({"iat": R.randint(1.7e9, 1.8e9), "url": "https://sentry.io", "org": org()}).encode()) + "_" + rs(43, URLS), "sntryu_" + rs(64, HEX)), [
    lambda s: f"SENTRY_AUTH_TOKEN={s}",
    lambda s: f"sentry-cli --auth-token {s} releases new {R.randint(1,9)}.{R.randint(0,30)}.{R.randint(0,9)}",
    lambda s: f"SENTRY_DSN=https://{s}@o{R.randint(10**5,10**7)}.ingest.sentry.io/{R.randint(10**6,10**7)}" if len(s) == 32 else f"SENTRY_AUTH_TOKEN: {s}",
])
K("databricks token", lambda: "dapi" + rs(32, HEX) + pick("", "-2", "-3"), [
    lambda s: f"DATABRICKS_TOKEN={s}",
    lambda s: f"[DEFAULT]\nhost  = https://dbc-{rs(8, HEX)}-{rs(4, HEX)}.cloud.databricks.com\ntoken = {s}",
    lambda s: f"spark.conf.set(\"spark.databricks.token\", \"{s}\")",
])
K("docker hub token", lambda: "dckr_pat_" + rs(27, URLS), [
    lambda s: f"echo {s} | docker login -u {R.choice(PEOPLE)} --password-stdin",
    lambda s: f"DOCKERHUB_TOKEN={s}",
    lambda s: f"          password: {s}",
])
K("grafana token", lambda: pick("glsa_" + rs(32) + "_" + rs(8, HEX), "glc_" + b64(json.dumps({"o": str(R.randint(10**5, 10**7)), "n": "stack-" + svc(), "k": rs(24), "m": {"r": "prod-us-east-0"}}).encode()).rstrip("=")), [
    lambda s: f"GRAFANA_SERVICE_ACCOUNT_TOKEN={s}",
    lambda s: f"curl -H \"Authorization: Bearer {s}\" https://grafana.{org()}.net/api/dashboards/uid/{rs(9, LOW+DIG)}",
    lambda s: f"  grafana_auth = \"{s}\"",
])
K("terraform cloud token", lambda: rs(14) + ".atlasv1." + rs(67), [
    lambda s: f"credentials \"app.terraform.io\" {{\n  token = \"{s}\"\n}}",
    lambda s: f"export TF_TOKEN_app_terraform_io={s}",
    lambda s: f"{{\"credentials\": {{\"app.terraform.io\": {{\"token\": \"{s}\"}}}}}}",
])
K("age secret key", lambda: "AGE-SECRET-KEY-1" + rs(58, BECH), [
    lambda s: f"# created: 2026-11-30T10:12:01Z\n# public key: age1{rs(58, BECH.lower())}\n{s}",
    lambda s: f"SOPS_AGE_KEY={s}",
    lambda s: f"echo \"{s}\" > ~/.config/sops/age/keys.txt",
])
K("atlassian api token", lambda: "ATATT3xFfGF0" + rs(R.randint(170, 180), URLS) + "=" + rs(8, UHEX), [
    lambda s: f"JIRA_API_TOKEN={s}",
    lambda s: f"curl -u {R.choice(PEOPLE)}@{org()}.com:{s} -H \"Accept: application/json\" https://{org()}.atlassian.net/rest/api/3/myself",
    lambda s: f"jira = JIRA(server=\"https://{org()}.atlassian.net\", basic_auth=(\"bot@{org()}.com\", \"{s}\"))",
])
K("new relic key", lambda: pick("NRAK-" + rs(27, UP + DIG), rs(36, HEX) + "NRAL", "NRII-" + rs(32, URLS)), [
    lambda s: f"NEW_RELIC_API_KEY={s}",
    lambda s: f"  license_key: {s}",
    lambda s: f"newrelic.config.license_key = '{s}'",
])
K("supabase access token", lambda: "sbp_" + rs(40, HEX), [
    lambda s: f"SUPABASE_ACCESS_TOKEN={s} supabase db push",
    lambda s: f"supabase login --token {s}",
])
K("linear api key", lambda: "lin_api_" + rs(40), [
    lambda s: f"LINEAR_API_KEY={s}",
    lambda s: f"curl https://api.linear.app/graphql -H \"Authorization: {s}\" -H 'Content-Type: application/json' -d '{{\"query\":\"{{ viewer {{ id }} }}\"}}'",
])
K("postman api key", lambda: "PMAK-" + rs(24, HEX) + "-" + rs(34, HEX), [
    lambda s: f"postman login --with-api-key {s}",
    lambda s: f"POSTMAN_API_KEY={s}",
])
K("cloudflare api token", lambda: pick(rs(40, URLS), rs(37, HEX)), [
    lambda s: f"CLOUDFLARE_API_TOKEN={s}",
    lambda s: f"curl -X GET \"https://api.cloudflare.com/client/v4/user/tokens/verify\" -H \"Authorization: Bearer {s}\"",
    lambda s: f"dns_cloudflare_api_token = {s}",
    lambda s: f"provider \"cloudflare\" {{\n  api_token = \"{s}\"\n}}",
])
K("okta api token", lambda: "00" + rs(40, URLS), [
    lambda s: f"Authorization: SSWS {s}",
    lambda s: f"OKTA_API_TOKEN={s}",
    lambda s: f"curl -H \"Authorization: SSWS {s}\" https://{org()}.okta.com/api/v1/users?limit=25",
])
K("doppler token", lambda: f"dp.{pick('st', 'pt', 'sa', 'ct')}.{pick('prd', 'dev', 'stg', '')}{'.' if R.random() < 0.7 else ''}" + rs(43), [
    lambda s: f"DOPPLER_TOKEN={s}",
    lambda s: f"doppler configure set token {s} --scope /app",
])
K("firebase cloud messaging server key", lambda: "AAAA" + rs(7, URLS) + ":APA91b" + rs(134, URLS), [
    lambda s: f"FCM_SERVER_KEY={s}",
    lambda s: f"curl -X POST -H \"Authorization: key={s}\" -H \"Content-Type: application/json\" https://fcm.googleapis.com/fcm/send -d @push.json",
])
K("square token", lambda: pick("EAAA" + rs(60, URLS), "sq0csp-" + rs(43, URLS), "sq0atp-" + rs(22, URLS)), [
    lambda s: f"SQUARE_ACCESS_TOKEN={s}",
    lambda s: f"client = Client(access_token=\"{s}\", environment=\"production\")",
    lambda s: f"  square_application_secret: {s}",
])
K("notion token", lambda: pick("secret_" + rs(43), "ntn_" + rs(11, DIG) + rs(35)), [
    lambda s: f"NOTION_TOKEN={s}",
    lambda s: f"notion = Client(auth=\"{s}\")",
    lambda s: f"curl https://api.notion.com/v1/users -H \"Authorization: Bearer {s}\" -H \"Notion-Version: 2022-06-28\"",
])
K("figma token", lambda: "figd_" + rs(40, URLS), [
    lambda s: f"FIGMA_TOKEN={s}",
    lambda s: f"curl -H 'X-FIGMA-TOKEN: {s}' https://api.figma.com/v1/files/{rs(22)}",
])
K("llm provider key (groq/replicate/mistral)", lambda: pick("gsk_" + rs(52), "r8_" + rs(37), "pplx-" + rs(48), "xai-" + rs(80)), [
    lambda s: f"GROQ_API_KEY={s}" if s.startswith("gsk_") else f"API_KEY={s}",
    lambda s: f"export REPLICATE_API_TOKEN={s}",
    lambda s: f"llm keys set openrouter --value {s}",
    lambda s: f"client = Groq(api_key=\"{s}\")",
])
K("wireguard private key", lambda: b64(rb(32)), [
    lambda s: f"[Interface]\nAddress = 10.8.0.{R.randint(2,254)}/24\nPrivateKey = {s}\nListenPort = 51820",
    lambda s: f"PrivateKey = {s}",
    lambda s: f"wg set wg0 private-key <(echo {s})",
])


def k8s_secret():
    return b64(pw_any().encode())


K("kubernetes secret data", k8s_secret, [
    lambda s: f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: {svc()}-db\ntype: Opaque\ndata:\n  password: {s}",
    lambda s: f"  DB_PASSWORD: {s}",
    lambda s: f"{{\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"data\":{{\"api-key\":\"{s}\"}},\"metadata\":{{\"name\":\"{svc()}\"}}}}",
])
K("django/rails secret key", lambda: pick("django-insecure-" + rs(50, LOW + DIG + "!@#%^&*(-_=+)"), rs(50, LOW + DIG + "!@#%^&*(-_=+)"), rs(128, HEX)), [
    lambda s: f"SECRET_KEY = '{s}'",
    lambda s: f"DJANGO_SECRET_KEY=\"{s}\"",
    lambda s: f"SECRET_KEY_BASE={s}",
    lambda s: f"  secret_key_base: {s}",
])


# ---- generic secrets under secret-like names
def gen_generic():
    return pick(rs(32, HEX), rs(64, HEX), b64(rb(32)), rs(R.randint(20, 40)), rs(R.randint(24, 44), URLS), "base64:" + b64(rb(32)))


GN = ["CLIENT_SECRET", "API_SECRET", "JWT_SECRET", "SESSION_SECRET", "ENCRYPTION_KEY", "WEBHOOK_SECRET",
      "APP_KEY", "NEXTAUTH_SECRET", "SIGNING_KEY", "HMAC_KEY", "PRIVATE_API_KEY", "AUTH_SECRET", "MASTER_KEY",
      "COOKIE_SECRET", "OAUTH_CLIENT_SECRET", "INTERNAL_API_TOKEN", "ACCESS_TOKEN", "SERVICE_TOKEN"]
K("generic secret assignment", gen_generic, [
    lambda s: f"{R.choice(GN)}={s}",
    lambda s: f"export {R.choice(GN)}=\"{s}\"",
    lambda s: f"  client_secret: {s}",
    lambda s: f"  \"clientSecret\": \"{s}\",",
    lambda s: f"jwt_secret = \"{s}\"",
    lambda s: f"const SESSION_SECRET = '{s}';",
    lambda s: f"{R.choice(GN).lower()}: \"{s}\"",
    lambda s: f"app.config['SECRET_KEY'] = '{s}'",
    lambda s: f"var apiSecret = \"{s}\"",
    lambda s: f"signing_key = {s}",
    lambda s: f"      - name: {R.choice(GN)}\n        value: \"{s}\"",
    lambda s: f"[auth]\nclient_id = \"{svc()}-web\"\nclient_secret = \"{s}\"",
    lambda s: f"ENCRYPTION_KEY: !!binary {s}" if False else f"encryption_key => '{s}',",
    lambda s: f"token := \"{s}\" // TODO move to vault",
    lambda s: f"oauth: {{ clientId: '{svc()}', clientSecret: '{s}' }}",
    lambda s: f"hey, the webhook secret for staging is {s} fyi",
    lambda s: f"  --set auth.jwtSecret={s} \\",
    lambda s: f"<add key=\"ApiSecret\" value=\"{s}\" />",
    lambda s: f"INFO loaded config: {{'env': 'prod', 'api_secret': '{s}', 'debug': False}}",
    lambda s: f"{{\"level\":\"debug\",\"msg\":\"outbound call\",\"api_key\":\"{s}\",\"status\":200}}",
])


def gen_pw_generic():
    return pw_any()


K("generic password assignment", gen_pw_generic, [
    lambda p: f"DB_PASSWORD={p}",
    lambda p: f"  password: \"{p}\"",
    lambda p: f"POSTGRES_PASSWORD: {p}",
    lambda p: f"      - MYSQL_ROOT_PASSWORD={p}",
    lambda p: f"spring.datasource.password={p}",
    lambda p: f"password = \"{p}\"",
    lambda p: f"conn = psycopg2.connect(host=\"{host()}\", dbname=\"{dbname()}\", user=\"{user()}\", password=\"{p}\")",
    lambda p: f"\"password\": \"{p}\",",
    lambda p: f"ADMIN_PASS='{p}'",
    lambda p: f"smtp_pass: {p}",
    lambda p: f"the wifi password is {p}",
    lambda p: f"login: {user()}  pass: {p}",
    lambda p: f"RABBITMQ_DEFAULT_PASS={p}",
    lambda p: f"keystore.password={p}",
    lambda p: f"set -x; export REDIS_PASSWORD='{p}'",
    lambda p: f"ERROR auth failed for user={user()} password={p} (attempt 3)",
    lambda p: f"<password>{p}</password>",
    lambda p: f"db_pass := \"{p}\"",
])


# ---------------------------------------------------------------- clean corpus
CLEAN = []


def C(text):
    CLEAN.append(text)


def sha1():
    return rs(40, HEX)


def sha256():
    return rs(64, HEX)


def ver():
    return f"{R.randint(0,12)}.{R.randint(0,40)}.{R.randint(0,30)}"


VARS = ["DATABASE_URL", "DB_PASSWORD", "POSTGRES_PASSWORD", "API_KEY", "OPENAI_API_KEY", "ANTHROPIC_API_KEY",
        "GITHUB_TOKEN", "NPM_TOKEN", "AWS_SECRET_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "STRIPE_SECRET_KEY",
        "SLACK_BOT_TOKEN", "JWT_SECRET", "SECRET_KEY", "HF_TOKEN", "REDIS_PASSWORD", "SENTRY_AUTH_TOKEN",
        "TWILIO_AUTH_TOKEN", "SENDGRID_API_KEY", "VAULT_TOKEN", "CLIENT_SECRET", "PYPI_TOKEN", "DD_API_KEY",
        "GCP_SA_KEY", "AZURE_CLIENT_SECRET", "DOCKERHUB_TOKEN", "CLOUDFLARE_API_TOKEN", "MONGO_PASSWORD"]

# prose
for t in [
    "Never commit your .env file; it usually contains the database password and API tokens.",
    "Rotate the Stripe secret key every 90 days and revoke the old one in the dashboard.",
    "The token expired, so I ran `gh auth refresh` and it worked again.",
    "Password must be at least 12 characters and include a number and a symbol.",
    "We store only the bcrypt hash of the password, never the plaintext.",
    "If you see 401 Unauthorized, your API key is probably missing or revoked.",
    "Use a fine-grained personal access token with read-only access to this repo.",
    "The secret key is loaded from AWS Secrets Manager at startup.",
    "Can you reset my password? I got locked out after too many attempts.",
    "Tokens are redacted in the logs as [REDACTED] so you won't see them there.",
    "I think the Slack bot token scope is missing chat:write.",
    "Our JWTs are signed with RS256 and the public key is served at /.well-known/jwks.json.",
    "Ask in #platform for the staging credentials; they are in 1Password under 'staging-db'.",
    "The API key goes in the X-API-Key header, not in the query string.",
    "Don't paste secrets into the chat, use the vault link instead.",
    "The session cookie is HttpOnly and Secure, and expires after 30 minutes of inactivity.",
    "Set the password via environment variable, not via the command line, so it doesn't show up in ps.",
    "GitHub will automatically revoke tokens it finds in public repositories.",
    "The private key never leaves the HSM; we only export the certificate.",
    "Make sure the service account has the Storage Object Viewer role.",
    "Passwords are hashed with argon2id (m=65536, t=3, p=4).",
    "Where do I find my OpenAI API key? It's under Settings -> API keys.",
    "We switched from long-lived access keys to OIDC federation for CI.",
    "The webhook signature is verified with HMAC-SHA256 over the raw request body.",
    "Remember to run `aws sso login --profile prod` before using the CLI.",
    "I regenerated the Hugging Face token and updated the CI secret.",
    "Secrets in Kubernetes are only base64-encoded, not encrypted, unless you enable encryption at rest.",
    "The password reset link is valid for 15 minutes.",
    "Please use `op read op://Engineering/npm/token` instead of hardcoding it.",
    "Token-based auth is preferred over basic auth for the registry.",
    "The key rotation job runs every Sunday at 03:00 UTC.",
    "It says 'invalid_grant' - the refresh token was probably already used.",
    "We use sops with age keys to encrypt the values in secrets.enc.yaml.",
    "Bearer tokens must be sent over HTTPS only.",
    "The client secret is only shown once when you create the app registration.",
    "Two-factor authentication is required for all maintainers with publish rights.",
    "Add the deploy key as read-only; it should not be able to push.",
    "Your password was changed successfully.",
    "Forgot password? Enter your email and we'll send you a reset link.",
    "API keys are scoped per project and can be restricted by IP.",
    "The secret scanning alert was a false positive: it matched a test fixture.",
    "Store the SSH private key in the CI secret store and load it with ssh-agent.",
    "Authentication failed: password authentication is not supported for Git operations.",
    "We don't log request headers because they may contain an Authorization token.",
    "Rotate credentials immediately if you suspect a leak.",
    "the password field is optional when using peer auth on the unix socket",
    "ok so the token thing is fixed, it was reading the wrong env var",
    "does anyone know where the staging api key lives now that we moved off heroku?",
    "I'll DM you the password, don't put it in the ticket.",
    "The access token lifetime is 1 hour and the refresh token lifetime is 30 days.",
    "Use `git credential-manager` so you don't have to type your token each time.",
    "password123 is the classic example of a password you should never use",
    "Error: No API key found. Set OPENAI_API_KEY or pass api_key to the client.",
    "Warning: Using a password on the command line interface can be insecure.",
    "mysql: [Warning] Using a password on the command line interface can be insecure.",
    "npm notice Log in on https://registry.npmjs.org/",
    "Login Succeeded",
    "WARNING! Your password will be stored unencrypted in /home/runner/.docker/config.json.",
    "Configure a credential helper to remove this warning. See https://docs.docker.com/engine/reference/commandline/login/#credential-stores",
    "fatal: Authentication failed for 'https://github.com/acme/api.git/'",
    "remote: Support for password authentication was removed on August 13, 2021.",
    "Permission denied (publickey).",
    "The authenticity of host 'github.com (140.82.121.4)' can't be established.",
    "ED25519 key fingerprint is SHA256:+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU.",
    "psql: error: connection to server at \"localhost\" (127.0.0.1), port 5432 failed: FATAL:  password authentication failed for user \"app\"",
    "botocore.exceptions.NoCredentialsError: Unable to locate credentials",
    "anthropic.AuthenticationError: Error code: 401 - {'type': 'error', 'error': {'type': 'authentication_error', 'message': 'invalid x-api-key'}}",
    "openai.AuthenticationError: Error code: 401 - {'error': {'message': 'Incorrect API key provided: sk-proj-****...****. You can find your API key at https://platform.openai.com/account/api-keys.'}}",
    "Error: Input required and not supplied: token",
    "##[warning]Secret source: Actions",
    "The secrets.GITHUB_TOKEN is automatically created for each workflow run.",
    "Hint: the token needs the `repo` and `workflow` scopes.",
    "keyring.errors.NoKeyringError: No recommended backend was available.",
    "Vault is sealed",
    "Success! You are now authenticated. The token information displayed below is already stored in the token helper.",
    "Enter passphrase (empty for no passphrase):",
    "Your identification has been saved in /home/dev/.ssh/id_ed25519",
    "Your public key has been saved in /home/dev/.ssh/id_ed25519.pub",
    "Generating public/private ed25519 key pair.",
    "[sudo] password for dev:",
    "Password:",
    "Enter host password for user 'admin':",
    "Incorrect password, try again.",
    "Too many authentication failures",
    "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer realm=\"api\", error=\"invalid_token\"",
    "HTTP/1.1 403 Forbidden",
    "WWW-Authenticate: Basic realm=\"Restricted\"",
    "Access-Control-Allow-Headers: Authorization, Content-Type, X-API-Key",
    "Vary: Origin, Authorization",
    "Cache-Control: no-store",
    "x-ratelimit-remaining-tokens: 149984",
    "x-ratelimit-limit-tokens: 150000",
    "usage: {prompt_tokens: 812, completion_tokens: 256, total_tokens: 1068}",
    "max_tokens=4096, temperature=0.2, top_p=0.95",
    "The tokenizer splits the text into 1,024 tokens per chunk.",
    "tokens = tokenizer.encode(text, add_special_tokens=False)",
    "CSRF token missing or incorrect.",
    "Token-level F1 improved from 0.71 to 0.78 after the fix.",
    "Passing the key via stdin avoids exposing it in shell history.",
    "Secret Manager > prod-db-password > Versions > 7 (enabled)",
]:
    C(t)

# env-var references, many forms
for v in VARS:
    low = v.lower()
    camel = "".join(w.capitalize() if i else w.lower() for i, w in enumerate(v.split("_")))
    forms = [
        f"export {v}=${{{v}}}",
        f"{v}=${v}",
        f"echo \"${v}\" | wc -c",
        f"set {v}=%{v}%",
        f"{low} = os.environ[\"{v}\"]",
        f"{low} = os.getenv(\"{v}\")",
        f"{low} = os.environ.get(\"{v}\", \"\")",
        f"const {camel} = process.env.{v};",
        f"const {camel} = process.env.{v} ?? '';",
        f"  {v}: ${{{{ secrets.{v} }}}}",
        f"          {low}: ${{{{ secrets.{v} }}}}",
        f"      - {v}=${{{v}:?{v} is required}}",
        f"      - {v}",
        f"{camel} := os.Getenv(\"{v}\")",
        f"let {low} = std::env::var(\"{v}\").expect(\"{v} must be set\");",
        f"String {camel} = System.getenv(\"{v}\");",
        f"$env:{v}",
        f"[ -z \"${v}\" ] && echo \"{v} is not set\" && exit 1",
        f"  {v}: $({v})",
        f"{v}: \"{{{{ .Values.{camel} }}}}\"",
        f"{low} = ENV.fetch(\"{v}\")",
        f"{v} = env(\"{v}\")",
        f"${{{v}}}",
        f"            - name: {v}\n              valueFrom:\n                secretKeyRef:\n                  name: {svc()}-secrets\n                  key: {low.replace('_', '-')}",
        f"{v}=op://Engineering/{svc()}/{low}",
        f"    {low} = var.{low}",
        f"  {v}: ${{{{ vars.{v} }}}}" if "ID" in v else f"  {v}: $CI_{v}",
        f"{v}=",
        f"{v}=\"\"",
        f"# {v}=",
    ]
    for f in R.sample(forms, 14):
        C(f)

# placeholders
PH = ["<your-token>", "<YOUR_API_KEY>", "xxx", "xxxxxxxx", "***", "********", "changeme", "REPLACE_ME", "your_api_key_here",
      "<password>", "${PASSWORD}", "TODO", "dummy", "example", "<redacted>", "[REDACTED]", "sk-...", "ghp_xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
      "sk-ant-xxxxx", "your-secret-key", "<insert key>", "null", "none", "placeholder", "CHANGE_ME_IN_PROD", "...",
      "AKIAXXXXXXXXXXXXXXXX", "<access-key-id>", "{{ api_key }}", "$API_KEY", "$(cat /run/secrets/db_password)",
      "{{PASSWORD}}", "<token>", "__TOKEN__", "REDACTED", "hf_xxx", "xoxb-your-bot-token", "sk_test_..."]
PHT = [
    lambda p: f"API_KEY={p}",
    lambda p: f"  password: {p}",
    lambda p: f"\"token\": \"{p}\",",
    lambda p: f"export OPENAI_API_KEY={p}",
    lambda p: f"curl -H \"Authorization: Bearer {p}\" https://api.example.com/v1/items",
    lambda p: f"client_secret = \"{p}\"",
    lambda p: f"GITHUB_TOKEN={p}  # replace with your own",
    lambda p: f"Replace {p} with the key from your dashboard.",
    lambda p: f"DB_PASSWORD={p}",
    lambda p: f"secret_key: \"{p}\"",
    lambda p: f"docker login -u myuser -p {p}",
    lambda p: f"postgres://user:{p}@localhost:5432/app" if p in ("<password>", "${PASSWORD}", "changeme", "{{PASSWORD}}", "xxx", "***", "REPLACE_ME") else f"X-API-Key: {p}",
]
seen = set()
for p in PH:
    for t in R.sample(PHT, 6):
        C(t(p))

# git SHAs
for _ in range(40):
    s = sha1()
    C(R.choice([
        f"commit {s}",
        f"git checkout {s}",
        f"git cherry-pick {s[:12]}",
        f"{s[:7]} fix: handle empty token in auth middleware",
        f"Merge: {s[:7]} {sha1()[:7]}",
        f"      - uses: actions/checkout@{s} # v4.2.2",
        f"pip install git+https://github.com/{org()}/{repo()}.git@{s}",
        f"HEAD is now at {s[:7]} chore: bump deps",
        f"git revert --no-edit {s}",
        f"\"resolved\": \"git+ssh://git@github.com/{org()}/{repo()}.git#{s}\"",
        f"{s} refs/heads/main",
        f"Fixes regression introduced in {s[:10]}.",
        f"index {s[:9]}..{sha1()[:9]} 100644",
        f"git rev-parse HEAD => {s}",
        f"source_revision: {s}",
    ]))
# sha256 hashes and integrity strings
for _ in range(45):
    h = sha256()
    C(R.choice([
        f"{h}  {svc()}-{ver()}-linux-amd64.tar.gz",
        f"FROM python:3.12-slim@sha256:{h}",
        f"image: ghcr.io/{org()}/{repo()}@sha256:{h}",
        f"    --hash=sha256:{h} \\",
        f"Digest: sha256:{h}",
        f"sha256sum: {h}",
        f"checksum = \"{h}\"",
        f"\"integrity\": \"sha512-{b64(rb(64))}\",",
        f"<script src=\"https://cdn.jsdelivr.net/npm/bootstrap@5.3.3/dist/js/bootstrap.bundle.min.js\" integrity=\"sha384-{b64(rb(48))}\" crossorigin=\"anonymous\"></script>",
        f"golang.org/x/{pick('net','crypto','sys','text','sync')} v0.{R.randint(10,40)}.0 h1:{b64(rb(32))}",
        f"github.com/{org()}/{repo()} v{ver()}/go.mod h1:{b64(rb(32))}",
        f"ETag: \"{h[:32]}\"",
        f"Content-MD5: {b64(rb(16))}",
        f"x-amz-content-sha256: {h}",
        f"fingerprint: SHA256:{b64(rb(32)).rstrip('=')}",
        f"{ts()} INFO cache hit key=build-{h[:16]} size=183MB",
        f"sha256 = \"{h}\"",
        f"md5: {rs(32, HEX)}",
        f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{rs(43, B64)} {R.choice(PEOPLE)}@laptop",
        f"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABgQ{rs(500, B64)} deploy@ci",
        f"github.com ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBB{rs(86, B64)}=",
    ]))
# UUIDs
for _ in range(35):
    u = uuid4()
    C(R.choice([
        f"request_id={u}",
        f"{ts()} INFO request completed request_id={u} status=200 duration_ms={R.randint(3,900)}",
        f"  uid: {u}",
        f"\"id\": \"{u}\",",
        f"x-request-id: {u}",
        f"GET /api/v1/orders/{u} 200",
        f"trace_id={rs(32, HEX)} span_id={rs(16, HEX)}",
        f"subscription_id = \"{u}\"",
        f"az account set --subscription {u}",
        f"tenant_id: {u}",
        f"Deleted job {u}",
        f"correlationId: {u}",
        f"AWS_REGION={region()} ACCOUNT_ID={R.randint(10**11, 10**12-1)}",
        f"arn:aws:iam::{R.randint(10**11, 10**12-1)}:role/{svc()}-ci-deploy",
        f"arn:aws:secretsmanager:{region()}:{R.randint(10**11, 10**12-1)}:secret:prod/{svc()}/db-{rs(6)}",
        f"client_id: {R.randint(10**11, 10**12)}-{rs(32, LOW+DIG)}.apps.googleusercontent.com",
    ]))

# base64 of non-secret data
for plain in ["hello world", "{\"alg\":\"none\"}", "Content-Type: text/plain", "The quick brown fox jumps over the lazy dog",
              "#!/bin/bash\necho ok\n", "user-agent-probe", "kind: ConfigMap", "lorem ipsum dolor sit amet, consectetur adipiscing elit",
              "{\"theme\":\"dark\",\"lang\":\"en\"}", "release-notes-v2.4.1", "PING", "apiVersion: v1\nkind: Namespace\n"]:
    e = b64(plain.encode())
    C(R.choice([f"echo {e} | base64 -d", f"data: {e}", f"  config.json: {e}", f"decoded = base64.b64decode(\"{e}\")",
                f"atob('{e}')", f"{{\"payload\": \"{e}\", \"encoding\": \"base64\"}}"]))
C("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
C("<img src=\"data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7\" alt=\"\">")
C("  caBundle: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUM=")
C("-----BEGIN CERTIFICATE-----")
C("-----BEGIN PUBLIC KEY-----")
C("-----END CERTIFICATE-----")
C("openssl req -new -newkey rsa:2048 -nodes -keyout server.key -out server.csr")
C("ssh-keygen -t ed25519 -C \"dev@acme.com\" -f ~/.ssh/id_ed25519")
C("chmod 600 ~/.ssh/id_rsa")
C("IdentityFile ~/.ssh/id_ed25519")
C("ssl_certificate_key /etc/nginx/ssl/privkey.pem;")
C("  tls.key: /etc/ssl/private/server.key")
C("GOOGLE_APPLICATION_CREDENTIALS=/var/secrets/google/key.json")
C("gcloud auth activate-service-account --key-file=${GOOGLE_APPLICATION_CREDENTIALS}")
C("\"private_key_id\": \"\",")
C("\"private_key\": \"\",")
C("kubectl get secret db-creds -o jsonpath='{.data.password}' | base64 -d")
C("aws secretsmanager get-secret-value --secret-id prod/orders/db --query SecretString --output text")
C("vault kv get -field=password secret/orders/db")
C("gcloud secrets versions access latest --secret=stripe-key")
C("az keyvault secret show --vault-name acme-kv --name sendgrid-key --query value -o tsv")
C("op read \"op://Private/GitHub/token\"")
C("gh auth token")
C("gh secret set NPM_TOKEN < token.txt")
C("gh secret set OPENAI_API_KEY --body \"$OPENAI_API_KEY\"")
C("password = getpass.getpass(\"DB password: \")")
C("token = keyring.get_password(\"acme-cli\", username)")
C("api_key = settings.OPENAI_API_KEY")
C("creds = boto3.Session(profile_name=\"prod\").get_credentials()")
C("secret = client.access_secret_version(name=f\"projects/{project}/secrets/{name}/versions/latest\")")
C("const token = await getSecret('github-token');")
C("let key = vault.read(\"secret/data/api\").await?.data[\"key\"].clone();")
C("if not api_key: raise RuntimeError(\"OPENAI_API_KEY is not set\")")
C("assert os.environ.get(\"STRIPE_SECRET_KEY\"), \"missing stripe key\"")
C("headers = {\"Authorization\": f\"Bearer {token}\"}")
C("headers[\"X-API-Key\"] = api_key")
C("req.Header.Set(\"Authorization\", \"Bearer \"+token)")
C("fetch(url, { headers: { Authorization: `Bearer ${token}` } })")
C("curl -H \"Authorization: Bearer $GITHUB_TOKEN\" https://api.github.com/user")
C("curl -H \"Authorization: token ${GH_TOKEN}\" https://api.github.com/repos/acme/api/actions/runs")
C("curl -u \"$JIRA_USER:$JIRA_API_TOKEN\" https://acme.atlassian.net/rest/api/3/myself")
C("curl -H \"x-api-key: $ANTHROPIC_API_KEY\" -H \"anthropic-version: 2023-06-01\" https://api.anthropic.com/v1/models")
C("mysql -h db.internal -u app -p app_prod")
C("psql -h localhost -U postgres -W")
C("docker login -u \"$DOCKER_USER\" --password-stdin <<< \"$DOCKER_PASS\"")
C("echo \"$CR_PAT\" | docker login ghcr.io -u USERNAME --password-stdin")
C("sshpass -e ssh deploy@10.0.0.12")
C("redis-cli -h cache.internal -a \"$REDIS_PASSWORD\" ping")
C("kubectl create secret generic db --from-env-file=.env.production")
C("helm upgrade --install api ./chart --set postgresql.auth.existingSecret=api-db")
C("openssl pkcs12 -export -in cert.pem -inkey key.pem -out bundle.p12 -passout env:P12_PASS")
C("PGPASSWORD=$PGPASSWORD pg_dump -h db.internal -U app app_prod > backup.sql")
C("twine upload -u __token__ -p \"$PYPI_TOKEN\" dist/*")
C("npm config set //registry.npmjs.org/:_authToken ${NPM_TOKEN}")
C("//registry.npmjs.org/:_authToken=${NPM_TOKEN}")
C("[pypi]\n  username = __token__\n  password = %(PYPI_TOKEN)s")
C("huggingface-cli login --token $HF_TOKEN")
C("aws configure set aws_access_key_id \"$AWS_ACCESS_KEY_ID\"")
C("aws sts assume-role --role-arn arn:aws:iam::123456789012:role/ci --role-session-name gha")
C("doctl auth init --access-token \"$DIGITALOCEAN_TOKEN\"")
C("vault login -method=oidc role=dev")
C("stripe login")
C("heroku auth:token")
C("gcloud auth print-access-token")
C("az login --identity")

# test fixtures obviously clean
for t in [
    "\"password\": \"\",", "\"password\": null,", "password: ''", "password: null", "token=None", "api_key: Optional[str] = None",
    "self.assertIsNone(config.api_key)", "expect(res.body.token).toBeUndefined();", "assert \"password\" not in response.text",
    "def test_login_rejects_empty_password(client):", "it('rejects a missing api key', async () => {",
    "user = User(email=\"a@example.com\", password_hash=make_password(None))", "{\"username\": \"test\", \"password\": \"\"}",
    "@pytest.mark.parametrize(\"token\", [None, \"\", \"   \"])", "mock_secret = mocker.patch(\"app.secrets.get\", return_value=None)",
    "fixtures/users.json: {\"id\": 1, \"email\": \"test@example.com\", \"password\": null}", "REDACTED_VALUE = \"[REDACTED]\"",
    "SENSITIVE_KEYS = {\"password\", \"token\", \"secret\", \"api_key\", \"authorization\"}",
    "if key.lower() in (\"password\", \"secret\", \"token\"): value = \"***\"",
    "password_validators = [MinimumLengthValidator(12), CommonPasswordValidator()]",
    "class TokenExpiredError(Exception): pass", "def rotate_api_key(user_id: int) -> str:", "func (c *Client) RefreshToken(ctx context.Context) error {",
    "const PASSWORD_MIN_LENGTH = 12;", "MAX_TOKEN_AGE_SECONDS = 3600", "token_type_hint=refresh_token",
    "grant_type=client_credentials&client_id=acme-cli&scope=read", "response_type=code&client_id=web-app&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcallback",
    "  secretName: api-tls", "  existingSecret: postgres-credentials", "    secretKeyRef:", "envFrom:\n  - secretRef:\n      name: app-env",
    "kind: SealedSecret", "type: kubernetes.io/dockerconfigjson", "  passwordSecretRef:\n    name: db-admin\n    key: password",
    "password_file: /run/secrets/db_password", "POSTGRES_PASSWORD_FILE=/run/secrets/postgres_password", "secrets:\n  db_password:\n    file: ./secrets/db_password.txt",
    "token_endpoint: https://auth.example.com/oauth/token", "jwks_uri: https://acme.auth0.com/.well-known/jwks.json",
    "\"alg\": \"RS256\", \"kid\": \"2026-11-key-1\"", "authorization_code", "password_reset_token_expires_in = timedelta(minutes=15)",
    "<input type=\"password\" name=\"password\" autocomplete=\"current-password\" required>", "<label for=\"api-key\">API key</label>",
    "data-testid=\"password-input\"", "aria-label=\"Show password\"", "if (!token) return res.status(401).json({ error: 'unauthorized' });",
    "raise PermissionDenied(\"invalid api key\")", "log.info(\"token refreshed\", extra={\"user_id\": user.id})",
    "logger.debug(\"loaded %d secrets from vault\", len(secrets))", "Secret(\"db-password\") created", "secret/orders-db created",
    "sealedsecret.bitnami.com/api-keys configured", "Successfully rotated key for service 'billing' (version 14)",
]:
    C(t)

# version strings, paths, identifiers, credential-less URLs
for _ in range(60):
    C(R.choice([
        f"{svc()}=={ver()}",
        f"\"{pick('react','typescript','eslint','vite','next','zod','axios')}\": \"^{ver()}\",",
        f"Successfully installed {svc()}-{ver()} pydantic-{ver()} urllib3-{ver()}",
        f"v{ver()}-rc.{R.randint(1,5)}+build.{R.randint(100,9999)}",
        f"go version go1.{R.randint(19,23)}.{R.randint(0,9)} linux/amd64",
        f"/home/{R.choice(PEOPLE)}/src/{repo()}/{svc()}/tokens/refresh_token_handler.py",
        f"/var/lib/{svc()}/secrets/.gitkeep",
        f"src/{svc()}/auth/password_reset_service.ts",
        f"~/.config/{svc()}/credentials.toml (mode 0600)",
        f"C:\\Users\\{R.choice(PEOPLE)}\\AppData\\Roaming\\npm\\node_modules\\{svc()}\\lib\\token.js",
        f"  File \"/usr/lib/python3.12/site-packages/{svc()}/auth.py\", line {R.randint(10,900)}, in get_token",
        f"    at AuthService.validateApiKey (/app/dist/services/auth.js:{R.randint(10,400)}:{R.randint(1,40)})",
        f"https://github.com/{org()}/{repo()}/pull/{R.randint(10,9999)}",
        f"https://{org()}.atlassian.net/browse/{pick('PLAT','SEC','OPS','API')}-{R.randint(10,9999)}",
        f"postgres://{host()}:5432/{dbname()}",
        f"postgresql://{user()}@{host()}:5432/{dbname()}?sslmode=require",
        f"redis://{host()}:6379/{R.randint(0,15)}",
        f"mongodb://{host()}:27017/{dbname()}",
        f"amqp://rabbitmq:5672/",
        f"git@github.com:{org()}/{repo()}.git",
        f"https://{R.choice(PEOPLE)}@bitbucket.org/{org()}/{repo()}.git",
        f"https://hooks.slack.com/services/",
        f"https://api.{org()}.com/v2/{svc()}?page={R.randint(1,40)}&per_page=100&sort=created_at",
        f"https://docs.{org()}.com/security/rotating-api-keys#revoking-a-token",
        f"https://console.aws.amazon.com/secretsmanager/home?region={region()}#!/secret?name=prod%2F{svc()}",
        f"s3://{org()}-{svc()}-artifacts/{R.randint(2020,2026)}/{R.randint(1,12):02d}/build-{R.randint(100,9999)}.zip",
        f"gs://{org()}-{svc()}-exports/daily/part-{R.randint(0,99999):05d}.parquet",
        f"{org()}.{svc()}.{svc()}.internal.v1.{pick('TokenRefreshRequest','PasswordPolicyConfig','ApiKeyRotationScheduler')}",
        f"test_{svc()}_returns_401_when_api_key_is_missing_or_revoked_{R.randint(1,9)}",
        f"AbstractSingletonProxyFactoryBean{pick('Token','Secret','Password')}ResolverStrategyImpl",
        f"{svc()}-{pick('deployment','worker','cron')}-{rs(10, LOW+DIG)}-{rs(5, LOW+DIG)}   1/1   Running   0   {R.randint(1,59)}m",
        f"pod/{svc()}-{rs(9, LOW+DIG)}-{rs(5, LOW+DIG)} condition met",
        f"sha-{rs(7, HEX)}",
        f"{repo()}:{ver()}-{rs(7, HEX)}",
        f"ami-{rs(17, HEX)}",
        f"sg-{rs(17, HEX)}",
        f"i-{rs(17, HEX)}",
        f"vpc-{rs(8, HEX)}",
        f"color: #{rs(6, HEX)}; background: #{rs(6, HEX)};",
        f"{ts()} INFO server listening on 0.0.0.0:{pick(3000, 8000, 8080, 9090)} pid={R.randint(100,99999)}",
        f"{ts()} WARN slow query ({R.randint(500,9000)}ms): SELECT id, email FROM users WHERE api_key_hash = $1",
        f"{ts()} INFO auth: password changed for user_id={R.randint(1,10**6)}",
        f"{ts()} ERROR token validation failed: signature has expired (user_id={R.randint(1,10**6)})",
        f"{ts()} INFO rotated secret name=prod/{svc()}/api-key version={R.randint(2,50)}",
        f"{ts()} DEBUG headers={{'Authorization': '[REDACTED]', 'Content-Type': 'application/json'}}",
        f"{ts()} INFO user {R.choice(PEOPLE)} logged in via SSO (idp=okta)",
        f"Step {R.randint(1,20)}/{R.randint(20,30)} : RUN pip install --no-cache-dir -r requirements.txt",
        f"#{R.randint(5,30)} [{R.randint(1,4)}/{R.randint(5,9)}] COPY --from=build /app/dist /srv",
        f"Compiling {svc()} v{ver()} (/work/{repo()}/crates/{svc()})",
        f"Downloaded {svc()}-{ver()}-py3-none-any.whl ({R.randint(10,900)} kB)",
        f"npm WARN deprecated {svc()}@{ver()}: this package has been renamed",
        f"Bump {svc()} from {ver()} to {ver()} in /{repo()}",
        f"Cache key: {region()}-node-modules-{sha256()[:40]}",
        f"run_id={R.randint(10**9, 10**10)} attempt={R.randint(1,3)} job=build",
        f"ulid: 01J{rs(23, '0123456789ABCDEFGHJKMNPQRSTVWXYZ')}",
        f"object_id: {rs(24, HEX)}",
        f"\"_id\": {{\"$oid\": \"{rs(24, HEX)}\"}}",
        f"ch_{rs(6, HEX)}_{svc()}_{R.randint(1,99)}",
        f"pi_3P{rs(22)}",
        f"cus_{rs(14)}",
    ]))

# config without secrets
for t in [
    "[database]\nhost = \"localhost\"\nport = 5432\nname = \"app_dev\"\nuser = \"app\"",
    "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD_FILE: /run/secrets/pg_pw\n    secrets:\n      - pg_pw",
    "env:\n  NODE_ENV: production\n  LOG_LEVEL: info",
    "      - name: Configure AWS credentials\n        uses: aws-actions/configure-aws-credentials@v4\n        with:\n          role-to-assume: arn:aws:iam::123456789012:role/gha-deploy\n          aws-region: us-east-1",
    "permissions:\n  id-token: write\n  contents: read",
    "variables:\n  DOCKER_DRIVER: overlay2\n  GIT_DEPTH: \"10\"",
    "before_script:\n  - echo \"$CI_REGISTRY_PASSWORD\" | docker login -u \"$CI_REGISTRY_USER\" --password-stdin \"$CI_REGISTRY\"",
    "  - docker login -u gitlab-ci-token -p $CI_JOB_TOKEN $CI_REGISTRY",
    "resource \"aws_secretsmanager_secret\" \"db\" {\n  name = \"prod/orders/db\"\n}",
    "variable \"db_password\" {\n  type      = string\n  sensitive = true\n}",
    "  password = random_password.db.result",
    "output \"db_password\" {\n  value     = aws_db_instance.main.password\n  sensitive = true\n}",
    "spring.datasource.password=${DB_PASSWORD}",
    "spring.datasource.url=jdbc:postgresql://localhost:5432/app",
    "DATABASES = {\"default\": env.db(\"DATABASE_URL\")}",
    "SECRET_KEY = env(\"DJANGO_SECRET_KEY\")",
    "app.secret_key = os.urandom(32)",
    "key = Fernet.generate_key()",
    "token = secrets.token_urlsafe(32)",
    "const token = crypto.randomBytes(32).toString('hex');",
    "hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt())",
    "$2b$12$ is the bcrypt prefix for cost factor 12",
    "if (!process.env.STRIPE_SECRET_KEY) throw new Error('STRIPE_SECRET_KEY missing');",
    "apiKey: import.meta.env.VITE_MAPS_API_KEY,",
    "NEXT_PUBLIC_API_URL=https://api.example.com",
    "LOG_LEVEL=debug\nPORT=8080\nDATABASE_URL=${DATABASE_URL}",
    "[profile prod]\nsso_start_url = https://acme.awsapps.com/start\nsso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = Developer",
    "[default]\nregion = eu-west-1\noutput = json",
    "credential_process = /usr/local/bin/aws-vault exec prod --json",
    "Host github.com\n  User git\n  IdentityFile ~/.ssh/id_ed25519\n  IdentitiesOnly yes",
    "[credential]\n\thelper = osxkeychain",
    "auth_type = \"oauth\"\ntoken_path = \"~/.cache/acme/token.json\"",
    "\"mcpServers\": { \"github\": { \"command\": \"docker\", \"args\": [\"run\", \"-i\", \"--rm\", \"-e\", \"GITHUB_PERSONAL_ACCESS_TOKEN\", \"ghcr.io/github/github-mcp-server\"] } }",
    "\"env\": { \"GITHUB_PERSONAL_ACCESS_TOKEN\": \"${input:github_token}\" }",
    "apiKeyHelper: ~/bin/get-anthropic-key.sh",
    "  tokenSecretRef:\n    name: cloudflare-api-token\n    key: api-token",
    "annotations:\n  vault.hashicorp.com/agent-inject-secret-db: \"secret/data/orders/db\"",
    "image: bitnami/postgresql:16.4.0-debian-12-r0",
    "PASSWORD_HASHERS = [\"django.contrib.auth.hashers.Argon2PasswordHasher\"]",
    "AUTH_PASSWORD_VALIDATORS = []",
    "SESSION_COOKIE_SECURE = True",
    "CSRF_COOKIE_HTTPONLY = True",
    "JWT_ALGORITHM = \"HS256\"",
    "ACCESS_TOKEN_EXPIRE_MINUTES = 30",
    "token_url = \"https://oauth2.googleapis.com/token\"",
    "scopes = [\"https://www.googleapis.com/auth/cloud-platform\"]",
    "  \"type\": \"service_account\",",
    "  \"client_email\": \"etl@acme-data-123456.iam.gserviceaccount.com\",",
    "  \"token_uri\": \"https://oauth2.googleapis.com/token\",",
    "  \"auth_provider_x509_cert_url\": \"https://www.googleapis.com/oauth2/v1/certs\",",
    "AccountName=devstoreaccount1;BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;",
    "UseDevelopmentStorage=true",
    "sslmode=verify-full sslrootcert=/etc/ssl/certs/rds-ca.pem",
    "host=localhost port=5432 dbname=app user=app sslmode=disable",
    "Server=localhost;Database=app;Trusted_Connection=True;",
    "jdbc:sqlserver://localhost:1433;databaseName=app;integratedSecurity=true",
    "max_connections = 200\nshared_buffers = 4GB",
    "requirepass ${REDIS_PASSWORD}",
    "# requirepass foobared",
    "masterauth <master-password>",
    "auth required pam_unix.so",
    "PasswordAuthentication no",
    "PubkeyAuthentication yes",
    "PermitRootLogin prohibit-password",
    "ChallengeResponseAuthentication no",
    "log_statement = 'none'  # avoid logging passwords in ALTER ROLE",
    "ALTER ROLE app WITH PASSWORD :'new_password';",
    "CREATE USER readonly WITH PASSWORD NULL;",
    "GRANT SELECT ON ALL TABLES IN SCHEMA public TO readonly;",
    "SELECT id, email, password_hash, created_at FROM users LIMIT 10;",
    "UPDATE api_keys SET revoked_at = now() WHERE id = $1;",
    "CREATE TABLE api_tokens (id bigserial primary key, token_hash bytea not null, last_used_at timestamptz);",
    "CREATE INDEX idx_sessions_token_hash ON sessions (token_hash);",
]:
    C(t)

# dedupe, drop anything containing a generated secret
secret_vals = [r["secret"] for r in SECRETS]
out_clean, seen = [], set()
for t in CLEAN:
    if t in seen:
        continue
    if any(s in t for s in secret_vals):
        continue
    seen.add(t)
    out_clean.append(t)

# dedupe secrets by text
out_sec, seen_s = [], set()
for r in SECRETS:
    if r["text"] in seen_s:
        continue
    seen_s.add(r["text"])
    out_sec.append(r)

with open(os.path.join(OUT, "secrets3.jsonl"), "w") as f:
    for r in out_sec:
        f.write(json.dumps(r) + "\n")
with open(os.path.join(OUT, "clean3.jsonl"), "w") as f:
    for t in out_clean:
        f.write(json.dumps({"source": "synthetic", "split": SPLIT, "text": t}) + "\n")

cnt = Counter(r["kind"] for r in out_sec)
print(f"secrets={len(out_sec)} kinds={len(cnt)} clean={len(out_clean)}")
for k, v in sorted(cnt.items()):
    print(f"{v:4d}  {k}")
