"""Build the fifth redaction corpus, ``probe5``: a probe written after the rules of issue 13's
last push, to see how they do on phrasings they were not written for.

``python -m tests.reliability.build_corpus5`` writes ``corpus/secrets5.jsonl`` and
``corpus/clean5.jsonl``. Its first measurement, before any rule was changed for it: 74/77
secrets caught (96.1%), 1/61 clean lines altered (1.64%); the rules were then fixed for its
misses (a password "set to X", ``setx``, Go's MySQL DSN, ``curl -u "$USER:$TOKEN"``), so it is
development data since, like ``dev4``. The same author wrote both, so this is no held-out figure.
"""

import base64
import json
import random
import string
from pathlib import Path

HERE = Path(__file__).parent / "corpus"
rng = random.Random(777)
A = string.ascii_letters + string.digits


def r(a, n):
    return "".join(rng.choice(a) for _ in range(n))


H = "0123456789abcdef"


def pw():
    return rng.choice(
        [
            f"Blue{rng.randint(10, 999)}!Sky",
            r(A + "!@#%", 16),
            f"winter-{rng.randint(1000, 9999)}-Lamp",
        ]
    )


# Clean lines that look close: references, placeholders, hashes, prose and code about secrets.
CLEAN = """export DB_PASSWORD="$(vault kv get -field=password secret/db)"
password: "{{ .Values.db.password }}"
<password>${env.NEXUS_PASSWORD}</password>
<add key="StripeApiKey" value="%STRIPE_API_KEY%" />
  - name: DB_PASSWORD
    valueFrom:
      secretKeyRef:
        name: db
        key: password
MYSQL_PASSWORD: ${MYSQL_PASSWORD:?required}
api_key = st.secrets["api_key"]
token = keyring.get_password("github", "me")
AWS_SECRET_ACCESS_KEY=${{ secrets.AWS_SECRET_ACCESS_KEY }}
secret_key = var.aws_secret_key
sk-... (your key here)
Set OPENAI_API_KEY in your shell, e.g. export OPENAI_API_KEY=sk-...
password hashing uses bcrypt with cost 12
Authorization: Bearer {token}
Cookie: theme=light; lang=en
curl -u "$USER:$TOKEN" https://api.acme.io
git rev-parse HEAD # 9fceb02d0ae598e95dc970b74767f19372d61af8
sha256sum: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
uuid = "f47ac10b-58cc-4372-a567-0e02b2c3d479"
data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7
mysql -u root -p < schema.sql
docker run -p 5432:5432 -e POSTGRES_PASSWORD=$PGPASS postgres
The token is valid for 1 hour.
Your API key: <redacted>
key: ${{ runner.os }}-pip-${{ hashFiles('**/requirements.txt') }}
cache-key: v1-deps-{{ checksum "package-lock.json" }}
secret: xxxxxxxxxxxxxxxx
token_endpoint: https://oauth2.example.com/token
PASSWORD_FIELD = "password"
const TOKEN_KEY = 'auth_token';
localStorage.getItem('jwt')
if user.check_password(form.password.data):
Password123 is a terrible password, as the audit showed.
The passphrase must have at least four words.
ssh-keygen -t rsa -b 4096 -f ~/.ssh/id_rsa -N ''
-----BEGIN CERTIFICATE-----
MIIDdzCCAl+gAwIBAgIEAgAAuTANBgkqhkiG9w0BAQUFADBaMQswCQYDVQQGEwJJ
-----END CERTIFICATE-----
client_id: 1234567890-abcdefg.apps.googleusercontent.com
"private_key_id": "<key-id>"
AWS_ACCESS_KEY_ID=AKIA################
api_key: !vault |
  $ANSIBLE_VAULT;1.1;AES256
  62313365396662343061393464336163383764373764613633653634306231386433626436623361
The secret sauce is caching.
tokens: ["a", "b"]
def get_token(): return os.environ["TOKEN"]
--password-stdin
-p 8080:80
auth: { username: process.env.U, password: process.env.P }
DATABASE_URL=postgres://postgres:postgres@localhost:5432/dev
redis://:@localhost:6379
Commit 4f2a1b9 fixed token refresh.
password=os.getenv("PW")
ENV NODE_ENV=production
git push origin main
pip install requests==2.32.3"""


def main() -> None:
    rows = []

    def add(kind, s, t):
        rows.append({"kind": kind, "secret": s, "text": t.format(s=s)})

    s = pw()
    add(
        "xml",
        s,
        "<settings><servers><server><id>nexus</id><username>deploy</username><password>{s}</password></server></servers></settings>",
    )
    s = r(A, 32)
    add("xml attr", s, '<add key="StripeApiKey" value="{s}" />')
    s = pw()
    add("k8s env", s, 'env:\n  - name: DB_PASSWORD\n    value: "{s}"')
    s = pw()
    add("compose", s, "environment:\n  MYSQL_PASSWORD: {s}\n  MYSQL_USER: app")
    s = pw()
    add("pgpass", s, "db.internal:5432:app:app:{s}")
    s = "ghp_" + r(A, 36)
    add(
        "gh",
        s,
        'git config --global url."https://{s}:x-oauth-basic@github.com/".insteadOf "https://github.com/"',
    )
    s = "npm_" + r(A, 36)
    add("yarnrc", s, 'npmAuthToken: "{s}"')
    s = "pypi-AgEIcHlwaS5vcmc" + r(A + "-_", 60)
    add("poetry", s, "poetry config pypi-token.pypi {s}")
    s = r(H, 32)
    add("slack signing", s, "SLACK_SIGNING_SECRET={s}")
    s = "sk_live_" + r(A, 24)
    add("stripe php", s, "\\Stripe\\Stripe::setApiKey('{s}');")
    s = r(H, 32)
    add("twilio", s, "account_sid = 'AC" + r(H, 32) + "'\nauth_token = '{s}'")
    s = "sk-proj-" + r(A + "-_", 64)
    add("openai vscode", s, '{{"openai.apiKey": "{s}"}}')
    s = r(A + "+/", 40)
    add(
        "boto3",
        s,
        "s3 = boto3.client('s3', aws_access_key_id='AKIA"
        + r(string.ascii_uppercase + string.digits, 16)
        + "', aws_secret_access_key='{s}')",
    )
    s = r(A + "+/", 40)
    add(
        "sts json",
        s,
        '"Credentials": {{"AccessKeyId": "ASIA'
        + r(string.ascii_uppercase, 16)
        + '", "SecretAccessKey": "{s}", "SessionToken": "IQoJ'
        + r(A, 80)
        + '"}}',
    )
    s = r(A + "+/", 86) + "=="
    add(
        "azure cs",
        s,
        'AZURE_STORAGE_CONNECTION_STRING="DefaultEndpointsProtocol=https;AccountName=x;AccountKey={s};EndpointSuffix=core.windows.net"',
    )
    s = r(A + "+/", 43) + "="
    add(
        "servicebus",
        s,
        "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey={s}",
    )
    s = "dop_v1_" + r(H, 64)
    add("do", s, "export DIGITALOCEAN_ACCESS_TOKEN={s}")
    s = "MTE" + r(A, 23) + "." + r(A, 6) + "." + r(A + "_-", 38)
    add("discord env", s, "DISCORD_TOKEN={s}")
    s = f"{rng.randint(10**8, 10**9)}:AA" + r(A + "_-", 33)
    add("tg url", s, "requests.get(f'https://api.telegram.org/bot{s}/sendMessage', params=p)")
    s = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjMifQ." + r(A + "-_", 64)
    add("id token", s, '"id_token": "{s}"')
    s = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0." + r(A + "-_", 43)
    add("jwt header", s, "Authorization: JWT {s}")
    s = pw()
    add("jenkins url", s, "https://admin:{s}@jenkins.internal/job/deploy/build")
    s = pw()
    add("mssql", s, "mssql+pyodbc://sa:{s}@sqlserver:1433/app?driver=ODBC+Driver+18")
    s = pw()
    add("jdbc mysql", s, "jdbc:mysql://db:3306/app?user=root&password={s}&useSSL=false")
    s = pw()
    add("npgsql", s, "Host=db;Port=5432;Username=app;Password={s};Database=app")
    s = pw()
    add("neo4j", s, "NEO4J_URI=neo4j+s://neo4j:{s}@abcd1234.databases.neo4j.io")
    s = pw()
    add("sasl", s, "sasl.password={s}")
    s = pw()
    add("mysql -p", s, "mysql -uadmin -p{s} -h 127.0.0.1")
    s = pw()
    add("docker -e", s, "docker run -d -e POSTGRES_PASSWORD={s} postgres:16")
    s = pw()
    add("helm set", s, "helm install db bitnami/postgresql --set auth.postgresPassword={s}")
    s = pw()
    add(
        "kubectl docker",
        s,
        "kubectl create secret docker-registry regcred --docker-username=ci --docker-password={s}",
    )
    s = base64.b64encode(pw().encode()).decode()
    add("k8s data", s, "apiVersion: v1\nkind: Secret\ndata:\n  api-token: {s}")
    s = pw()
    add("stringData", s, "kind: Secret\nstringData:\n  password: {s}")
    s = r(A, 40)
    add("gha env", s, "    env:\n      API_TOKEN: {s}")
    s = r(A, 40)
    add("tf", s, 'provider "aws" {{\n  secret_key = "{s}"\n}}')
    s = pw()
    add("ansible", s, "ansible_become_password: {s}")
    s = r(A, 32)
    add("curl apikey", s, 'curl -H "apikey: {s}" https://api.acme.io')
    s = r(A, 32)
    add("curl access", s, "curl -H 'x-access-token: {s}' https://api.acme.io")
    s = r(A, 40)
    add("wget", s, 'wget --header="Authorization: token {s}" https://x/y')
    s = base64.b64encode(b"u:" + pw().encode()).decode()
    add("proxy auth", s, "Proxy-Authorization: Basic {s}")
    s = r(A, 32)
    add("ruby", s, 'config.api_key = "{s}"')
    s = pw()
    add("php array", s, "'password' => '{s}',")
    s = r(A + "%", 40)
    add("connect.sid", s, "Cookie: connect.sid=s%3A{s}")
    s = r(A, 32)
    add("rails cookie", s, "Cookie: _myapp_session={s}")
    s = "sk-ant-api03-" + r(A + "-_", 90) + "AA"
    add("prose ant", s, "hey can you debug this, my key is {s} and it says 401")
    s = r(A, 40)
    add("prose token", s, "the deploy token: {s}")
    s = pw()
    add("prose db", s, "DB creds are app / {s}")
    s = pw()
    add("prose pw", s, "I set the root password to {s} on the new box")
    s = r(A, 32)
    add("query", s, "https://gitlab.acme.io/api/v4/projects?private_token={s}")
    s = r(H, 40)
    add("query apikey", s, "GET /v1/forecast?lat=1&lon=2&apikey={s}")
    s = "xoxb-" + f"{rng.randint(10**11, 10**12)}-{rng.randint(10**11, 10**12)}-" + r(A, 24)
    add("slack json", s, '"bot_token": "{s}"')
    s = "glpat-" + r(A + "-_", 20)
    add("gitlab remote", s, "git remote add origin https://oauth2:{s}@gitlab.com/a/b.git")
    s = "hf_" + r(A, 34)
    add("hf cli", s, "huggingface-cli login --token {s} --add-to-git-credential")
    s = "SG." + r(A, 22) + "." + r(A, 43)
    add("sg yaml", s, "sendgrid:\n  api_key: {s}")
    s = "key-" + r(H, 32)
    add("mailgun", s, "auth=('api', '{s}')")
    s = "AIza" + r(A + "-_", 35)
    add(
        "firebase",
        s,
        'firebase.initializeApp({{ apiKey: "{s}", authDomain: "x.firebaseapp.com" }})',
    )
    s = "shpat_" + r(H, 32)
    add("shopify", s, "session = shopify.Session('shop.myshopify.com', '2024-01', '{s}')")
    s = "ATATT3xFfGF0" + r(A + "-_", 180)
    add("jira", s, "jira = JIRA(server, basic_auth=('me@acme.io', '{s}'))")
    s = (
        "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBF"
        + r(A + "+/", 64)
        + "\n=abcd\n-----END PGP PRIVATE KEY BLOCK-----"
    )
    add("pgp", s, "{s}")
    s = (
        "-----BEGIN DSA PRIVATE KEY-----\nMIIBuw"
        + r(A + "+/", 64)
        + "\n-----END DSA PRIVATE KEY-----"
    )
    add("dsa", s, "key.pem:\n{s}")
    s = r(A + "-_", 43)
    add("generic secret", s, "APP_SECRET={s}")
    s = r(H, 64)
    add("encryption key", s, "ENCRYPTION_KEY: {s}")
    s = r(A, 48)
    add("signing json", s, '{{"signingKey": "{s}"}}')
    s = pw()
    add("setx", s, 'setx DB_PASSWORD "{s}"')
    s = pw()
    add("ps", s, '$env:DB_PASSWORD = "{s}"')
    s = pw()
    add("ini", s, "[smtp]\nhost = mail.acme.io\npassword={s}")
    s = pw()
    add("toml poetry", s, '[http-basic.private]\nusername = "ci"\npassword = "{s}"')
    s = pw()
    add("redis-cli", s, "redis-cli -h 10.0.0.3 -p 6379 -a '{s}' --no-auth-warning")
    s = pw()
    add("sqlcmd", s, "sqlcmd -S db -U sa -P '{s}' -Q 'select 1'")
    s = pw()
    add("ldap", s, "ldapsearch -x -D cn=admin,dc=acme,dc=io -w {s} -b dc=acme,dc=io")
    s = pw()
    add("openssl", s, "openssl pkcs12 -export -in c.pem -inkey k.pem -out c.p12 -passout pass:{s}")
    s = pw()
    add("pg env", s, "PGPASSWORD={s} pg_dump -h db app > app.sql")
    s = pw()
    add("sql grant", s, "GRANT ALL ON app.* TO 'app'@'%' IDENTIFIED BY '{s}';")
    s = pw()
    add("python kw", s, "smtp.login('alerts@acme.io', '{s}')")
    s = pw()
    add("java", s, 'dataSource.setPassword("{s}");')
    s = pw()
    add("go", s, 'db, err := sql.Open("mysql", "root:{s}@tcp(127.0.0.1:3306)/app")')
    s = r(A, 26)
    add("session", s, "Set-Cookie: sid={s}; Path=/; HttpOnly")
    with open(HERE / "secrets5.jsonl", "w") as f:
        for x in rows:
            f.write(json.dumps({**x, "split": "probe5"}) + "\n")
    clean = CLEAN.splitlines()
    with open(HERE / "clean5.jsonl", "w") as f:
        for x in clean:
            f.write(json.dumps({"split": "probe5", "text": x}) + "\n")
    print(len(rows), len(clean))


if __name__ == "__main__":
    main()
