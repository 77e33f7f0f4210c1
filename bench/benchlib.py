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

Imported by the ``bench_*.py`` scripts after ``django.setup()``; they run from this folder
(it is their ``sys.path[0]``). Nothing here imports the portal's tests.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
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
        }
        print(json.dumps(line, ensure_ascii=False), flush=True)
        return line
