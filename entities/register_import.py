"""Import of the regulator's register (名录库): upsert by uscc, set-based.

Phases: read the file and validate every cell (entities.register_file) and derive the
classification of each good row as if it were new — in parallel worker processes for a
large file run from the command line; read the existing rows of the file's codes (locked)
and merge them, which decides created / updated / unchanged and the history rows; write in
one transaction. On PostgreSQL the rows are COPied into a temporary table and upserted with
one INSERT … ON CONFLICT (uscc) DO UPDATE … WHERE the row differs, whose RETURNING gives
the counts; elsewhere (SQLite, `make run`) the ORM's bulk operations do the same, slower.

Good rows in, bad rows out: every row is judged on its own; the good rows are imported and
each bad row is rejected and reported (line, column, Chinese reason) in the import's error
report, so one bad row never holds up a county's file. Only a file that cannot be read, or
whose header is wrong, imports nothing (RegisterFileError).

Tenancy: an import has a region (EntityImport.region_prefix, fixed when it is submitted from
the importer's scope by entities.restrictions.write_region_prefix — the same rule that
creating and moving an entity use; "" = anywhere, for a platform administrator or the
`import_entities` command without --region). A row is written only when its county lies in
that region and its code is unknown or names an entity registered in that region: the known
codes are read through the region filter (the CHANGE restriction's range), and a code
registered outside it is rejected with the same message as a row whose county lies outside
(OUT_OF_SCOPE_ROW), never updated, so a county can neither overwrite another region's entity
nor read from the report whether a code exists elsewhere.

Merge rules (an empty cell means "unknown", never zero):
* 统一社会信用代码, 名称, 主体类型, 登记状态, 行政区划代码 are required and always taken;
* 分型 and 名特优新 (+ 有效期至) are list memberships: empty means "not on the list", so a
  business that dropped off the 名特优新 list loses the honour. They are the regulator's marks
  (issue 15): taken from the provincial list only — an import by a provincial regulator, a
  platform administrator or the command; a city regulator's file sets 三型 marks, not 名特优新;
  a county's file sets neither (restrictions.import_mark_rights). Columns not taken keep what
  is known, and the import's message says so. A mark the file sets or changes records the
  import as its source (`tier_mark_source`, `tier_marked_on`); an unchanged one keeps its own;
* 烟草专卖零售许可证 (号, 有效期自, 有效期至) is one fact: a number (or 无, "holds none")
  replaces all three, an empty number keeps what is known;
* every other cell, when empty, keeps what the portal already knows;
* financial cells belong to `financial_year` (default: the previous calendar year). For the
  same year an empty cell keeps the known value; a newer year replaces the latest-year
  columns (empty = unknown for that year); an older year only adds its history row.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import multiprocessing
import pickle
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from django.db import IntegrityError, connection, connections, transaction
from django.utils import timezone

from entities import derive
from entities.changes import entities_changed
from entities.models import (
    FINANCIAL_FIELDS,
    ChangeSource,
    CreditFlagRecord,
    EntityChange,
    EntityImport,
    FinancialYear,
    Honor,
    ImportStatus,
    MarketEntity,
    TierPolicy,
)
from entities.register_file import (
    HEADERS,
    MAX_ROWS,
    OUT_OF_SCOPE_ROW,
    CellError,
    Context,
    RegisterFileError,
    check_header,
    duplicate_message,
    parse_lines,
    plain_csv_lines,
    read_table,
    validate_rows,
)
from entities.restrictions import import_mark_rights, region_range, region_range_q
from portal.models import Industry, Region, RegionLevel
from portal.services import audit_record
from portal.tenancy import scope_for

ALWAYS = (
    "uscc",
    "name",
    "entity_type",
    "register_status",
    "region_id",
    "tier_imported",
    "honors_imported",
    "honors_imported_valid_until",
)
KEEP_WHEN_EMPTY = (
    "established_on",
    "industry_id",
    "fixed_premises",
    "operator_id_number",
    "operator_birth_date",
    "dishonest_debtor",
    "overdue_consecutive_24m",
    "overdue_total_24m",
    "operating_region_code",
    "operator_realisable_net_assets",
)
KEEP_WHEN_BLANK = ("operator_name", "operator_phone")
# 烟草专卖零售许可证: replaced together when the row states it (held not None), else kept
TOBACCO_LICENCE = (
    "tobacco_licence_held",
    "tobacco_licence_number",
    "tobacco_licence_valid_from",
    "tobacco_licence_valid_until",
)
IMPORT_CREDIT_FLAGS = ("dishonest_debtor", "overdue_consecutive_24m", "overdue_total_24m")
DERIVED = ("tier_computed", "tier", "size_class")
# where the 三型 mark came from and since when: the import for a mark it sets, else kept
MARK = ("tier_mark_source", "tier_marked_on")
# every column the import writes (attnames), in one fixed order; rows travel as tuples in it
COLUMNS = (
    ALWAYS
    + KEEP_WHEN_EMPTY
    + KEEP_WHEN_BLANK
    + TOBACCO_LICENCE
    + ("financial_year",)
    + FINANCIAL_FIELDS
    + DERIVED
    + MARK
)
_FIELDS = {f.attname: f for f in MarketEntity._meta.concrete_fields}
DB_COLUMNS = tuple(_FIELDS[name].column for name in COLUMNS)
POSITION = {name: i for i, name in enumerate(COLUMNS)}
FREE_TEXT = (POSITION["name"], POSITION["operator_name"], POSITION["tier_mark_source"])
_FINANCIAL_SLICE = slice(POSITION["financial_year"] + 1, POSITION["financial_year"] + 1 + len(FINANCIAL_FIELDS))
_FINANCIAL_TEXT = slice(
    POSITION["financial_year"], POSITION["financial_year"] + 1 + len(FINANCIAL_FIELDS)
)  # year + fields
_COLUMN_ORDER = {h: i for i, h in enumerate(HEADERS)}

PARALLEL_MIN_ROWS = 20_000
CHUNK_ROWS = 5_000  # rows per worker job; in the pipeline the parent writes as soon as the first is ready


def default_financial_year(today: dt.date) -> int:
    return today.year - 1


# --- preparing rows (pure: runs in worker processes) -------------------------------------


@dataclass
class Prepared:
    rows: int = 0
    # (line, values in COLUMNS order, the same as a COPY text line, its financial-year part
    # "year\tannual_revenue\t…" or None); the text is formatted here, in the worker processes
    valid: list[tuple[int, tuple, str, str | None]] = field(default_factory=list)
    errors: list[CellError] = field(default_factory=list)
    rejected_lines: set[int] = field(default_factory=set)
    rejected_codes: list[tuple[int, str]] = field(default_factory=list)
    # good rows whose 分型 / 名特优新 cells were not taken (the importer may not set them)
    ignored_marks: int = 0
    ignored_honors: int = 0


def prepare_rows(rows: list[tuple[int, list[str]]], ctx: Context, year: int, policies: list) -> Prepared:
    """Validate rows and derive each good row's columns as if it were new."""
    checked = validate_rows(iter(rows), ctx, check_duplicates=False)
    policy_by_region: dict[str, Any] = {}
    classify = derive.classification_columns
    escapes = _ESCAPES
    valid = []
    ignored_marks = ignored_honors = 0
    for row in checked.valid:
        line = row.pop("_line")
        if not ctx.takes_tier_marks and row["tier_imported"] is not None:
            ignored_marks += 1
            row["tier_imported"] = None
        if not ctx.takes_honors and row["honors_imported"]:
            ignored_honors += 1
            row["honors_imported"], row["honors_imported_valid_until"] = "", None
        marked = row["tier_imported"] is not None
        row["tier_mark_source"], row["tier_marked_on"] = (ctx.mark_source, ctx.today) if marked else ("", None)
        stated = False
        for name in FINANCIAL_FIELDS:
            if row[name] is not None:
                stated = True
                break
        row["financial_year"] = year if stated else None
        region = row["region_id"]
        policy = policy_by_region.get(region)
        if policy is None:
            policy = policy_by_region[region] = derive.policy_for(policies, region, ctx.today)
        row.update(classify(row, policy))
        values = tuple([row[c] for c in COLUMNS])
        parts = ["\\N" if v is None else v if v.__class__ is str else str(v) for v in values]
        for i in FREE_TEXT:  # the other strings are validated codes and enum values
            parts[i] = values[i].translate(escapes)
        valid.append((line, values, "\t".join(parts), "\t".join(parts[_FINANCIAL_TEXT]) if stated else None))
    return Prepared(
        checked.rows,
        valid,
        checked.errors,
        checked.rejected_lines,
        checked.rejected_codes,
        ignored_marks,
        ignored_honors,
    )


# rows of the file being imported, inherited by forked workers instead of being pickled
_ROWS: list = []
_LINES: list = []


def _prepare_slice(args) -> bytes:
    start, stop, ctx, year, policies = args
    return _dumps(prepare_rows(_ROWS[start:stop], ctx, year, policies))


def _prepare_line_slice(args) -> bytes:
    start, stop, ctx, year, policies = args
    return _dumps(prepare_rows(parse_lines(_LINES[start:stop], start + 1), ctx, year, policies))


def _dumps(result: Prepared) -> bytes:
    """A worker's result pickled without the memo (nothing in it is recursive; a shared string is
    just written again): twice as fast as the pool's own pickling, which then only copies bytes."""
    buffer = io.BytesIO()
    pickler = pickle.Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL)
    pickler.fast = True
    pickler.dump(result)
    return buffer.getvalue()


def _merge(row: tuple, old: dict, year: int, *, takes_tier_marks: bool = True, takes_honors: bool = True) -> dict:
    """The entity's columns after importing `row` (file values) over `old` (known values)."""
    new = {c: row[POSITION[c]] for c in ALWAYS}
    if not takes_tier_marks:
        new["tier_imported"] = old["tier_imported"]
    if not takes_honors:
        new["honors_imported"] = old["honors_imported"]
        new["honors_imported_valid_until"] = old["honors_imported_valid_until"]
    if new["tier_imported"] == old["tier_imported"]:  # an unchanged mark keeps its own source and date
        new.update({c: old[c] for c in MARK})
    else:
        new.update({c: row[POSITION[c]] for c in MARK})
        if new["tier_imported"] is None:
            new["tier_mark_source"], new["tier_marked_on"] = "", None
    for c in KEEP_WHEN_EMPTY:
        value = row[POSITION[c]]
        new[c] = old[c] if value is None else value
    for c in KEEP_WHEN_BLANK:
        new[c] = row[POSITION[c]] or old[c]
    licence_source = old if row[POSITION["tobacco_licence_held"]] is None else None
    for c in TOBACCO_LICENCE:
        new[c] = old[c] if licence_source is not None else row[POSITION[c]]
    stated = row[_FINANCIAL_SLICE]
    known_year = old["financial_year"]
    if any(v is not None for v in stated) and known_year == year:
        new["financial_year"] = year
        for c, value in zip(FINANCIAL_FIELDS, stated):
            new[c] = old[c] if value is None else value
    elif any(v is not None for v in stated) and (known_year is None or known_year < year):
        new["financial_year"] = year
        new.update(zip(FINANCIAL_FIELDS, stated))
    else:
        new["financial_year"] = known_year
        for c in FINANCIAL_FIELDS:
            new[c] = old[c]
    return new


class RegisterImport:
    def __init__(
        self,
        *,
        content: bytes,
        file_name: str,
        actor=None,
        region_prefix: str = "",
        entity_import: EntityImport | None = None,
        financial_year: int | None = None,
        today: dt.date | None = None,
        workers: int = 1,
    ):
        self.content = content
        self.file_name = file_name
        self.actor = actor
        self.region_prefix = region_prefix
        self.entity_import = entity_import
        self.today = today or timezone.localdate()
        self.financial_year = financial_year or default_financial_year(self.today)
        self.source_label = f"名录库导入: {file_name}"[:128]
        self.takes_tier_marks, self.takes_honors = import_mark_rights(scope_for(actor))
        self.workers = workers
        self.timings: dict[str, float] = {}  # seconds per phase, for the benchmark

    # -- orchestration ---------------------------------------------------------------

    def run(self) -> dict:
        """Import the file; returns the summary. Raises RegisterFileError (nothing imported)
        when the file cannot be read or its header is wrong.

        A large file run with worker processes on PostgreSQL is validated and written as a
        pipeline: the parent writes each chunk (in file order, all in one transaction) while
        the workers validate the next ones, so PostgreSQL's work overlaps theirs. Otherwise
        every row is validated first (progress reported as it goes), then written."""
        if self.entity_import is None:
            self.entity_import = EntityImport.objects.create(
                uploaded_by=self.actor,
                file_name=self.file_name[:255],
                content=b"",
                region_prefix=self.region_prefix,
                status=ImportStatus.RUNNING,
                started_at=timezone.now(),
            )
        started = time.perf_counter()
        try:
            chunks, total = self._start()
        except RegisterFileError as exc:
            self._finish(status=ImportStatus.FAILED, message=str(exc))
            raise
        self.timings["read_validate_classify"] = time.perf_counter() - started
        try:
            summary = self._write(chunks, total)
        except Exception:
            self._finish(
                status=ImportStatus.FAILED, message="导入失败(系统错误), 未导入任何数据, 请稍后重试或联系管理员"
            )
            raise
        finally:
            if isinstance(chunks, _Pool):
                chunks.close()
        self._finish(status=ImportStatus.SUCCEEDED, message=summary.get("message", ""), summary=summary)
        return summary

    def _start(self) -> tuple[Any, int]:
        """(the validated chunks in file order — a list, or a _Pool still validating — and the
        number of rows); raises RegisterFileError when the file cannot be imported at all."""
        lines = plain_csv_lines(self.content) if self.workers > 1 else None
        if lines is not None and len(lines) > PARALLEL_MIN_ROWS:
            check_header(parse_lines(lines[:1], 1)[0][1] if lines[0].strip() else [])
            total = len(lines) - 1
            if total > MAX_ROWS:
                raise RegisterFileError(f"文件行数超过上限 {MAX_ROWS} 行, 请拆分后导入")
            bounds = [(i, min(i + CHUNK_ROWS, len(lines))) for i in range(1, len(lines), CHUNK_ROWS)]
            return self._parallel(_prepare_line_slice, "_LINES", lines, bounds, total), total
        rows = read_table(self.content)
        header = next(rows, None)
        if header is None:
            raise RegisterFileError("无法读取文件: 文件没有表头")
        check_header(header[1])
        rows = [r for r in rows if any(r[1])]
        if len(rows) > MAX_ROWS:
            raise RegisterFileError(f"文件行数超过上限 {MAX_ROWS} 行, 请拆分后导入")
        bounds = [(i, min(i + CHUNK_ROWS, len(rows))) for i in range(0, len(rows), CHUNK_ROWS)] or [(0, 0)]
        if self.workers > 1 and len(rows) >= PARALLEL_MIN_ROWS:
            return self._parallel(_prepare_slice, "_ROWS", rows, bounds, len(rows)), len(rows)
        self._progress(0, len(rows))
        ctx, policies = self._context(), self._policies()
        results, done = [], 0
        for start, stop in bounds:
            results.append(prepare_rows(rows[start:stop], ctx, self.financial_year, policies))
            done += results[-1].rows
            self._progress(done, len(rows))
        return results, len(rows)

    def _parallel(self, function, name: str, items: list, bounds: list[tuple[int, int]], total: int) -> _Pool:
        self._progress(0, total)
        ctx, policies = self._context(), self._policies()
        jobs = [(start, stop, ctx, self.financial_year, policies) for start, stop in bounds]
        globals()[name] = items  # inherited by the forked workers instead of being pickled
        try:
            return _Pool(function, jobs, self.workers)
        finally:
            globals()[name] = []

    def _context(self) -> Context:
        regions = {code: (level, name) for code, level, name in Region.objects.values_list("code", "level", "name")}
        return Context(
            county_codes=frozenset(code for code, (level, _) in regions.items() if level == RegionLevel.COUNTY),
            region_names={code: (RegionLevel(level).label, name) for code, (level, name) in regions.items()},
            industry_codes=frozenset(Industry.objects.values_list("code", flat=True)),
            today=self.today,
            region_prefix=self.region_prefix,
            takes_tier_marks=self.takes_tier_marks,
            takes_honors=self.takes_honors,
            mark_source=self.source_label,
        )

    def _policies(self) -> list:
        return [p.as_policy() for p in TierPolicy.objects.all()]

    def _progress(self, done: int, total: int, side=None) -> None:
        if side is None:
            EntityImport.objects.filter(pk=self.entity_import.pk).update(rows=total, rows_done=done)
            return
        with side.cursor() as cursor:  # autocommit: seen by the page while the import's transaction runs
            cursor.execute(
                f"UPDATE {EntityImport._meta.db_table} SET rows = %s, rows_done = %s WHERE id = %s",
                [total, done, self.entity_import.pk],
            )

    def _finish(self, *, status: str, message: str = "", summary: dict | None = None) -> None:
        record = self.entity_import
        record.status = status
        record.message = message
        record.finished_at = timezone.now()
        fields = ["status", "message", "finished_at"]
        if summary is not None:
            for key in ("rows", "created", "updated", "unchanged", "rejected", "errors"):
                setattr(record, key, summary[key])
            record.rows_done = summary["rows"]
            fields += ["rows", "created", "updated", "unchanged", "rejected", "errors", "rows_done"]
        record.save(update_fields=fields)
        counts = {k: summary[k] for k in ("rows", "created", "updated", "unchanged", "rejected")} if summary else {}
        audit_record(
            actor=self.actor,
            action="entity.import" if status == ImportStatus.SUCCEEDED else "entity.import_failed",
            obj=record,
            after={"file_name": record.file_name, "message": message, **counts},
            organisation=record.organisation,
        )

    # -- merge and write ---------------------------------------------------------------

    def _write(self, chunks, total: int) -> dict:
        """Write the chunks in file order in one transaction. A code inserted meanwhile by
        another writer makes the COPY of new entities fail (unique index): everything is rolled
        back and written once more from the same validated chunks, which now see that row."""
        side = None
        if isinstance(chunks, _Pool) and connection.vendor == "postgresql":
            side = connections.create_connection(connection.alias)
            side.settings_dict = dict(connection.settings_dict)
        try:
            try:
                return self._write_chunks(chunks, total, side)
            except IntegrityError:
                # rolled back: the file is validated once more and written again. The chunks are
                # not kept for this rare retry (a 1,000,000-row file's would take several GiB).
                if isinstance(chunks, _Pool):
                    chunks.close()
                again, _ = self._start()
                try:
                    return self._write_chunks(again, total, side)
                finally:
                    if isinstance(again, _Pool):
                        again.close()
        finally:
            if side is not None:
                side.close()

    def _write_chunks(self, chunks, total: int, side) -> dict:
        writer = _Writer(self)
        began = time.perf_counter()
        with transaction.atomic():
            for chunk in chunks:
                waited = time.perf_counter()
                self.timings["wait_for_workers"] = self.timings.get("wait_for_workers", 0) + waited - began
                writer.add(chunk)
                began = time.perf_counter()
                self.timings["write_chunks"] = self.timings.get("write_chunks", 0) + began - waited
                if side is not None:
                    self._progress(writer.rows, total, side)
            writer.finish()
            began = time.perf_counter()
        self.timings["commit"] = time.perf_counter() - began
        return writer.summary()

    def _existing(self, codes: list[str]) -> tuple[dict[str, dict], set[str]]:
        """(the known entities of `codes` inside the import's region, by code, row-locked; the
        codes registered outside it). Two set-based queries per chunk, never one per row: the
        first is the import's tenant filter (restrictions.region_range, the same range as the
        CHANGE restriction), the second only looks at the codes the first did not find."""
        result: dict[str, dict] = {}
        names = ("id",) + COLUMNS
        if not codes:
            return result, set()
        prefix = self.region_prefix
        if connection.vendor == "postgresql":
            columns = ", ".join(["id"] + list(DB_COLUMNS))
            table = MarketEntity._meta.db_table
            region = _FIELDS["region_id"].column
            in_region, bounds = (
                (f"{region} >= %s AND {region} < %s", list(region_range(prefix))) if prefix else ("TRUE", [])
            )
            with connection.cursor() as cursor:
                # locked until commit: a concurrent edit waits instead of being overwritten
                cursor.execute(
                    f"SELECT {columns} FROM {table} WHERE uscc = ANY(%s) AND {in_region} ORDER BY id FOR UPDATE",
                    [codes, *bounds],
                )
                for values in cursor.fetchall():
                    result[values[1]] = dict(zip(names, values))
                missing = [code for code in codes if code not in result] if prefix else []
                foreign: set[str] = set()
                if missing:
                    cursor.execute(f"SELECT uscc FROM {table} WHERE uscc = ANY(%s)", [missing])
                    foreign = {code for (code,) in cursor.fetchall()}
            return result, foreign
        scoped = MarketEntity.objects.filter(region_range_q(prefix)) if prefix else MarketEntity.objects.all()
        for start in range(0, len(codes), 500):
            queryset = (
                scoped.filter(uscc__in=codes[start : start + 500])
                .order_by("id")
                .select_for_update()
                .values_list(*names)
            )
            for values in queryset:
                result[values[1]] = dict(zip(names, values))
        missing = [code for code in codes if code not in result] if prefix else []
        foreign = set()
        for start in range(0, len(missing), 500):
            foreign.update(
                MarketEntity.objects.filter(uscc__in=missing[start : start + 500]).values_list("uscc", flat=True)
            )
        return result, foreign

    # -- writing: PostgreSQL -------------------------------------------------------------

    def _create_postgresql(self, creates: list[tuple[tuple, str, str | None]]) -> dict[str, int]:
        """New entities and their first financial year, COPied straight into their tables with
        ids taken from the entity sequence beforehand (no staging table, no ON CONFLICT: the
        codes were just looked up; one inserted meanwhile by someone else makes the unique
        index raise IntegrityError, and run() imports again)."""
        if not creates:
            return {}
        table = MarketEntity._meta.db_table
        now = timezone.now().isoformat()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [table])
            sequence = cursor.fetchone()[0]
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, len(creates)])
            ids = [pk for (pk,) in cursor.fetchall()]
            # address, data_shared_with_banks, created_source, created_at, updated_at
            suffix = f"\t\tt\t{ChangeSource.IMPORT.value}\t{now}\t{now}"
            _copy_lines(
                cursor,
                table,
                ("id",)
                + DB_COLUMNS
                + ("address", "data_shared_with_banks", "created_source", "created_at", "updated_at"),
                [f"{pk}\t{text}{suffix}" for pk, (_, text, _) in zip(ids, creates)],
            )
            suffix = f"\t{ChangeSource.IMPORT.value}\t{now}"
            _copy_lines(
                cursor,
                FinancialYear._meta.db_table,
                ("entity_id", "year") + FINANCIAL_FIELDS + ("source", "updated_at"),
                [f"{pk}\t{financial}{suffix}" for pk, (_, _, financial) in zip(ids, creates) if financial is not None],
            )
        uscc_at = POSITION["uscc"]
        return {values[uscc_at]: pk for pk, (values, _, _) in zip(ids, creates)}

    def _update_postgresql(self, updates: list[dict]) -> None:
        """Changed entities: COPY into a staging table, one UPDATE … FROM."""
        if not updates:
            return
        table = MarketEntity._meta.db_table
        columns = ("id",) + DB_COLUMNS
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TEMP TABLE entity_import_rows ON COMMIT DROP AS SELECT {', '.join(columns)} FROM {table} "
                f"WITH NO DATA"
            )
            _copy(cursor, "entity_import_rows", columns, [tuple(new[c] for c in ("id",) + COLUMNS) for new in updates])
            assignments = ", ".join(f"{c} = s.{c}" for c in DB_COLUMNS if c != "uscc")
            cursor.execute(
                f"UPDATE {table} AS e SET {assignments}, updated_at = now() FROM entity_import_rows AS s WHERE e.id "
                f"= s.id"
            )
            cursor.execute("DROP TABLE entity_import_rows")

    # -- writing: any database (SQLite) --------------------------------------------------

    def _create_generic(self, creates: list[tuple[tuple, str, str | None]]) -> dict[str, int]:
        now = timezone.now()
        objects = [
            MarketEntity(
                **dict(zip(COLUMNS, values)), created_source=ChangeSource.IMPORT, created_at=now, updated_at=now
            )
            for values, _, _ in creates
        ]
        MarketEntity.objects.bulk_create(objects, batch_size=500)
        created = {obj.uscc: obj.pk for obj in objects}
        if None in created.values():  # a backend that does not return ids
            created = dict(MarketEntity.objects.filter(uscc__in=list(created)).values_list("uscc", "id"))
        return created

    def _update_generic(self, updates: list[dict]) -> None:
        now = timezone.now()
        changed = [MarketEntity(**row, updated_at=now) for row in updates]
        MarketEntity.objects.bulk_update(
            changed, [_FIELDS[c].name for c in COLUMNS if c != "uscc"] + ["updated_at"], batch_size=500
        )

    # -- history ---------------------------------------------------------------------------

    def _write_history(self, history: _History, updated_ids: list[int]) -> None:
        now = timezone.now()
        changes, credit, financial, new_financial, honors, honor_entities = [], [], [], [], [], []
        import_id, actor_id = self.entity_import.pk, getattr(self.actor, "pk", None)
        for item in history.items:
            pk, known = item["id"], not item["created"]
            if known:
                changes.append(
                    (
                        pk,
                        EntityChange.Kind.UPDATED,
                        ChangeSource.IMPORT,
                        actor_id,
                        import_id,
                        json.dumps(item["diff"], ensure_ascii=False),
                        now,
                    )
                )
            for flag, value in item["credit"]:
                credit.append((pk, flag, value, self.source_label, self.today, now))
            if item["financial"] is not None:
                (financial if known else new_financial).append(
                    (pk, self.financial_year, *item["financial"], ChangeSource.IMPORT, now)
                )
            if item["honors"] is not None:
                honor_entities.append(pk)
                kinds, valid_until = item["honors"]
                honors += [(pk, kind, None, valid_until, ChangeSource.IMPORT, now) for kind in kinds]
        if connection.vendor == "postgresql":
            self._history_postgresql(changes, credit, financial, new_financial, honors, honor_entities)
        else:
            self._history_generic(changes, credit, financial + new_financial, honors, honor_entities)

    def _history_postgresql(self, changes, credit, financial, new_financial, honors, honor_entities) -> None:
        columns = ("entity_id", "year") + FINANCIAL_FIELDS + ("source", "updated_at")
        with connection.cursor() as cursor:
            if new_financial:  # new entities: no row to conflict with
                _copy(cursor, FinancialYear._meta.db_table, columns, new_financial)
            if changes:
                _copy(
                    cursor,
                    EntityChange._meta.db_table,
                    ("entity_id", "kind", "source", "actor_id", "entity_import_id", "changes", "changed_at"),
                    changes,
                )
            if credit:
                _copy(
                    cursor,
                    CreditFlagRecord._meta.db_table,
                    ("entity_id", "flag", "value", "source", "observed_on", "created_at"),
                    credit,
                )
            if honor_entities:
                cursor.execute(
                    f"DELETE FROM {Honor._meta.db_table} WHERE source = %s AND entity_id = ANY(%s)",
                    [ChangeSource.IMPORT, honor_entities],
                )
            if honors:
                _copy(
                    cursor,
                    Honor._meta.db_table,
                    ("entity_id", "kind", "valid_from", "valid_until", "source", "created_at"),
                    honors,
                )
            if financial:
                table = FinancialYear._meta.db_table
                cursor.execute(
                    f"CREATE TEMP TABLE financial_import_rows ON COMMIT DROP AS SELECT {', '.join(columns)} FROM "
                    f"{table} WITH NO DATA"
                )
                _copy(cursor, "financial_import_rows", columns, financial)
                cursor.execute(
                    f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(columns)} FROM "
                    f"financial_import_rows "
                    f"ON CONFLICT (entity_id, year) DO UPDATE SET "
                    f"{', '.join(f'{c} = EXCLUDED.{c}' for c in columns[2:])}"
                )
                cursor.execute("DROP TABLE financial_import_rows")

    def _history_generic(self, changes, credit, financial, honors, honor_entities) -> None:
        EntityChange.objects.bulk_create(
            [
                EntityChange(
                    entity_id=c[0],
                    kind=c[1],
                    source=c[2],
                    actor_id=c[3],
                    entity_import_id=c[4],
                    changes=json.loads(c[5]),
                )
                for c in changes
            ],
            batch_size=500,
        )
        CreditFlagRecord.objects.bulk_create(
            [CreditFlagRecord(entity_id=c[0], flag=c[1], value=c[2], source=c[3], observed_on=c[4]) for c in credit],
            batch_size=500,
        )
        for start in range(0, len(honor_entities), 500):
            Honor.objects.filter(source=ChangeSource.IMPORT, entity_id__in=honor_entities[start : start + 500]).delete()
        Honor.objects.bulk_create(
            [Honor(entity_id=h[0], kind=h[1], valid_from=h[2], valid_until=h[3], source=h[4]) for h in honors],
            batch_size=500,
        )
        FinancialYear.objects.bulk_create(
            [
                FinancialYear(entity_id=f[0], year=f[1], **dict(zip(FINANCIAL_FIELDS, f[2:-2])), source=f[-2])
                for f in financial
            ],
            batch_size=500,
            update_conflicts=True,
            unique_fields=["entity", "year"],
            update_fields=list(FINANCIAL_FIELDS) + ["source", "updated_at"],
        )


def _release_connections() -> None:
    """Worker processes never touch the database. Outside a transaction the parent closes its
    connections before forking so no child even holds the socket (children end with os._exit,
    which would not close it anyway)."""
    if not connection.in_atomic_block:
        connections.close_all()


class _Pool:
    """Worker processes validating chunks; iterating gives their results in file order. The
    workers are forked here, at once, by the first jobs' submission (before the caller opens its
    write transaction, while the module global holding the file's lines is set). At most `ahead`
    chunks are validated and not yet taken: the parent writes slower than the workers validate,
    and a 1,000,000-row file's validated chunks all held at once would take several GiB."""

    def __init__(self, function, jobs: list, workers: int, ahead: int | None = None):
        _release_connections()
        self.function = function
        self.jobs = iter(jobs)
        self.pending: deque = deque()
        self.executor = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
        try:
            for job in islice(self.jobs, ahead or 2 * workers):
                self.pending.append(self.executor.submit(function, job))
        except BaseException:
            self.close()
            raise

    def __iter__(self):
        while self.pending:
            result = self.pending.popleft().result()
            following = next(self.jobs, None)
            if following is not None:
                self.pending.append(self.executor.submit(self.function, following))
            yield pickle.loads(result)

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)


class _Writer:
    """Merges and writes validated chunks, in file order, inside the caller's transaction."""

    def __init__(self, job: RegisterImport):
        self.job = job
        self.policies = job._policies()
        self.policy_by_region: dict[str, Any] = {}
        self.first: dict[str, int] = {}  # code -> line of its first occurrence in the file
        self.rows = 0
        self.rejected = 0
        self.errors: list[CellError] = []
        self.created: dict[str, int] = {}
        self.updated: list[int] = []
        self.ignored_marks = 0
        self.ignored_honors = 0

    def add(self, chunk: Prepared) -> None:
        job, year, timings = self.job, self.job.financial_year, self.job.timings
        valid, duplicates, repeated = _reject_duplicates(chunk, self.first)
        self.rows += chunk.rows
        self.ignored_marks += chunk.ignored_marks
        self.ignored_honors += chunk.ignored_honors
        self.rejected += len(chunk.rejected_lines) + repeated
        self.errors += chunk.errors
        self.errors += duplicates
        uscc_at = POSITION["uscc"]
        began = time.perf_counter()
        existing, foreign = job._existing([values[uscc_at] for _, values, _, _ in valid])
        if foreign:  # registered in another region: never touched, reported like a row outside the region
            kept = []
            for item in valid:
                if item[1][uscc_at] in foreign:
                    self.errors.append(CellError(item[0], HEADERS[5], OUT_OF_SCOPE_ROW))
                else:
                    kept.append(item)
            self.rejected += len(valid) - len(kept)
            valid = kept
        timings["read_existing"] = timings.get("read_existing", 0) + time.perf_counter() - began
        began = time.perf_counter()
        creates: list[tuple[tuple, str, str | None]] = []  # (values, COPY text, financial-year text)
        updates: list[dict] = []
        history = _History(year)
        for _, values, text, financial_text in valid:
            old = existing.get(values[uscc_at])
            if old is None:
                creates.append((values, text, financial_text))
                continue
            new = _merge(values, old, year, takes_tier_marks=job.takes_tier_marks, takes_honors=job.takes_honors)
            region = new["region_id"]
            policy = self.policy_by_region.get(region)
            if policy is None:
                policy = self.policy_by_region[region] = derive.policy_for(self.policies, region, job.today)
            new.update(derive.classification_columns(new, policy))
            if any(old[c] != new[c] for c in COLUMNS):
                new["id"] = old["id"]
                updates.append(new)
                history.add(old, new, values)
        timings["merge"] = timings.get("merge", 0) + time.perf_counter() - began
        if connection.vendor == "postgresql":
            created = job._create_postgresql(creates)
            job._update_postgresql(updates)
        else:
            created = job._create_generic(creates)
            job._update_generic(updates)
        updated = [row["id"] for row in updates]
        history.add_created(creates, created, with_financial=connection.vendor != "postgresql")
        job._write_history(history, updated)
        self.created.update(created)
        self.updated += updated

    def finish(self) -> None:
        entities_changed(list(self.created.values()) + self.updated)
        self.errors.sort(key=lambda e: (e.line, -1 if e.column is None else _COLUMN_ORDER[e.column]))

    def summary(self) -> dict:
        created, updated = len(self.created), len(self.updated)
        summary = {
            "rows": self.rows,
            "created": created,
            "updated": updated,
            "unchanged": self.rows - self.rejected - created - updated,
            "rejected": self.rejected,
            "errors": [e.as_dict() for e in self.errors],
        }
        message = ignored_marks_message(self.ignored_marks, self.ignored_honors)
        if message:
            summary["message"] = message
        return summary


def ignored_marks_message(marks: int, honors: int) -> str:
    """What an import by someone who may not set the regulator's marks left out."""
    parts = []
    if marks:
        parts.append(f"{marks} 行的「分型」未采用: 三型标记只能由市、省级市场监管部门标记或导入全省名录库")
    if honors:
        parts.append(f"{honors} 行的「名特优新」未采用: 名特优新由省市场监管局认定, 县级专班可在经营主体页面提出申请")
    return "; ".join(parts) + ("; 其余各列已导入" if parts else "")


def _reject_duplicates(chunk: Prepared, first: dict[str, int]) -> tuple[list, list[CellError], int]:
    """A code repeated in the file is rejected on every occurrence after the first (good or
    bad row). `first` holds the codes of the chunks before this one (chunks come in file
    order) and is updated; the chunk itself is not changed. Returns its rows still to import,
    the errors of its repeats and how many more rows they reject."""
    uscc_at = POSITION["uscc"]
    events = [(item[0], item[1][uscc_at]) for item in chunk.valid] + chunk.rejected_codes
    events.sort()
    duplicates: set[int] = set()
    errors = []
    for line, code in events:
        seen = first.get(code)
        if seen is None:
            first[code] = line
        else:
            duplicates.add(line)
            errors.append(CellError(line, HEADERS[0], duplicate_message(seen)))
    valid = [item for item in chunk.valid if item[0] not in duplicates] if duplicates else chunk.valid
    return valid, errors, len(duplicates - chunk.rejected_lines)  # a repeated bad row is rejected already


class _History:
    """What each created or changed row adds to the history tables."""

    def __init__(self, year: int):
        self.year = year
        self.items: list[dict] = []

    def add_created(
        self, creates: list[tuple[tuple, str, str | None]], ids: dict[str, int], *, with_financial: bool
    ) -> None:
        """New entities: their honours, and their first financial year unless it was written
        with them (PostgreSQL). No change row: a new entity's first values are dated by its
        creation (created_source, created_at)."""
        honors_at, until_at, uscc_at = (
            POSITION["honors_imported"],
            POSITION["honors_imported_valid_until"],
            POSITION["uscc"],
        )
        for values, _, _ in creates:
            honors_text = values[honors_at]
            financial = (
                values[_FINANCIAL_SLICE] if with_financial and values[POSITION["financial_year"]] is not None else None
            )
            if financial is not None or honors_text:
                honors = (honors_text.split(","), values[until_at]) if honors_text else None
                self.items.append(
                    {
                        "id": ids[values[uscc_at]],
                        "created": True,
                        "diff": None,
                        "credit": (),
                        "financial": financial,
                        "honors": honors,
                    }
                )

    def add(self, old: dict, new: dict, row: tuple) -> None:
        # a new entity's first values are dated by its creation (created_source, created_at);
        # later changes of a credit flag get a row with the import as source
        credit = [
            (flag, int(row[POSITION[flag]]))
            for flag in IMPORT_CREDIT_FLAGS
            if row[POSITION[flag]] is not None and old[flag] != row[POSITION[flag]]
        ]
        financial = None
        stated = row[_FINANCIAL_SLICE]
        if any(v is not None for v in stated):
            values = tuple(new[f] for f in FINANCIAL_FIELDS) if new["financial_year"] == self.year else stated
            if old["financial_year"] != self.year or any(old[f] != v for f, v in zip(FINANCIAL_FIELDS, values)):
                financial = values
        honors = None
        if (old["honors_imported"], old["honors_imported_valid_until"]) != (
            new["honors_imported"],
            new["honors_imported_valid_until"],
        ):
            honors = ([k for k in new["honors_imported"].split(",") if k], new["honors_imported_valid_until"])
        diff = {_DIFF_NAMES.get(c, c): [_plain(old[c]), _plain(new[c])] for c in COLUMNS if old[c] != new[c]}
        self.items.append(
            {
                "id": old["id"],
                "created": False,
                "diff": diff,
                "credit": credit,
                "financial": financial,
                "honors": honors,
            }
        )


_DIFF_NAMES = {"region_id": "region_code", "industry_id": "industry_code"}


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


# --- COPY (text format) ------------------------------------------------------------------

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy(cursor, table: str, columns, rows) -> None:
    """COPY rows (sequences of Python values) into `table`. None → \\N; bools and dates in
    forms PostgreSQL reads (True, 2026-01-31); strings escaped."""
    escapes = _ESCAPES
    _copy_lines(
        cursor,
        table,
        columns,
        [
            "\t".join(["\\N" if v is None else v.translate(escapes) if v.__class__ is str else str(v) for v in values])
            for values in rows
        ],
    )


def _copy_lines(cursor, table: str, columns, lines: list[str], chunk: int = 50000) -> None:
    """COPY already formatted text lines into `table`, in chunks to bound memory. The driver's
    errors come out as Django's (copy_expert is the driver's own method, which the cursor
    wrapper does not translate): a code inserted meanwhile is an IntegrityError that run()
    answers by importing again."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    for start in range(0, len(lines), chunk):
        with cursor.db.wrap_database_errors:
            cursor.copy_expert(sql, io.StringIO("\n".join(lines[start : start + chunk]) + "\n"))
