"""Benchmark: import 100,000 register rows from CSV on PostgreSQL, end to end.

Run by `make bench-import` (scripts/bench.sh: throwaway PostgreSQL, migrated). Generates a
register file of synthetic entities (not timed), then imports it:
* `import_rows_per_s`: RegisterImport.run() from the file's bytes to the commit — reading,
  validation of every cell, classification, upsert and history — as `import_entities` does
  it (2 validation processes; the parent writes each validated chunk while they validate the
  next; `phase_seconds` adds up the parent's waits for them and its writes);
* `import_peak_sum_hwm_mib`: the peak memory of the importing process (this one, which runs
  the import as the worker's task does, holding the file's bytes) and its validation
  processes: the largest sum of their VmHWM while the import runs (benchlib.PeakMemory; an
  upper bound), against issue 18's 1 GiB for 1,000,000 rows;
* `command_seconds`: the same file's re-import through `python manage.py import_entities`
  (a new process: Django start-up included), which must create and update nothing.
Floor, in the same run on the same database: the same file's rows COPYed (one `COPY … FROM
STDIN`, CSV, from the same bytes) into an unindexed table of text columns, committed. Both
import figures are printed as ratios to it. Prints, last, one JSON line of figures (benchlib).
"""

import argparse
import csv
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

import django  # noqa: E402

django.setup()

from benchlib import MIB, Figures, PeakMemory, log  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from entities.models import EntityImport, MarketEntity  # noqa: E402
from entities.register_file import HEADERS  # noqa: E402
from entities.register_import import RegisterImport  # noqa: E402
from entities.synthetic import Generator, register_cells  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--entities", type=int, default=None, help="(ignored; the import benchmark uses --rows)")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    assert connection.vendor == "postgresql", "the import benchmark runs on PostgreSQL"

    # fresh codes on every run: same seed, indices past earlier runs
    start = 10_000_000 + 1_000_000 * EntityImport.objects.count()
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    path = folder / "register.csv"
    began = time.perf_counter()
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in Generator(seed=1).entities(args.rows, start):
            writer.writerow(register_cells(row))
    generated = time.perf_counter() - began
    log(f"generated {args.rows} rows in {generated:.1f} s ({path.stat().st_size / 1e6:.1f} MB)")
    before = MarketEntity.objects.count()

    content = path.read_bytes()
    figures = Figures("import", rows=args.rows, workers=args.workers, entities_before=before, target_rows_per_s=20_000)
    copy_seconds = copy_floor(content)
    floor_is = "COPY of the same file's rows into an unindexed table of text columns"

    job = RegisterImport(content=content, file_name=path.name, workers=args.workers)
    memory = PeakMemory({"importer": os.getpid()}).start()
    began = time.perf_counter()
    summary = job.run()
    seconds = time.perf_counter() - began
    memory.stop()
    log(f"import: {summary['created']} created, {summary['rejected']} rejected in {seconds:.2f} s")
    assert MarketEntity.objects.count() == before + summary["created"]
    figures.add(
        "import_s",
        seconds,
        "s",
        floor=copy_seconds,
        floor_is=floor_is,
        digits=2,
        rows_per_s=round(args.rows / seconds),
        created=summary["created"],
        rejected=summary["rejected"],
        phase_seconds={name: round(value, 2) for name, value in job.timings.items()},
    )

    importer = memory.peaks("importer")
    figures.add(
        "import_peak_sum_hwm_mib",
        importer["sum_hwm"],
        "MiB",
        target=1024,
        processes=importer["processes"],
        largest_process_mib=round(importer["max_hwm"], 1),
        file_mib=round(len(content) / MIB, 1),
        means="sum of VmHWM of the importing process and its validation processes alive together: an upper bound",
    )

    began = time.perf_counter()
    again = subprocess.run(
        [sys.executable, "manage.py", "import_entities", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    command_seconds = time.perf_counter() - began
    repeat = json.loads(again.stdout)
    assert (repeat["created"], repeat["updated"]) == (0, 0), repeat
    figures.add(
        "reimport_command_s",
        command_seconds,
        "s",
        floor=copy_seconds,
        floor_is=floor_is,
        digits=2,
        rows_per_s=round(args.rows / command_seconds),
        created_updated=[repeat["created"], repeat["updated"]],
    )
    path.unlink()
    folder.rmdir()
    figures.emit()


def copy_floor(content: bytes) -> float:
    """Seconds to COPY the file's rows (same bytes) into an unindexed table, committed."""
    with connection.cursor() as cursor:
        columns = ", ".join(f'"c{i}" text' for i in range(len(HEADERS)))
        cursor.execute(f"CREATE TABLE bench_import_floor ({columns})")
    try:
        began = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.copy_expert("COPY bench_import_floor FROM STDIN WITH (FORMAT csv, HEADER true)", io.BytesIO(content))
        seconds = time.perf_counter() - began
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM bench_import_floor")
            copied = cursor.fetchone()[0]
        log(f"floor: COPY of {copied} rows in {seconds:.2f} s")
        return seconds
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE bench_import_floor")


if __name__ == "__main__":
    main()
