"""Benchmark: import 100,000 register rows from CSV on PostgreSQL, end to end.

Run by `make bench-import` (scripts/bench.sh: throwaway PostgreSQL, migrated). Generates a
register file of synthetic entities (not timed), then imports it:
* `import_rows_per_s`: RegisterImport.run() from the file's bytes to the commit — reading,
  validation of every cell, classification, upsert and history — as `import_entities` does
  it (2 validation processes; the parent writes each validated chunk while they validate the
  next; `phase_seconds` adds up the parent's waits for them and its writes);
* `command_seconds`: the same file's re-import through `python manage.py import_entities`
  (a new process: Django start-up included), which must create and update nothing.
Prints, last, one JSON line of figures.
"""
import argparse
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

from django.db import connection  # noqa: E402

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
    import csv

    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for row in Generator(seed=1).entities(args.rows, start):
            writer.writerow(register_cells(row))
    generated = time.perf_counter() - began
    print(f"generated {args.rows} rows in {generated:.1f} s ({path.stat().st_size / 1e6:.1f} MB)", file=sys.stderr)
    before = MarketEntity.objects.count()

    content = path.read_bytes()
    job = RegisterImport(content=content, file_name=path.name, workers=args.workers)
    load_before = os.getloadavg()[0]
    began = time.perf_counter()
    summary = job.run()
    seconds = time.perf_counter() - began
    print(f"import: {summary['created']} created, {summary['rejected']} rejected in {seconds:.2f} s", file=sys.stderr)

    began = time.perf_counter()
    again = subprocess.run([sys.executable, "manage.py", "import_entities", str(path)], cwd=ROOT, capture_output=True, text=True, check=True)
    command_seconds = time.perf_counter() - began
    repeat = json.loads(again.stdout)

    figures = {
        "benchmark": "import",
        "rows": args.rows,
        "created": summary["created"],
        "rejected": summary["rejected"],
        "import_seconds": round(seconds, 2),
        "import_rows_per_s": round(args.rows / seconds),
        "target_rows_per_s": 20_000,
        "reimport_command_seconds": round(command_seconds, 2),
        "reimport_command_rows_per_s": round(args.rows / command_seconds),
        "reimport_created_updated": [repeat["created"], repeat["updated"]],
        "entities_before": before,
        "workers": args.workers,
        "phase_seconds": {name: round(value, 2) for name, value in job.timings.items()},
        "load_average_before": round(load_before, 2),
    }
    path.unlink()
    folder.rmdir()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
