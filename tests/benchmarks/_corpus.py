"""A synthetic but realistic corpus of developer memories, shared by every benchmark.

Why synthetic: benchmarks must run anywhere, offline, at 100,000 and 1,000,000 memories, and
give the same data on every run so numbers compare. Why realistic: search cost depends on the
shape of the data (how many documents a common word hits, how large the vocabulary grows, how
long memories are), so the corpus mimics what developers store:

* sentences built from templates ("Decided to use redis for session caching because ..."),
  filled from a Zipf-weighted vocabulary of ordinary English plus technical terms;
* a long tail of identifiers (``UserSessionManager``, ``parse_config``), versions, ports,
  ticket numbers and file paths, so the indexed vocabulary keeps growing with the store;
* varied lengths (a log-normal number of sentences: mostly one or two, a few long notes);
* 0-3 tags from a fixed set, kinds weighted like real use, importance, and creation times
  spread over two years.

Everything is a pure function of ``seed``: ``memories(n, seed)`` is the same list every time.
Generation runs at roughly 50,000-100,000 memories a second, so a 1M store is built in minutes.
"""

from __future__ import annotations

import itertools
import json
import random
import string
import sys
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # run as a script from anywhere: import the checkout's package
    sys.path.insert(0, str(ROOT))

from smartcontext_cli.models import Memory  # noqa: E402

SEED = 20240611
JARGON = 4000  # made-up long-tail words after the ~250 real ones
EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)
SPAN_SECONDS = 2 * 365 * 86400


def _words(block: str) -> list[str]:
    return block.split()


COMMON = _words(
    """
time work need use make change check run code file test build data way issue fix add set
update user new version step case value error config server call request result problem
default local support version option error reason team review release part list type
"""
)

GENERAL = _words(
    """
always never usually often sometimes before after during because instead only still already
again first last next previous current old new large small slow fast simple complex stable
flaky broken safe unsafe manual automatic internal external public private shared global
remote local temporary permanent expensive cheap correct wrong missing extra duplicate
important critical minor major optional required deprecated legacy modern custom native
customer client developer engineer reviewer manager owner maintainer contributor operator
morning weekend sprint quarter meeting standup retro incident outage migration rollout
rollback deadline estimate budget priority backlog ticket roadmap milestone demo feedback
performance latency throughput memory disk network bandwidth storage capacity traffic load
document describe explain agree decide prefer avoid remember forget keep remove replace
handle retry timeout limit queue batch stream cache index schema table column row field
record entry event message payload header token secret password key certificate session
permission role scope policy rule validation parsing formatting logging tracing metric
alert dashboard report chart graph trend spike regression improvement benchmark profile
"""
)

TECH = _words(
    """
postgres postgresql mysql sqlite redis memcached kafka rabbitmq nats elasticsearch
opensearch mongodb cassandra dynamodb clickhouse snowflake bigquery s3 gcs minio
kubernetes k8s docker podman helm terraform ansible pulumi nginx envoy traefik haproxy
istio linkerd prometheus grafana loki jaeger opentelemetry sentry datadog pagerduty
python django flask fastapi celery pydantic sqlalchemy alembic pytest mypy ruff black
typescript javascript react nextjs vue svelte webpack vite eslint prettier jest playwright
golang rust cargo tokio java kotlin gradle spring scala ruby rails sidekiq php laravel
graphql grpc protobuf openapi swagger rest websocket http2 tls mtls oauth oidc jwt saml
ldap keycloak auth0 okta vault consul etcd zookeeper github gitlab bitbucket jenkins
circleci actions argo argocd flux spinnaker aws gcp azure lambda ecs eks gke cloudrun
fargate cloudfront cloudflare fastly vercel netlify heroku stripe twilio sendgrid slack
jira linear notion figma openai anthropic llm embeddings pgvector faiss pinecone weaviate
numpy pandas polars spark airflow dagster dbt jupyter tensorflow pytorch onnx cuda
linux ubuntu debian alpine macos windows wsl bash zsh vim neovim vscode tmux git
"""
)

COMPONENTS = _words(
    """
auth billing payments checkout search indexer scheduler worker gateway frontend backend
api admin dashboard notifications email mailer exporter importer ingest pipeline crawler
parser compiler renderer uploader downloader webhook cron migrator reporter analytics
telemetry onboarding signup login profile settings inventory catalog orders invoices
"""
)

TAGS = _words(
    """
auth db infra frontend backend api testing ci perf security deploy docs bug ux data ml
ops oncall release refactor tooling cost compliance observability mobile
"""
)

KINDS = ["note", "fact", "decision", "preference", "insight", "pattern", "error"]
KIND_WEIGHTS = [30, 25, 15, 10, 8, 7, 5]

TEMPLATES = [
    "Decided to use {tech} for {comp} {noun} because {adj} {noun} was {adj} with {tech2}.",
    "The {comp} service talks to {tech} through {ident}; {verb} the {noun} before {verb2}.",
    "{tech} {noun} in {path} must stay {adj}; we {verb} it {when}.",
    "Prefer {tech} over {tech2} for {noun} {noun2}: {adj} and {adj2}.",
    "Bug {ticket}: {comp} {noun} fails on {tech} {version} when the {noun2} is {adj}.",
    "{comp} runs on port {port}; {tech} connection {noun} is {number} and {noun2} {number2}.",
    "Remember to {verb} the {noun} {noun2} {when}, otherwise {comp} gets {adj}.",
    "We {verb} {ident} in {path} to {verb2} {adj} {noun} for the {comp} team.",
    "{tech} {version} breaks {ident}; pin it and {verb} the {noun} after the {noun2}.",
    "Pattern: {verb} {noun} in {comp}, then {verb2} {noun2} with {tech}.",
    "The {adj} {noun} of {comp} comes from {tech2} {noun2}, see {path}.",
    "{word} {word2} {word3} {noun} {word4} {tech} {word5} {noun2}.",
    "Error {errcode} from {tech} means the {noun} is {adj}; {verb2} and retry.",
    "On {tech} we keep {noun} {noun2} {adj} with {ident} ({ticket}).",
]
WHEN = [
    "before each release",
    "every sprint",
    "on deploy",
    "after the migration",
    "in staging first",
    "nightly",
    "on call",
    "when the cache is cold",
    "weekly",
]
VERBS = _words(
    """
check update rotate restart deploy migrate index cache validate refresh flush rebuild
document review pin upgrade downgrade monitor profile shard replicate backup restore
"""
)
ERRCODES = [
    "E1001",
    "ECONNRESET",
    "ETIMEDOUT",
    "429",
    "503",
    "OOMKilled",
    "40P01",
    "23505",
    "SIGSEGV",
    "ENOSPC",
    "401",
    "403",
    "502",
    "CrashLoopBackOff",
]
PARTS = [
    "user",
    "session",
    "token",
    "cache",
    "config",
    "order",
    "invoice",
    "event",
    "job",
    "queue",
    "index",
    "schema",
    "request",
    "handler",
    "client",
    "manager",
    "store",
    "loader",
    "parser",
    "builder",
    "factory",
    "service",
    "worker",
    "retry",
    "batch",
]


def _zipf_weights(n: int, s: float = 1.0, q: float = 5.0) -> list[float]:
    """Cumulative Zipf-Mandelbrot weights, 1 / (rank + q) ** s.

    Why the offset ``q``: pure Zipf over a few hundred words puts the top word in most
    memories; real notes are flatter at the head (the commonest content word of developer
    notes appears in roughly one in six or seven of them), which the offset gives.
    """
    return list(itertools.accumulate(1.0 / ((rank + q) ** s) for rank in range(1, n + 1)))


def _jargon(n: int, seed: int) -> list[str]:
    """``n`` distinct made-up words (project names, libraries, domain terms): the long tail."""
    r = random.Random(seed)
    onsets = ["b", "br", "c", "ch", "d", "f", "g", "gr", "h", "j", "k", "l", "m", "n", "p", "pl",
              "qu", "r", "s", "sk", "st", "t", "tr", "v", "w", "z"]  # fmt: skip
    vowels = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
    codas = ["", "", "n", "r", "s", "x", "l", "m", "nd", "rk", "st", "ck"]
    out: dict[str, None] = {}
    while len(out) < n:
        syllables = r.choice((2, 2, 3))
        stem = "".join(r.choice(onsets) + r.choice(vowels) for _ in range(syllables))
        out[stem + r.choice(codas)] = None
    return list(out)


def _parse(template: str) -> list[tuple[str, str | None]]:
    """A template as (literal, None) and ("", slot) parts."""
    parts: list[tuple[str, str | None]] = []
    for literal, slot, _spec, _conv in string.Formatter().parse(template):
        if literal:
            parts.append((literal, None))
        if slot:
            parts.append(("", slot))
    return parts


class _Gen:
    """Draws words, identifiers and sentences from one ``random.Random`` (deterministic)."""

    def __init__(self, seed: int, total: int = 1) -> None:
        self.r = random.Random(seed)
        self.total = total  # the corpus size: creation times spread evenly over two years
        self.general = COMMON + GENERAL + _jargon(JARGON, seed)
        self.general_w = _zipf_weights(len(self.general))
        self.tech = list(TECH)
        random.Random(seed + 1).shuffle(self.tech)  # which tech is popular depends on the seed
        self.tech_w = _zipf_weights(len(self.tech), q=3.0)
        self.comp_w = _zipf_weights(len(COMPONENTS), q=3.0)
        self.slots = self._slots()
        self.templates = [_parse(t) for t in TEMPLATES]

    def word(self) -> str:
        return self.r.choices(self.general, cum_weights=self.general_w)[0]

    def tech_word(self) -> str:
        return self.r.choices(self.tech, cum_weights=self.tech_w)[0]

    def comp(self) -> str:
        return self.r.choices(COMPONENTS, cum_weights=self.comp_w)[0]

    def ident(self) -> str:
        r = self.r
        parts = [r.choice(PARTS) for _ in range(r.randint(2, 3))]
        style = r.random()
        if style < 0.4:
            return "_".join(parts)
        if style < 0.8:
            return "".join(p.capitalize() for p in parts)
        return parts[0] + "".join(p.capitalize() for p in parts[1:]) + str(r.randint(1, 99))

    def path(self) -> str:
        r = self.r
        top = r.choice(("src", "lib", "app", "services", "pkg"))
        ext = r.choice(("py", "ts", "go", "rs", "yaml", "sql"))
        return f"{top}/{self.comp()}/{r.choice(PARTS)}.{ext}"

    def sentence(self) -> str:
        # Why pre-parsed templates: drawing only the slots a template uses keeps generation
        # fast enough to build a 1M-memory store in a few minutes.
        return "".join(
            part if slot is None else self.slots[slot]()
            for part, slot in self.r.choice(self.templates)
        )

    def _slots(self) -> dict[str, Any]:
        r, g = self.r, self.word
        return {
            "tech": self.tech_word, "tech2": self.tech_word, "comp": self.comp,
            "noun": g, "noun2": g, "adj": g, "adj2": g, "word": g, "word2": g, "word3": g,
            "word4": g, "word5": g,
            "verb": lambda: r.choice(VERBS), "verb2": lambda: r.choice(VERBS),
            "ident": self.ident, "path": self.path, "when": lambda: r.choice(WHEN),
            "ticket": lambda: f"#{r.randint(100, 9999)}",
            "version": lambda: f"{r.randint(1, 17)}.{r.randint(0, 30)}",
            "port": lambda: str(r.randint(1024, 65535)),
            "number": lambda: str(r.randint(2, 500)), "number2": lambda: str(r.randint(2, 500)),
            "errcode": lambda: r.choice(ERRCODES),
        }  # fmt: skip

    def memory(self, i: int) -> Memory:
        r = self.r
        # Log-normal sentence count: median 1-2, a long tail of multi-paragraph notes.
        n_sent = max(1, min(40, int(r.lognormvariate(0.4, 0.8))))
        content = " ".join(self.sentence() for _ in range(n_sent))
        n_tags = r.choices((0, 1, 2, 3), weights=(25, 40, 25, 10))[0]
        tags = sorted(set(r.choices(TAGS, k=n_tags)))
        created = EPOCH + timedelta(seconds=SPAN_SECONDS * i / max(1, self.total) + r.random())
        stamp = created.isoformat(timespec="microseconds")
        return Memory(
            content=content,
            id=f"{r.getrandbits(128):032x}",
            tags=tags,
            kind=r.choices(KINDS, weights=KIND_WEIGHTS)[0],
            source=r.choice(("user", "user", "agent", "import")),
            importance=round(r.random(), 2),
            created_at=stamp,
            updated_at=stamp,
        )


def memories(n: int, seed: int = SEED) -> Iterator[Memory]:
    """``n`` memories, oldest first, identical for the same ``n`` and ``seed``."""
    gen = _Gen(seed, n)
    for i in range(n):
        yield gen.memory(i)


def batches(n: int, size: int = 50_000, seed: int = SEED) -> Iterator[list[Memory]]:
    it = memories(n, seed)
    while batch := list(itertools.islice(it, size)):
        yield batch


def write_jsonl(path: Path, n: int, seed: int = SEED) -> Path:
    """An export file (header + ``n`` memory records) as ``smartcontext import`` reads it."""
    with path.open("w", encoding="utf-8") as fh:
        header = {"type": "header", "format": "smartcontext-export", "version": 1}
        fh.write(json.dumps(header) + "\n")
        for m in memories(n, seed):
            record: dict[str, Any] = {"type": "memory", **m.to_dict()}
            fh.write(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n")
    return path


def queries(seed: int = SEED) -> list[tuple[str, str]]:
    """A fixed mix of realistic queries as (category, text).

    Categories: ``word`` (1 word), ``phrase`` (2-5 words, some natural language), ``typo``
    (misspelt technical words, which exercise the fuzzy expansion), ``none`` (nothing matches).
    """
    r = random.Random(seed)
    g = _Gen(seed)
    out: list[tuple[str, str]] = []
    out += [("word", w) for w in ("postgres", "redis", "deploy", "timeout", "kubernetes")]
    out += [("word", g.tech_word()) for _ in range(3)] + [("word", g.comp())]
    out += [
        ("phrase", "database connection pool"),
        ("phrase", "why did we choose redis"),
        ("phrase", "jwt token expiry"),
        ("phrase", "rotate the secret before each release"),
        ("phrase", '"session cache" invalidation'),
        ("phrase", "flaky test in ci"),
        ("phrase", "auth service port"),
    ]
    for _ in range(5):
        extra = [g.word() for _ in range(r.randint(0, 3))]
        out.append(("phrase", " ".join([g.tech_word(), g.comp(), *extra])))
    out += [
        ("typo", q)
        for q in (
            "kubernets",
            "postgre",
            "elasticsaerch",
            "promethues config",
            "terrafrom state lock",
            "graphgl schema",
        )
    ]
    out += [
        ("none", q)
        for q in ("quantum banana", "xylophone", "zzyzx plover", "?", "NEAR( col:x", "🦄")
    ]
    return out


def build_sqlite(home: Path, n: int, namespace: str = "bench", seed: int = SEED) -> Path:
    """A SQLite store of ``n`` corpus memories under ``home``, via the fastest bulk path.

    Returns the store file. Batches of 50,000 in one transaction each keep memory flat while
    paying the commit cost only n/50,000 times.
    """
    from smartcontext_cli.storage import open_storage

    storage = open_storage(home, namespace, "sqlite")
    try:
        done = 0
        t0 = time.perf_counter()
        for batch in batches(n, seed=seed):
            storage.add_memories(batch)
            done += len(batch)
            rate = done / (time.perf_counter() - t0)
            print(f"  built {done:,}/{n:,} ({rate:,.0f}/s)", file=sys.stderr, end="\r", flush=True)
        print(file=sys.stderr)
        return Path(storage.path)
    finally:
        storage.close()


def cached_sqlite(root: Path, n: int, reuse: bool, namespace: str = "bench") -> Path:
    """The data directory (``SMARTCONTEXT_HOME``) of an ``n``-memory store, built once.

    The directory is ``<root>/xdg-data-<n>/smartcontext``, the layout platformdirs gives with
    ``XDG_DATA_HOME=<root>/xdg-data-<n>``, so a benchmark can also run the CLI exactly as a
    user would, without ``SMARTCONTEXT_HOME``. With ``reuse``, an existing complete store is
    kept (the marker file is written only after a successful build).
    """
    home = root / f"xdg-data-{n}" / "smartcontext"
    marker = home.parent / f"complete-{SEED}-{namespace}"
    if reuse and marker.exists():
        return home
    if home.exists():
        import shutil

        shutil.rmtree(home)
    home.mkdir(parents=True)
    t0 = time.perf_counter()
    build_sqlite(home, n, namespace)
    print(f"  store of {n:,} memories built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    marker.write_text("ok\n")
    return home


def subprocess_env(root: Path) -> dict[str, str]:
    """The environment of a user's shell, for CLI subprocesses.

    Why: an installed package has compiled bytecode, so ``PYTHONDONTWRITEBYTECODE`` (set in
    some sandboxes) would charge every run for compiling our sources; the bytecode goes to a
    cache under ``root`` so the checkout stays clean. No ``SMARTCONTEXT_*`` variable leaks in.
    """
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("SMARTCONTEXT_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
    env["NO_COLOR"] = "1"
    return env


def median_ms(samples: list[float]) -> float:
    import statistics

    return statistics.median(samples) * 1000.0


def table(headers: list[str], rows: list[list[Any]]) -> str:
    """A markdown table, the output format of every benchmark."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)
