"""Stored eligibility results and the runs that produce them.

``MatchResult`` holds one row per entity × product of a *generation* (the results of one
full run, kept up to date by incremental runs afterwards) that is eligible or a near miss
(ineligible only on rules time or a fix can cure). No row for an entity and an active product
in the current generation means ineligible or 信息不全 (incomplete): five sixths of all pairs
are incomplete, and the pages that show them (an entity's own matches, 待标记三型) evaluate
that entity live; the runs count them (``MatchingRun.incomplete``, ``RunProduct.incomplete``:
the pairs each run found incomplete when it computed them).

On PostgreSQL the table is partitioned by province, then by generation
(``batch_matching.schema``): a full run (for one province or for all) fills leaves of its
own, indexes them and swaps them in by moving each of its provinces' pointers
(``ProvinceGeneration``) in the transaction that attaches them; readers filter each province
on its current generation and never see a half-built one. A reader reads the pointers inside
the statement that reads the results (``selectors._in_force``), never from a number kept from
an earlier read: a province's previous generation is dropped right after its swap. On the
embedded SQLite the table is a plain table and the swap is the same pointer moves.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from entities.models import MarketEntity

__all__ = [
    "RunKind",
    "RunState",
    "RunTrigger",
    "Verdict",
    "MatchingRun",
    "RunChunk",
    "RunProduct",
    "MatchingState",
    "ProvinceGeneration",
    "MatchResult",
    "ResultCount",
    "DirtyEntity",
    "UnstoredEntity",
]


class RunKind(models.TextChoices):
    FULL = "full", "全量匹配"
    ENTITIES = "entities", "主体变更增量匹配"
    PRODUCT = "product", "产品发布增量匹配"


class RunState(models.TextChoices):
    RUNNING = "running", "匹配中"
    FINALIZING = "finalizing", "建索引并切换"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"
    SUPERSEDED = "superseded", "已被新的全量匹配取代"


class RunTrigger(models.TextChoices):
    MANUAL = "manual", "管理员手动"
    SCHEDULE = "schedule", "夜间定时"
    ENTITY_CHANGE = "entity_change", "主体变更"
    PRODUCT_PUBLISH = "product_publish", "产品发布"
    SYSTEM = "system", "系统"


class Verdict(models.IntegerChoices):
    INELIGIBLE = 0, "不符合"
    INCOMPLETE = 1, "信息不全"
    ELIGIBLE = 2, "符合"


class MatchingRun(models.Model):
    """One matching run: a full run (chunked over entity id ranges, its own generation, for
    one province or for all) or an incremental one (some entities, or one product, in the
    current generation of each province it touches)."""

    kind = models.CharField("类型", max_length=16, choices=RunKind.choices)
    state = models.CharField("状态", max_length=16, choices=RunState.choices, default=RunState.RUNNING)
    trigger = models.CharField("触发方式", max_length=16, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="发起人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    as_of = models.DateField("评估日期")
    generation = models.PositiveIntegerField("结果代次", null=True, blank=True)
    product = models.ForeignKey(
        "products.LoanProduct", verbose_name="产品", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    province = models.CharField("省份", max_length=2, blank=True, default="")  # "" = every province
    provinces = models.JSONField("结果分区(省份代码)", default=list, blank=True)
    entities = models.PositiveIntegerField("主体数", default=0)
    chunks_total = models.PositiveIntegerField("分块数", default=0)
    chunks_done = models.PositiveIntegerField("已完成分块", default=0)
    results = models.PositiveBigIntegerField("结果行数", default=0)
    eligible = models.PositiveBigIntegerField("符合", default=0)
    incomplete = models.PositiveBigIntegerField("信息不全", default=0)
    near_miss = models.PositiveBigIntegerField("差一点符合", default=0)
    message = models.TextField("说明", blank=True, default="")
    timings = models.JSONField("各阶段耗时(秒)", default=dict, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        db_table = "matching_batch_run"
        verbose_name = verbose_name_plural = "批量匹配运行"
        ordering = ["-id"]
        indexes = [models.Index(fields=["kind", "-id"], name="batch_run_kind")]
        constraints = [
            # one full run builds at a time (the one generation being built)
            models.UniqueConstraint(
                fields=["kind"],
                condition=Q(kind="full", state__in=["running", "finalizing"]),
                name="one_full_run_at_a_time",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} #{self.pk}"

    @property
    def is_finished(self) -> bool:
        return self.state in (RunState.SUCCEEDED, RunState.FAILED, RunState.SUPERSEDED)

    @property
    def succeeded(self) -> bool:
        return self.state == RunState.SUCCEEDED

    @property
    def failed(self) -> bool:
        return self.state == RunState.FAILED

    @property
    def finalizing(self) -> bool:
        return self.state == RunState.FINALIZING

    @property
    def resumable(self) -> bool:
        """Failed or unfinished: an administrator may re-dispatch its open chunks."""
        return self.state in (RunState.FAILED, RunState.RUNNING, RunState.FINALIZING)

    @property
    def progress_percent(self) -> int:
        if self.state == RunState.SUCCEEDED:
            return 100
        if not self.chunks_total:
            return 0
        # the last percent is the index build and the swap
        return min(99, int(self.chunks_done * 99 / self.chunks_total))

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.created_at).total_seconds(), 1)


class RunChunk(models.Model):
    """An entity id range [lo, hi) of a full run. A worker claims it with ``FOR UPDATE SKIP
    LOCKED`` inside the transaction that writes its results and marks it done, so a chunk is
    written exactly once whatever the workers do (killed, redelivered, run twice)."""

    run = models.ForeignKey(MatchingRun, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField("序号")
    lo = models.BigIntegerField("起始主体 id")
    hi = models.BigIntegerField("结束主体 id(不含)")
    done = models.BooleanField("已完成", default=False)
    rows = models.PositiveIntegerField("结果行数", default=0)
    attempts = models.PositiveSmallIntegerField("出错次数", default=0)
    worker = models.CharField("处理者", max_length=128, blank=True, default="")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "matching_batch_chunk"
        verbose_name = verbose_name_plural = "匹配分块"
        ordering = ["run", "number"]
        constraints = [models.UniqueConstraint(fields=["run", "number"], name="unique_run_chunk")]
        indexes = [models.Index(fields=["run", "done"], name="batch_chunk_open")]


class RunProduct(models.Model):
    """A product version a run matched, with its counts (the run history's per-product figures;
    ``incomplete``: the pairs the run found 信息不全, counted as its chunks computed them — not
    stored, so not adjusted by later re-matches)."""

    run = models.ForeignKey(MatchingRun, on_delete=models.CASCADE, related_name="products")
    product = models.ForeignKey("products.LoanProduct", on_delete=models.CASCADE, related_name="+")
    version = models.ForeignKey("products.LoanProductVersion", on_delete=models.CASCADE, related_name="+")
    eligible = models.PositiveBigIntegerField("符合", default=0)
    eligible_shared = models.PositiveBigIntegerField("符合且共享", default=0)
    incomplete = models.PositiveBigIntegerField("信息不全", default=0)
    near_miss = models.PositiveBigIntegerField("差一点符合", default=0)

    class Meta:
        db_table = "matching_batch_run_product"
        verbose_name = verbose_name_plural = "匹配产品"
        ordering = ["run", "product"]
        constraints = [models.UniqueConstraint(fields=["run", "product"], name="unique_run_product")]


class MatchingState(models.Model):
    """The one row (id 1): the full run being built and the generation swapped in last (in
    some province; each province's own is ``ProvinceGeneration``). Incremental runs hold it
    ``FOR SHARE`` while they write; run starts and swaps hold it ``FOR UPDATE``, so a change is
    never written into a generation that is being swapped out, and never missed by a run
    being built (it marks the change dirty)."""

    generation = models.PositiveIntegerField("最近切换的结果代次", null=True, blank=True)
    building = models.ForeignKey(MatchingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    swapped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "matching_batch_state"
        verbose_name = verbose_name_plural = "匹配结果状态"


class ProvinceGeneration(models.Model):
    """A province's pointer: the generation of its results in force (readers put it in the
    statement that reads them, ``selectors._in_force``). Moved by the swap of a full run that
    built the province; a run for another province never touches it."""

    province = models.PositiveSmallIntegerField("省份代码", primary_key=True)  # 14: 山西 (county // 10000)
    generation = models.PositiveIntegerField("当前结果代次")
    run = models.ForeignKey(MatchingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    swapped_at = models.DateTimeField("切换时间", null=True, blank=True)

    class Meta:
        db_table = "matching_batch_province"
        verbose_name = verbose_name_plural = "省份结果代次"
        ordering = ["province"]

    def __str__(self):
        return f"省份 {self.province:02d} · 第 {self.generation} 代结果"


class MatchResult(models.Model):
    """One entity × product of a generation (see the module docstring).

    Compact on purpose (millions of rows): ids are plain integers, the failed and unknown
    reasons are bits and the binding cap a position relative to the version's definition
    (``plan.reason_ids`` / ``plan.cap_keys``; ``selectors`` decode them). Columns are in
    this order so that no padding is stored."""

    pk = models.CompositePrimaryKey("generation", "entity_id", "product_id")
    max_amount = models.BigIntegerField("可贷额度(元)", null=True, blank=True)
    failed_mask = models.BigIntegerField("未满足的条件(位)", null=True, blank=True)
    unknown_mask = models.BigIntegerField("无法判断的条件(位)", null=True, blank=True)
    generation = models.IntegerField("结果代次")
    entity_id = models.IntegerField("经营主体")
    product_id = models.IntegerField("产品")
    version_id = models.IntegerField("产品版本")
    run_id = models.IntegerField("匹配运行")
    verdict = models.SmallIntegerField("结论", choices=Verdict.choices)
    binding_cap = models.SmallIntegerField("决定额度的上限(序号)", null=True, blank=True)
    shared = models.BooleanField("同意向银行共享信息")
    near_miss = models.BooleanField("差一点符合")
    county = models.IntegerField("县(区)代码")  # the 6-digit code as a number: compact, fast to sort

    class Meta:
        db_table = "matching_batch_result"
        verbose_name = verbose_name_plural = "匹配结果"


class ResultCount(models.Model):
    """Counts of a generation's stored rows per product and county (潜在客户 counts, run
    history), kept exact by every run that writes results."""

    generation = models.PositiveIntegerField("结果代次")
    product = models.ForeignKey("products.LoanProduct", on_delete=models.CASCADE, related_name="+")
    county = models.IntegerField("县(区)代码")
    eligible = models.BigIntegerField("符合", default=0)
    eligible_shared = models.BigIntegerField("符合且共享", default=0)
    near_miss = models.BigIntegerField("差一点符合", default=0)

    class Meta:
        db_table = "matching_batch_count"
        verbose_name = verbose_name_plural = "匹配结果计数"
        constraints = [models.UniqueConstraint(fields=["generation", "product", "county"], name="unique_result_count")]


class DirtyEntity(models.Model):
    """An entity that changed while a full run was building: re-matched into the new
    generation just before it is swapped in."""

    pk = models.CompositePrimaryKey("run", "entity_id")
    run = models.ForeignKey(MatchingRun, on_delete=models.CASCADE, related_name="+")
    entity_id = models.IntegerField()

    class Meta:
        db_table = "matching_batch_dirty"
        verbose_name = verbose_name_plural = "待重新匹配主体"


class UnstoredEntity(MarketEntity):
    """An entity as the reader of its 信息不全 pairs sees it: those pairs are not stored
    (``MatchResult``), so the pages that show them evaluate the entity live; its restriction
    (``restrictions.unstored_q``) lets an actor read them exactly where ``result_q`` would let
    him read such a row (held together by ``batch_matching/tests/test_unstored.py``)."""

    class Meta:
        proxy = True
        verbose_name = verbose_name_plural = "信息不全的匹配(实时评估)"
