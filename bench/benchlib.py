"""What every benchmark shares: how a figure is measured, its floor, and how it is printed.

- A figure is measured on the benchmark's own monotonic clock (``time.perf_counter``), from
  the call that starts the work until the benchmark itself observes the committed result
  (it returns after the commit, or the benchmark polls the database from its own connection
  until the rows are visible); never from timestamps the code under test stamps.
- Beside its main figure each benchmark measures, in the same run on the same database, the
  *floor* of that step: the least the machine can do for the same result (a COPY of the same
  rows into an unindexed table, one plain ``INSERT … SELECT`` of the compiled rules, the bare
  indexed query of a list page, …). The ratio figure / floor compares across machines and
  loads, where the figure alone does not.
- Every figure is printed with the 1-minute load average at the moment it was taken
  (``os.getloadavg``): the machine is shared, and a figure taken under load is not one taken
  on an idle machine.
- Every run names the Python it ran on (``python``: version and installation): the web's and
  the engine's CPU per request depend on how CPython was built. Production's image
  (python:3.11-slim) and Debian's python3.11 are optimised builds (profile-guided, link-time);
  a CPython compiled without those options (pyenv's default) ran a pure-Python loop a fifth
  slower here and the portal's page mix about a tenth slower (docs/SCALING.md section 4). A
  fresh clone's venv takes ``python3`` from PATH.

Imported by the ``bench_*.py`` scripts after ``django.setup()``; they run from this folder
(it is their ``sys.path[0]``). Nothing here imports the portal's tests.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable, Sequence

from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg2.extensions import adapt


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def load_average() -> float:
    """The 1-minute load average now."""
    return round(os.getloadavg()[0], 2)


def p50(values: Sequence[float]) -> float:
    return statistics.median(values)


def p95(values: Sequence[float]) -> float:
    return statistics.quantiles(values, n=20)[18] if len(values) >= 20 else max(values)


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    """(seconds on this process's monotonic clock, fn's result)."""
    began = time.perf_counter()
    result = fn()
    return time.perf_counter() - began, result


def wait_for(predicate: Callable[[], object], *, timeout: float, interval: float = 0.002):
    """Poll ``predicate`` (a query from this process's own connection) until it returns
    something truthy; that value. Raises after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing observed within {timeout} s")
        time.sleep(interval)


# --- generating rows set-based -----------------------------------------------------------------


def literal(value) -> str:
    """A value as an SQL literal (dicts and lists as jsonb)."""
    if isinstance(value, (dict, list)):
        return adapt(json.dumps(value)).getquoted().decode() + "::jsonb"
    return adapt(value).getquoted().decode()


def insert_select(model, columns: dict[str, str], source: str) -> int:
    """INSERT INTO model's table the given column expressions FROM ``source``; the other NOT
    NULL columns get the field's default (now() for auto timestamps), so a generator keeps
    working when an app adds a column with a default. Returns the rows inserted."""
    values = dict(columns)
    for f in model._meta.concrete_fields:
        if f.column in values or f.null or f.primary_key:
            continue
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            values[f.column] = "now()"
        elif f.has_default():
            values[f.column] = literal(f.get_default())
        else:
            raise RuntimeError(f"{model.__name__}.{f.name}: NOT NULL without default, give it in the generator")
    sql = f"INSERT INTO {model._meta.db_table} ({', '.join(values)}) SELECT {', '.join(values.values())} FROM {source}"
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.rowcount


# --- floors ----------------------------------------------------------------------------------


def captured(fn: Callable[[], object], connection) -> tuple[object, list[str]]:
    """(fn's result, the SQL of the statements it ran on ``connection``, parameters bound)."""
    with CaptureQueriesContext(connection) as context:
        result = fn()
    return result, [query["sql"] for query in context.captured_queries]


class CollectorPauses:
    """Python's cyclic garbage collector's pauses (gc.callbacks), to tell a slow request from one
    that paid for a full collection of the process's objects: ``take()`` returns the pauses
    (ms) since the last call and the generation of each."""

    def __init__(self):
        self._began = 0.0
        self._pauses: list[tuple[int, float]] = []

    def _callback(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._began = time.perf_counter()
        else:
            self._pauses.append((info["generation"], (time.perf_counter() - self._began) * 1000))

    def __enter__(self) -> "CollectorPauses":
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *exc) -> None:
        gc.callbacks.remove(self._callback)

    def take(self) -> list[tuple[int, float]]:
        pauses, self._pauses = self._pauses, []
        return pauses


def main_query(statements: Sequence[str], table: str) -> str:
    """The list query among a page's statements: the first SELECT from ``table`` with a LIMIT."""
    for sql in statements:
        text = sql.lstrip().upper()
        if text.startswith("SELECT") and f'"{table.upper()}"' in text and " LIMIT " in text:
            return sql
    raise AssertionError(f"no list query on {table} among {len(statements)} statements")


def bare_seconds(sql: str | Sequence[str], connection) -> float:
    """Run already-bound SQL (one statement or several in order) through a plain cursor and
    fetch every row: the database's share of a page, without Django around it."""
    statements = [sql] if isinstance(sql, str) else list(sql)
    began = time.perf_counter()
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
            if cursor.description is not None:
                cursor.fetchall()
    return time.perf_counter() - began


# --- figures ---------------------------------------------------------------------------------


def python_build() -> str:
    """The interpreter the figures were measured on: its version and where it is installed (the
    venv's base: /usr for Debian's, /usr/local in the production image, ~/.pyenv/… for pyenv's)."""
    return f"{platform.python_version()} ({sys.base_prefix})"


class Figures:
    """The figures of one benchmark run, each with its unit, its floor (when measured), the
    ratio to it and the load average when it was taken. ``emit`` prints them as one JSON
    line, last, on stdout."""

    def __init__(self, benchmark: str, **context):
        self.benchmark = benchmark
        self.context = dict(context)
        self.figures: dict[str, dict] = {}
        self.load_at_start = [round(x, 2) for x in os.getloadavg()]
        log(f"[{benchmark}] load average at start (1/5/15 min): {self.load_at_start} on {os.cpu_count()} CPUs")
        log(f"[{benchmark}] python {python_build()}")

    def add(
        self,
        name: str,
        value: float,
        unit: str,
        *,
        floor: float | None = None,
        floor_is: str = "",
        digits: int = 1,
        **extra,
    ) -> dict:
        entry = {"value": round(value, digits), "unit": unit}
        if floor is not None:
            entry["floor"] = round(floor, max(digits, 3))
            entry["ratio"] = round(value / floor, 2) if floor > 0 else None
            entry["floor_is"] = floor_is
        entry["load"] = load_average()
        entry.update(extra)
        self.figures[name] = entry
        ratio = f", floor {entry['floor']} {unit}, ratio {entry['ratio']}" if floor is not None else ""
        log(f"[{self.benchmark}] {name}: {entry['value']} {unit}{ratio} (load {entry['load']})")
        return entry

    def note(self, **context) -> None:
        self.context.update(context)

    def emit(self) -> dict:
        line = {
            "benchmark": self.benchmark,
            **self.context,
            "figures": self.figures,
            "load_average": {"start": self.load_at_start, "end": [round(x, 2) for x in os.getloadavg()]},
            "cpus": os.cpu_count(),
            "python": python_build(),
        }
        print(json.dumps(line, ensure_ascii=False), flush=True)
        return line


# --- memory and disk -------------------------------------------------------------------------

MIB = 1024 * 1024


def proc_status(pid: int) -> dict[str, int] | None:
    """The memory lines of /proc/<pid>/status (VmHWM, VmRSS, RssAnon, RssShmem, …) in bytes;
    None when the process is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            lines = status.read().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return None
    found = {}
    for line in lines:
        key, _, value = line.partition(":")
        parts = value.split()
        if len(parts) == 2 and parts[1] == "kB":
            found[key] = int(parts[0]) * 1024
    return found


def process_tree(root: int) -> list[int]:
    """``root`` and every process descending from it (children read from /proc/*/stat)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as stat:
                # "pid (comm) state ppid …": comm may hold spaces and parentheses
                ppid = int(stat.read().rpartition(")")[2].split()[1])
        except (FileNotFoundError, ProcessLookupError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """CPU seconds (user + system) each process has used so far, from /proc/<pid>/stat."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rpartition(")")[2].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        used[pid] = (int(fields[11]) + int(fields[12])) / tick  # utime, stime (fields 14, 15)
    return used


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (/proc/stat; busy
    is everything but idle and iowait, steal included)."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    tick = os.sysconf("SC_CLK_TCK")
    idle = values[3] + values[4]
    total = sum(values[:8])
    return (total - idle) / tick, total / tick


def command_line(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            return cmdline.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def worker_pid() -> int:
    """The Celery worker's main process: the pid scripts/bench.sh wrote when it started the
    worker (PORTAL_WORKER_PIDFILE), checked to be a running ``celery … worker``."""
    path = os.environ.get("PORTAL_WORKER_PIDFILE", "")
    if not path:
        raise RuntimeError("PORTAL_WORKER_PIDFILE is not set: run the benchmark through `make bench-NAME`")
    with open(path) as pidfile:
        pid = int(pidfile.read().strip())
    if " worker" not in command_line(pid) or "celery" not in command_line(pid):
        raise RuntimeError(f"pid {pid} of {path} is not a running Celery worker: {command_line(pid)!r}")
    return pid


def postmaster_pid(connection) -> int | None:
    """The PostgreSQL server's main process when it runs on this machine: the parent of this
    connection's backend (``pg_backend_pid()``), checked to be the postgres server of the
    connection's data directory; None for a server elsewhere."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid(), current_setting('data_directory', true)")
        backend, data_directory = cursor.fetchone()
    try:
        with open(f"/proc/{backend}/stat") as stat:
            parent = int(stat.read().rpartition(")")[2].split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    line = command_line(parent)
    if "postgres" not in line or (data_directory and data_directory not in line):
        return None
    return parent


class PeakMemory:
    """Peak memory of process trees (the Celery worker with its pool processes; the PostgreSQL
    server with its backends), sampled from /proc every ``interval`` seconds in a thread of
    this process while the benchmark runs. Per tree:

    * ``max_hwm``: the largest VmHWM (peak resident set) of one process of the tree;
    * ``sum_hwm``: the largest, over the samples, of the sum of VmHWM of the processes alive
      together — an upper bound of the tree's peak (each process's peak counted as if they
      coincided, and pages shared between them — copy-on-write after the fork, shared
      memory — counted once per process);
    * ``peak_anon_sum``: the largest sum of RssAnon (private and copy-on-write pages, not
      shared memory) over the samples;
    * ``processes``: how many processes of the tree were seen.

    A process that exits between two samples keeps the VmHWM of its last sample (a backend
    of a short connection may have peaked after it). For PostgreSQL every process's resident
    set counts the pages of shared memory (shared_buffers) it touched: the server's footprint
    is about shared_buffers + the sum of its processes' private memory (``peak_anon_sum``),
    not ``sum_hwm``."""

    def __init__(self, roots: dict[str, int], interval: float = 0.2):
        self.roots = dict(roots)
        self.interval = interval
        self.hwm: dict[str, dict[int, int]] = {name: {} for name in roots}
        self.sum_hwm = dict.fromkeys(roots, 0)
        self.peak_anon = dict.fromkeys(roots, 0)
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def sample(self) -> None:
        for name, root in self.roots.items():
            alive_hwm = anon = 0
            for pid in process_tree(root):
                status = proc_status(pid)
                if status is None or "VmHWM" not in status:
                    continue
                self.hwm[name][pid] = max(self.hwm[name].get(pid, 0), status["VmHWM"])
                alive_hwm += status["VmHWM"]
                anon += status.get("RssAnon", 0)
            self.sum_hwm[name] = max(self.sum_hwm[name], alive_hwm)
            self.peak_anon[name] = max(self.peak_anon[name], anon)
        self.samples += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def start(self) -> PeakMemory:
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()

    def peaks(self, name: str) -> dict:
        """The tree's figures in MiB (see the class)."""
        return {
            "max_hwm": max(self.hwm[name].values(), default=0) / MIB,
            "sum_hwm": self.sum_hwm[name] / MIB,
            "peak_anon_sum": self.peak_anon[name] / MIB,
            "processes": len(self.hwm[name]),
        }


def database_sizes(connection, groups: dict[str, str]) -> dict:
    """Disk used, in MiB: the database (``pg_database_size``) and, per group, the tables whose
    name is LIKE its pattern (top-level tables: a partitioned table counts every partition
    below it at any depth, ``pg_partition_tree``; a plain table counts itself), each ``pg_total_relation_size`` (heap,
    indexes, TOAST; a partitioned parent itself stores nothing), with their leaf partitions."""
    sizes = {}
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes["database"] = cursor.fetchone()[0] / MIB
        for group, pattern in groups.items():
            cursor.execute(
                "SELECT c.relname, sum(pg_total_relation_size(t.relid))::bigint, count(*) FILTER (WHERE t.isleaf)"
                # a partitioned table: every table of its tree; a plain table: itself
                " FROM pg_class c CROSS JOIN LATERAL ("
                "  SELECT relid, isleaf FROM pg_partition_tree(c.oid) WHERE c.relkind = 'p'"
                "  UNION ALL SELECT c.oid, true WHERE c.relkind = 'r') t"
                " WHERE c.relname LIKE %s AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
                " AND c.relnamespace = 'public'::regnamespace GROUP BY c.relname ORDER BY c.relname",
                [pattern],
            )
            tables = {name: {"mib": round(size / MIB, 1), "leaf_partitions": leaves} for name, size, leaves in cursor}
            sizes[group] = {"mib": sum(t["mib"] for t in tables.values()), "tables": tables}
    return sizes


def shared_buffers_mib(connection) -> float:
    """PostgreSQL's configured shared_buffers, in MiB."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT setting::bigint * pg_size_bytes(unit) FROM pg_settings WHERE name = 'shared_buffers'")
        return cursor.fetchone()[0] / MIB


def bench_processes(connection) -> dict[str, int]:
    """The process trees a benchmark with a worker watches: the Celery worker (its pidfile) and
    the PostgreSQL server (when it runs on this machine)."""
    roots = {"worker": worker_pid()}
    postmaster = postmaster_pid(connection)
    if postmaster is not None:
        roots["postgres"] = postmaster
    else:
        log("PostgreSQL runs elsewhere: its memory is not measured")
    return roots


def add_memory_figures(figures: Figures, memory: PeakMemory, connection, *, worker_target_mib: float) -> None:
    """The peak memory figures (MiB) of the worker and of PostgreSQL (PeakMemory says what each
    means). The worker's checked figure is ``worker_peak_sum_hwm_mib``, the upper bound."""
    worker = memory.peaks("worker")
    figures.add("worker_peak_max_hwm_mib", worker["max_hwm"], "MiB", processes=worker["processes"])
    figures.add(
        "worker_peak_sum_hwm_mib",
        worker["sum_hwm"],
        "MiB",
        target=worker_target_mib,
        processes=worker["processes"],
        peak_anon_sum_mib=round(worker["peak_anon_sum"], 1),
        means="sum of VmHWM of the worker's processes alive together: an upper bound of its peak",
    )
    if "postgres" in memory.roots:
        server = memory.peaks("postgres")
        shared = shared_buffers_mib(connection)
        figures.add("postgres_peak_max_hwm_mib", server["max_hwm"], "MiB", processes=server["processes"])
        figures.add(
            "postgres_peak_sum_hwm_mib",
            server["sum_hwm"],
            "MiB",
            processes=server["processes"],
            means="counts the shared_buffers pages each process touched once per process: not the footprint",
        )
        figures.add(
            "postgres_peak_private_plus_shared_buffers_mib",
            server["peak_anon_sum"] + shared,
            "MiB",
            shared_buffers_mib=round(shared, 1),
            peak_anon_sum_mib=round(server["peak_anon_sum"], 1),
            means="peak sum of the processes' RssAnon plus the configured shared_buffers: the server's footprint",
        )
    figures.note(memory_samples=memory.samples, memory_interval_s=memory.interval)


def add_disk_figures(figures: Figures, connection, groups: dict[str, str]) -> None:
    """Disk used (MiB): ``disk_database_mib`` and ``disk_<group>_mib`` per group of tables, each
    with its tables' sizes and leaf partitions (database_sizes)."""
    sizes = database_sizes(connection, groups)
    figures.add("disk_database_mib", sizes.pop("database"), "MiB")
    for group, size in sizes.items():
        figures.add(f"disk_{group}_mib", size["mib"], "MiB", tables=size["tables"])
