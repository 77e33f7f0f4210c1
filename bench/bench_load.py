"""`make bench-load`: 50 concurrent virtual users across the roles for 2 minutes against the
full stack — gunicorn with several workers on loopback, PostgreSQL, Redis (broker, and the
cache for rate limits and report figures, as in production), a Celery worker (bench.sh
starts it: NEEDS_WORKER) — on the demo data (`manage.py load_demo`).

Each virtual user is one of the ten demo accounts (five users per role), signs in with a
session like a browser (login form, CSRF), then until the end: opens a page of its role —
the list, inbox and dashboard pages of its navigation and the API lists it may read —
and waits 1–3 s ("think time") before the next. Traffic goes only to 127.0.0.1 and stops
by itself after --duration seconds (plus the sign-in ramp).

Prints per page the number of requests, p50 and p95 (ms), the errors (any status other
than 200, a redirect to the login, a time-out), and, last, one JSON line. Target: p95 ≤
300 ms for every page, 0 errors. The server runs as in production behind a TLS proxy:
DEBUG off, secure cookies; the client says X-Forwarded-Proto: https, as the proxy would.

Floor, measured in the same run under the same load: `--probes` (2) more virtual users, signed
out, that open only `/healthz` (no database, no template) with the same think time; every
p50/p95 is printed as a ratio to theirs, with the load average (benchlib). Static files are
collected by bench.sh (the manifest storage, as in production).

With a read replica (NEEDS_REPLICA: bench.sh starts a streaming replica of the throwaway
PostgreSQL, scripts/replica.sh, and sets DATABASE_REPLICA_URLS, as in production with replicas):
the routed pages (portal/replicas.py: dashboards, KPIs, reports, entity search, …) read from it.
Which database served is counted from the responses themselves: a response read from a replica
carries `X-Data-As-Of` (ReplicaReadsMiddleware), one read from the primary does not; the JSON
line records `replica_configured`, the replica it named, and per page `routed` and `from_replica`
(requests answered from the replica). `--no-replica` runs gunicorn without DATABASE_REPLICA_URLS
(everything from the primary), for comparison.

Where the cores went: the web processes' CPU seconds over the load (`server_cpu_s`, and per
request served), the PostgreSQL servers' on this machine (`database_cpu_s`: primary and replica,
their backends), the load generator's own (`client_cpu_s`: it shares the machine), and the share
of all cores busy (`machine_busy_share`, from /proc/stat): near 1.0 the machine is saturated and
every page's p95 is mostly waiting for a web process (compare the floor).

Options: --users 50 --duration 120 --workers N (default: deploy/gunicorn.conf.py's, a worker per core)
--think 1,3 --probes 2 --no-demo (data already loaded)
--no-replica. `make bench-load USERS=200` passes --users."""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import re
import runpy
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

import aiohttp  # noqa: E402
from benchlib import Figures, cpu_seconds, machine_cpu, postmaster_pid, process_tree  # noqa: E402
from django.conf import settings  # noqa: E402
from django.db import connections  # noqa: E402
from django.urls import Resolver404, resolve, reverse  # noqa: E402

from portal.models import Role  # noqa: E402
from portal.navigation import items_for  # noqa: E402
from portal.replicas import ROUTED_URL_NAMES  # noqa: E402

NEEDS_WORKER = True  # bench.sh starts a Celery worker on the bench database
NEEDS_REPLICA = True  # bench.sh starts a streaming replica and sets DATABASE_REPLICA_URLS

DEMO_ACCOUNTS = {
    Role.PLATFORM_ADMIN: "admin",
    Role.PROVINCE_REGULATOR: "province",
    Role.CITY_REGULATOR: "city",
    Role.CONVENER: "convener",
    Role.TASK_FORCE_LEAD: "lead",
    Role.TASK_FORCE_STAFF: "staff",
    Role.TASK_FORCE_BANK_REVIEWER: "reviewer",
    Role.BANK_ADMIN: "bankadmin",
    Role.ACCOUNT_MANAGER: "manager",
    Role.ENTERPRISE_USER: "enterprise",
}
# navigation entries that are forms or tools, not inbox/list/dashboard pages
NOT_MEASURED = {
    "matching:declare",
    "matching:staff_declare",
    "matching:declaration_import",
    "matching:bank_recommend",
    "password_change",
    "products:self_test",
    "api-docs",
    "workdays:year_list",
}
API_LISTS = [
    "/api/v1/notifications/",
    "/api/v1/declarations/",
    "/api/v1/leads/",
    "/api/v1/entities/",
    "/api/v1/ledger/",
    "/api/v1/kpis/",
    "/api/v1/products/",
]
TARGET_P95_MS = 300
FLOOR = "/healthz (floor)"


def log(message: str) -> None:
    print(f"[bench-load] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def pages_of(role: str) -> list[str]:
    return [reverse(name) for _, name in items_for(role) if name not in NOT_MEASURED]


def routed(url: str) -> bool:
    """The page's reads may go to a replica (portal/replicas.py: ROUTED_URL_NAMES)."""
    path = "/" if url.startswith("/ [") else url.split("?", 1)[0]
    try:
        return resolve(path).view_name in ROUTED_URL_NAMES
    except Resolver404:
        return False


def replica_named(urls: str) -> list[str]:
    """host:port/database of each replica URL, without its credentials."""
    return [url.rsplit("@", 1)[-1] for url in urls.split(",") if url]


def database_servers() -> list[int]:
    """The postmaster of the primary and of each replica, when they run on this machine."""
    found = []
    for alias in connections:
        pid = postmaster_pid(connections[alias])
        if pid is not None and pid not in found:
            found.append(pid)
    return found


def _loads(loads) -> str:
    return " / ".join(f"{x:.2f}" for x in loads)


def percentile(samples: list[float], q: float) -> float:
    if len(samples) == 1:
        return samples[0]
    return statistics.quantiles(samples, n=100, method="inclusive")[int(q) - 1]


class Stats:
    def __init__(self):
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.error_examples: list[str] = []
        self.from_replica: dict[str, int] = defaultdict(int)
        self.recording = False

    def add(self, name: str, ms: float, ok: bool, detail: str = "", *, from_replica: bool = False) -> None:
        if not self.recording:
            return
        self.samples[name].append(ms)
        if from_replica:
            self.from_replica[name] += 1
        if not ok:
            self.errors[name] += 1
            if len(self.error_examples) < 20:
                self.error_examples.append(f"{name}: {detail}")


class VirtualUser:
    def __init__(self, base: str, role: str, username: str, password: str, stats: Stats, think: tuple[float, float]):
        self.role = role
        self.base, self.username, self.password, self.stats, self.think = base, username, password, stats, think
        self.cookies: dict[str, str] = {}
        self.urls: list[str] = []
        self.client: aiohttp.ClientSession | None = None

    async def open(self) -> None:
        """The user's HTTP client: aiohttp, the lighter of the asyncio clients (the load
        generator shares the machine's cores with the server it measures; its own CPU
        seconds are printed as `client_cpu_s`). Cookies are kept by hand (`_keep`): the
        portal sets them Secure, as behind its TLS proxy, and the client speaks plain HTTP
        on loopback."""
        self.client = aiohttp.ClientSession(
            base_url=self.base,
            timeout=aiohttp.ClientTimeout(total=30),
            cookie_jar=aiohttp.DummyCookieJar(),
            # the TLS proxy's header: the portal runs with secure cookies, as in production
            headers={"X-Forwarded-Proto": "https", "User-Agent": "bench-load"},
        )

    def _headers(self, **extra) -> dict:
        cookie = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        return {**({"Cookie": cookie} if cookie else {}), **extra}

    def _keep(self, response: aiohttp.ClientResponse) -> None:
        for header in response.headers.getall("set-cookie", []):
            name, _, rest = header.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]

    async def login(self) -> None:
        login = "/accounts/login/"
        async with self.client.get(login, headers=self._headers(), allow_redirects=False) as page:
            self._keep(page)
            text = await page.text()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', text).group(1)
        origin = self.base.replace("http://", "https://")
        async with self.client.post(
            login,
            data={"username": self.username, "password": self.password, "csrfmiddlewaretoken": token},
            headers=self._headers(Referer=origin + login, Origin=origin),
            allow_redirects=False,
        ) as response:
            self._keep(response)
            status, text = response.status, await response.text()
        if status != 302 or "sessionid" not in self.cookies:
            raise RuntimeError(f"login of {self.username} failed: {status} {text[:300]}")

    async def _get(self, url: str) -> tuple[int, str, bool]:
        """GET a page to its last byte: (status, Location, answered from a replica)."""
        async with self.client.get(url, headers=self._headers(), allow_redirects=False) as response:
            await response.read()
            # a response read from a replica carries X-Data-As-Of (ReplicaReadsMiddleware)
            return response.status, response.headers.get("location", ""), "x-data-as-of" in response.headers

    async def discover(self, role: str, stats: Stats) -> list[str]:
        """The pages and API lists this role may open (403/404 are left out: not its pages)."""
        urls = []
        for url in [*pages_of(role), *API_LISTS]:
            status, location, _ = await self._get(url)
            if status == 302 and location.startswith("/") and not location.startswith("/accounts/login"):
                url = location  # e.g. 我的企业 opens the user's own entity
                status, location, _ = await self._get(url)
            if status == 200:
                urls.append(url)
            elif status >= 500 or status in (301, 302):
                stats.errors[f"discover {url}"] += 1
                stats.error_examples.append(f"{role} {url}: {status}")
        return urls

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            url = random.choice(self.urls)
            started = time.perf_counter()
            try:
                status, location, from_replica = await self._get(url)
                ms = (time.perf_counter() - started) * 1000
                self.stats.add(self.name(url), ms, status == 200, f"{status} {location}", from_replica=from_replica)
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                self.stats.add(self.name(url), (time.perf_counter() - started) * 1000, False, repr(exc))
            await asyncio.sleep(random.uniform(*self.think))

    def name(self, url: str) -> str:
        return f"/ [{self.role}]" if url == "/" else url  # each role has its own home page

    async def close(self) -> None:
        await self.client.close()


class Probe(VirtualUser):
    """A signed-out user opening only /healthz: the floor of a request under the same load."""

    def name(self, url: str) -> str:
        return FLOOR


async def load(
    base: str,
    users: int,
    duration: float,
    think: tuple[float, float],
    probes: int,
    *,
    server: int,
    databases: list[int],
) -> tuple[Stats, dict, float, dict]:
    stats = Stats()
    roles = list(DEMO_ACCOUNTS)
    vus = [
        VirtualUser(
            base,
            str(roles[i % len(roles)]),
            DEMO_ACCOUNTS[roles[i % len(roles)]],
            settings.PORTAL_DEMO_PASSWORD,
            stats,
            think,
        )
        for i in range(users)
    ]
    log(f"signing in {users} users ({len(roles)} roles)")
    t0 = time.monotonic()
    for vu in vus:
        await vu.open()
    for i in range(0, users, 5):  # five at a time: each login hashes a password (PBKDF2)
        await asyncio.gather(*(vu.login() for vu in vus[i : i + 5]))
    log(f"signed in after {time.monotonic() - t0:.1f}s; discovering each role's pages")
    per_role = {}
    for i, role in enumerate(roles[:users]):
        per_role[role] = await vus[i].discover(role, stats)
    for i, vu in enumerate(vus):
        vu.urls = per_role[roles[i % len(roles)]]
    for _ in range(probes):
        probe = Probe(base, "floor", "", "", stats, think)
        probe.urls = ["/healthz"]
        await probe.open()
        vus.append(probe)
    log(f"{sum(len(v) for v in per_role.values())} role×page pairs; {duration:.0f}s of load")
    stats.recording = True
    started = time.monotonic()
    # CPU seconds over the recorded window only (sign-ins hash passwords): the web processes',
    # this load generator's and the whole machine's — how much of the cores the pages took,
    # whatever the queueing did to their latency
    server_before, machine_before, client_before = cpu_seconds(process_tree(server)), machine_cpu(), time.process_time()
    databases_before = cpu_seconds([pid for root in databases for pid in process_tree(root)])
    until = started + duration

    # users start spread over the first think interval, as people do
    async def staggered(vu):
        await asyncio.sleep(random.uniform(0, think[1]))
        await vu.run(until)

    await asyncio.gather(*(staggered(vu) for vu in vus))
    elapsed = time.monotonic() - started
    stats.recording = False
    server_after, machine_after = cpu_seconds(process_tree(server)), machine_cpu()
    databases_after = cpu_seconds([pid for root in databases for pid in process_tree(root)])
    cpu = {
        "client": time.process_time() - client_before,
        "server": sum(used - server_before.get(pid, 0.0) for pid, used in server_after.items()),
        # backends that ended during the window are not counted: a lower bound
        "databases": sum(used - databases_before.get(pid, 0.0) for pid, used in databases_after.items()),
        "database_servers": len(databases),
        "machine_busy": (machine_after[0] - machine_before[0]) / max(machine_after[1] - machine_before[1], 1e-9),
    }
    await asyncio.gather(*(vu.close() for vu in vus))
    return stats, {str(role): urls for role, urls in per_role.items()}, elapsed, cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=120)
    # default: deploy/gunicorn.conf.py's (a worker per core, WEB_CONCURRENCY), as docker-compose's web
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--think", default="1,3", help="min,max seconds between a user's requests")
    parser.add_argument("--probes", type=int, default=2, help="users opening /healthz only (the floor)")
    parser.add_argument("--no-demo", action="store_true")
    parser.add_argument("--no-replica", action="store_true", help="gunicorn without DATABASE_REPLICA_URLS")
    parser.add_argument(
        "--entities", type=int, default=None, help=argparse.SUPPRESS
    )  # accepted from `make bench ENTITIES=`
    args = parser.parse_args()
    think = tuple(float(x) for x in args.think.split(","))
    random.seed(20261122)
    load_at_start = os.getloadavg()  # before this script adds any load of its own: what others are running
    figures = Figures("load")

    env = {**os.environ, "DEBUG": "False", "SECURE_SSL_REDIRECT": "False", "CONN_MAX_AGE": "60"}
    if args.no_replica:
        env.pop("DATABASE_REPLICA_URLS", None)
    replicas = replica_named(env.get("DATABASE_REPLICA_URLS", ""))
    log(f"read replicas: {', '.join(replicas) or 'none (every read from the primary)'}")
    broker = env.get("CELERY_BROKER_URL", "")
    if broker.startswith("redis://") and "CACHE_URL" not in env:
        env["CACHE_URL"] = broker.rsplit("/", 1)[0] + "/2"  # rate limits and report figures in Redis, as in production
    if not args.no_demo:
        log("loading demo data (load_demo)")
        manage("load_demo", env=env)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    (ROOT / "var").mkdir(exist_ok=True)
    gunicorn_log = (ROOT / "var" / "bench-load-gunicorn.log").open("wb")
    # the configuration's count (a worker per core, or WEB_CONCURRENCY) unless --workers is given
    workers = args.workers or runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["workers"]
    log(f"gunicorn with {workers} workers on {base}")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "deploy/gunicorn.conf.py",  # as docker-compose's web: its workers, the objects frozen
            "portal.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            *(["--workers", str(args.workers)] if args.workers else []),
            "--timeout",
            "60",
            "--graceful-timeout",
            "10",
        ],
        cwd=ROOT,
        env=env,
        stdout=gunicorn_log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/healthz", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:  # refused while gunicorn starts (URLError is an OSError)
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not start; see var/bench-load-gunicorn.log")
            time.sleep(0.3)
        loads_before = os.getloadavg()
        log(f"load average before the load (1/5/15 min): {_loads(loads_before)}")
        stats, per_role, elapsed, cpu = asyncio.run(
            # Django's database calls may not run inside the event loop: the servers are found first
            load(base, args.users, args.duration, think, args.probes, server=server.pid, databases=database_servers())
        )
        client_cpu, server_cpu, machine_busy = cpu["client"], cpu["server"], cpu["machine_busy"]
        database_cpu = cpu["databases"]
        loads_after = os.getloadavg()
        log(f"load average after the load (1/5/15 min): {_loads(loads_after)}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(10)
        gunicorn_log.close()

    floor = stats.samples.pop(FLOOR, [])
    floor_errors = stats.errors.pop(FLOOR, 0)
    assert floor and not floor_errors, f"the /healthz probes: {len(floor)} samples, {floor_errors} errors"
    floor_p50, floor_p95 = percentile(floor, 50), percentile(floor, 95)
    pages = {}
    print(
        f"{'page':<40} {'n':>6} {'p50 ms':>8} {'p95 ms':>8} {'/floor':>7} {'errors':>7} {'replica':>8}", file=sys.stderr
    )
    for url in sorted(stats.samples):
        samples = stats.samples[url]
        pages[url] = {
            "n": len(samples),
            "p50_ms": round(percentile(samples, 50), 1),
            "p95_ms": round(percentile(samples, 95), 1),
            "p95_ratio": round(percentile(samples, 95) / floor_p95, 1),
            "errors": stats.errors.get(url, 0),
            "routed": routed(url),
            "from_replica": stats.from_replica.get(url, 0),
        }
        row = pages[url]
        print(
            f"{url:<40} {row['n']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p95_ratio']:>7} {row['errors']:>7}"
            f" {row['from_replica']:>8}",
            file=sys.stderr,
        )
    print(
        f"{FLOOR:<40} {len(floor):>6} {round(floor_p50, 1):>8} {round(floor_p95, 1):>8} {1.0:>7} {floor_errors:>7}"
        f" {0:>8}",
        file=sys.stderr,
    )
    all_samples = [ms for samples in stats.samples.values() for ms in samples]
    errors = sum(stats.errors.values())
    for example in stats.error_examples:
        log(f"error: {example}")
    log(
        f"load average (1/5/15 min): at start {_loads(load_at_start)}; before the load {_loads(loads_before)}; "
        f"after {_loads(loads_after)} — on {os.cpu_count()} CPUs"
    )
    worst = max(pages.items(), key=lambda item: item[1]["p95_ms"])
    routed_n = sum(p["n"] for p in pages.values() if p["routed"])
    from_replica = sum(p["from_replica"] for p in pages.values())
    log(
        f"answered from a replica: {from_replica} of {routed_n} requests to routed pages"
        f" ({', '.join(replicas) or 'no replica configured'})"
    )
    log(
        f"CPU over the load: web (gunicorn) {server_cpu:.1f} s ="
        f" {server_cpu * 1000 / (len(all_samples) + len(floor)):.1f} ms per request (the /healthz probes' included);"
        f" PostgreSQL ({cpu['database_servers']} servers) {database_cpu:.1f} s;"
        f" load generator {client_cpu:.1f} s; all {os.cpu_count()} cores busy {machine_busy:.0%}"
    )
    # the figures were taken over the whole load: each carries the load average at its end
    figures.note(
        users=args.users,
        probes=args.probes,
        roles=len(per_role),
        duration_s=round(elapsed, 1),
        gunicorn_workers=workers,
        think_s=list(think),
        requests=len(all_samples),
        rps=round(len(all_samples) / elapsed, 1) if elapsed else 0,
        errors=errors,
        target_p95_ms=TARGET_P95_MS,
        # context: this machine's load average before/after (other work skews the figures) and
        # the CPU seconds the load generator itself used
        loadavg_1_5_15={
            "start": [round(x, 2) for x in load_at_start],
            "before": [round(x, 2) for x in loads_before],
            "after": [round(x, 2) for x in loads_after],
        },
        client_cpu_s=round(client_cpu, 1),
        # over the recorded window: gunicorn's processes' CPU seconds, and per request served
        server_cpu_s=round(server_cpu, 1),
        server_cpu_ms_per_request=round(server_cpu * 1000 / (len(all_samples) + len(floor)), 1),
        # the PostgreSQL servers on this machine (primary, replicas): their processes' CPU seconds
        database_cpu_s=round(database_cpu, 1),
        database_servers=cpu["database_servers"],
        # the share of all cores busy over the load (1.0: saturated; p95 is then mostly queueing)
        machine_busy_share=round(machine_busy, 2),
        target_met=errors == 0 and all(p["p95_ms"] <= TARGET_P95_MS for p in pages.values()),
        # which database served: a replica configured for gunicorn, and the requests it answered
        replica_configured=bool(replicas),
        replicas=replicas,
        routed_requests=sum(p["n"] for p in pages.values() if p["routed"]),
        requests_from_replica=from_replica,
        pages=pages,
    )
    floor_is = "GET /healthz by signed-out probes under the same load"
    figures.add("p50_ms", percentile(all_samples, 50), "ms", floor=floor_p50, floor_is=floor_is)
    figures.add("p95_ms", percentile(all_samples, 95), "ms", floor=floor_p95, floor_is=floor_is)
    figures.add("worst_page_p95_ms", worst[1]["p95_ms"], "ms", floor=floor_p95, floor_is=floor_is, page=worst[0])
    figures.emit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
