"""Market entities (经营主体): the register, operator, financial years, credit, honours,
classification, register imports and the change history.

Column names are the glossary identifiers and the eligibility request fields
(`shared/domain/eligibility-api.md`): the eligibility engine compiles rules to SQL against
these columns, so they are a contract — extend, never rename. The operator (经营者/法定代表人)
is flattened onto the entity with an `operator_` prefix so matching reads one row. The latest
financial year is denormalised onto the entity; `FinancialYear` keeps every year.

Money is integer 元 (BigIntegerField). NULL means unknown, never zero.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from eligibility.fields import TOBACCO_LICENCE_STATUSES, tobacco_licence_status
from entities import classification as cls
from entities import renewals as renewal_policy
from entities.renewals import RefusalReason, RenewalSource, RenewalStatus


class EntityType(models.TextChoices):
    INDIVIDUAL_BUSINESS = "individual_business", "个体工商户"
    SMALL_MICRO_ENTERPRISE = "small_micro_enterprise", "小微企业"
    FARMER_COOPERATIVE = "farmer_cooperative", "农民专业合作社"
    FAMILY_FARM = "family_farm", "家庭农场"


class RegisterStatus(models.TextChoices):
    ACTIVE = "active", "存续"
    ABNORMAL = "abnormal", "经营异常"
    REVOKED = "revoked", "吊销未注销"
    CANCELLED = "cancelled", "注销"


class Tier(models.TextChoices):
    SURVIVAL = "survival", "生存型"
    GROWTH = "growth", "成长型"
    DEVELOPMENT = "development", "发展型"


class SizeClass(models.TextChoices):
    LARGE = "large", "大型"
    MEDIUM = "medium", "中型"
    SMALL = "small", "小型"
    MICRO = "micro", "微型"


class TaxStatus(models.TextChoices):
    GENERAL_TAXPAYER = "general_taxpayer", "一般纳税人"
    SMALL_SCALE_TAXPAYER = "small_scale_taxpayer", "小规模纳税人"
    NONE = "none", "无"


class Nationality(models.TextChoices):
    """The operator's nationality as the catalogue's rules read it (ISO 3166 codes: 惠商贷 and
    its sisters ask for a Chinese national, 中国（内地）). A code, never free text: "中国" typed
    into a free field once silently failed every rule that reads it."""

    CN = "CN", "中国（内地）"
    HK = "HK", "中国香港"
    MO = "MO", "中国澳门"
    TW = "TW", "中国台湾"
    OTHER = "ZZ", "其他国家或地区"


class HonorKind(models.TextChoices):
    RENOWNED = "renowned", "知名"
    DISTINCTIVE = "distinctive", "特色"
    QUALITY = "quality", "优质"
    EMERGING = "emerging", "新兴"


class ChangeSource(models.TextChoices):
    IMPORT = "import", "名录库导入"
    REGULATOR = "regulator", "监管部门维护"
    ENTERPRISE = "enterprise", "企业自行维护"
    API = "api", "接口"
    SYSTEM = "system", "系统"


# Credit flags (current value on the entity, history in CreditFlagRecord)
BOOLEAN_CREDIT_FLAGS = (
    "dishonest_debtor",
    "joint_punishment",
    "consumption_restricted",
    "major_bad_record",
    "pending_litigation",
)
COUNT_CREDIT_FLAGS = ("overdue_consecutive_24m", "overdue_total_24m", "overdue_12m")
CREDIT_FLAGS = BOOLEAN_CREDIT_FLAGS + COUNT_CREDIT_FLAGS
CREDIT_FLAG_LABELS = {
    "dishonest_debtor": "失信被执行人",
    "joint_punishment": "失信联合惩戒对象",
    "consumption_restricted": "限制高消费",
    "major_bad_record": "重大不良信用记录",
    "pending_litigation": "未决诉讼",
    "overdue_consecutive_24m": "近两年连续逾期期数",
    "overdue_total_24m": "近两年累计逾期期数",
    "overdue_12m": "近一年逾期次数",
}
# any adverse credit fact; the list filter "有不良信用" and its partial index use it
ADVERSE_CREDIT_Q = (
    Q(dishonest_debtor=True)
    | Q(joint_punishment=True)
    | Q(consumption_restricted=True)
    | Q(major_bad_record=True)
    | Q(pending_litigation=True)
    | Q(overdue_consecutive_24m__gt=0)
    | Q(overdue_total_24m__gt=0)
    | Q(overdue_12m__gt=0)
)

FINANCIAL_FIELDS = (
    "annual_revenue",
    "total_assets",
    "net_assets",
    "employees",
    "social_insurance_headcount",
    "tax_status",
    "has_tax_record",
)


class MarketEntity(models.Model):
    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True)
    name = models.CharField("名称", max_length=200)
    entity_type = models.CharField("主体类型", max_length=32, choices=EntityType.choices)
    register_status = models.CharField(
        "登记状态", max_length=16, choices=RegisterStatus.choices, default=RegisterStatus.ACTIVE
    )
    established_on = models.DateField("成立日期", null=True, blank=True)
    # Region and Industry are static reference tables; every write path validates the codes
    # against them. Their foreign keys carry no database constraint because PostgreSQL checks
    # one row at a time at commit, which cost more than a quarter of a 100,000-row import.
    region = models.ForeignKey(
        "portal.Region",
        verbose_name="行政区划(县级)",
        db_column="region_code",
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,  # index: see Meta.indexes
    )
    township = models.ForeignKey(
        "portal.Region",
        verbose_name="乡镇(街道)",
        db_column="township_code",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    address = models.CharField("经营场所", max_length=255, blank=True, default="")
    fixed_premises = models.BooleanField("经营场所固定", null=True, blank=True)
    industry = models.ForeignKey(
        "portal.Industry",
        verbose_name="行业(GB/T 4754-2017)",
        db_column="industry_code",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    registered_capital = models.BigIntegerField("注册资本(元)", null=True, blank=True)
    legal_rep_changed_on = models.DateField("法定代表人(经营者)最近变更日期", null=True, blank=True)
    main_business_changed_on = models.DateField("主营业务最近变更日期", null=True, blank=True)

    # the latest financial year (FinancialYear keeps every year)
    financial_year = models.PositiveSmallIntegerField("财务数据年度", null=True, blank=True)
    annual_revenue = models.BigIntegerField("年营业收入(元)", null=True, blank=True)
    total_assets = models.BigIntegerField("资产总额(元)", null=True, blank=True)
    net_assets = models.BigIntegerField("净资产(元)", null=True, blank=True)
    employees = models.PositiveIntegerField("从业人数", null=True, blank=True)
    social_insurance_headcount = models.PositiveIntegerField("参保人数", null=True, blank=True)
    tax_status = models.CharField("纳税人类型", max_length=32, choices=TaxStatus.choices, null=True, blank=True)
    has_tax_record = models.BooleanField("有纳税记录", null=True, blank=True)

    # operator / legal representative (经营者 / 法定代表人)
    operator_name = models.CharField("经营者姓名", max_length=64, blank=True, default="")
    operator_id_number = models.CharField("经营者身份证号", max_length=18, null=True, blank=True)
    operator_birth_date = models.DateField("经营者出生日期", null=True, blank=True)
    operator_phone = models.CharField("经营者手机号", max_length=11, blank=True, default="")
    operator_nationality = models.CharField(
        "经营者国籍", max_length=2, null=True, blank=True, choices=Nationality.choices
    )
    operator_local_residence = models.BooleanField("本地常住户口或长期居住证明", null=True, blank=True)
    operator_residence_region_code = models.CharField("经营者住所行政区划代码", max_length=6, null=True, blank=True)
    operator_industry_experience_months = models.PositiveIntegerField("设立前本行业从业经历(月)", null=True, blank=True)

    # current credit flags (history with source and date in CreditFlagRecord)
    dishonest_debtor = models.BooleanField("失信被执行人", null=True, blank=True)
    joint_punishment = models.BooleanField("失信联合惩戒对象", null=True, blank=True)
    consumption_restricted = models.BooleanField("限制高消费", null=True, blank=True)
    overdue_consecutive_24m = models.PositiveSmallIntegerField("近两年连续逾期期数", null=True, blank=True)
    overdue_total_24m = models.PositiveSmallIntegerField("近两年累计逾期期数", null=True, blank=True)
    overdue_12m = models.PositiveSmallIntegerField("近一年逾期次数", null=True, blank=True)
    major_bad_record = models.BooleanField("重大不良信用记录", null=True, blank=True)
    pending_litigation = models.BooleanField("未决诉讼", null=True, blank=True)

    # classification: two facts kept apart (issue 15). The **mark** is the 三型 the provincial
    # 名录库 records ("在名录库中被标记为三型", 001 附件 三(二)): `tier_imported`, set by an import of
    # the provincial list or by a city/province regulator (services.tier_mark_set), with where
    # it came from and since when; `tier` is the same mark, the column the product rules read.
    # The **estimate** (`tier_computed`, shown as 预估) is the portal's own computation from the
    # financials: informative, it never satisfies a rule that needs the mark. The Chinese
    # explanations are derived from the current facts on display, so they never disagree.
    tier_imported = models.CharField("三型标记(名录库)", max_length=16, choices=Tier.choices, null=True, blank=True)
    tier_computed = models.CharField("三型预估(平台测算)", max_length=16, choices=Tier.choices, null=True, blank=True)
    tier = models.CharField("三型标记", max_length=16, choices=Tier.choices, null=True, blank=True)
    tier_mark_source = models.CharField("三型标记来源", max_length=128, blank=True, default="")
    tier_marked_on = models.DateField("三型标记日期", null=True, blank=True)
    size_class = models.CharField("企业划型", max_length=8, choices=SizeClass.choices, null=True, blank=True)
    # 名特优新 as the register last listed it ("renowned,quality"); Honor rows are the detail
    honors_imported = models.CharField("名特优新(名录库)", max_length=64, blank=True, default="")
    honors_imported_valid_until = models.DateField("名特优新有效期至(名录库)", null=True, blank=True)

    # 烟草专卖零售许可证 (烟商E贷 is for licensed tobacco retailers only, seeds/001 附件 四(一)1):
    # held NULL = unknown, FALSE = holds none; number and validity only when held. The status on
    # a date is eligibility.fields.tobacco_licence_status (the engine's and the page's one rule).
    tobacco_licence_held = models.BooleanField("持有烟草专卖零售许可证", null=True, blank=True)
    tobacco_licence_number = models.CharField("烟草专卖零售许可证号", max_length=32, null=True, blank=True)
    tobacco_licence_valid_from = models.DateField("烟草专卖零售许可证有效期自", null=True, blank=True)
    tobacco_licence_valid_until = models.DateField("烟草专卖零售许可证有效期至", null=True, blank=True)
    # product conditions (conds): where the entity operates when not where it is registered
    # (兴旺贷 "注册地或经营地"), and the operator's own realisable net assets (晋享贷's 60% cap is of
    # 借款人自有可变现净资产, a fact about the operator, not the entity's net assets)
    operating_region_code = models.CharField("经营地行政区划代码", max_length=6, null=True, blank=True)
    operator_realisable_net_assets = models.BigIntegerField("经营者自有可变现净资产(元)", null=True, blank=True)

    data_shared_with_banks = models.BooleanField("同意向银行共享信息", default=True)
    organisation = models.ForeignKey(
        "portal.Organisation",
        verbose_name="企业机构(账号)",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="market_entities",
        db_index=False,  # partial index below: few entities have an account
    )
    # how the entity came in: the source (and created_at the date) of its first values;
    # CreditFlagRecord and EntityChange record every later change
    created_source = models.CharField(
        "登记来源", max_length=16, choices=ChangeSource.choices, default=ChangeSource.REGULATOR
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "经营主体"
        ordering = ["-id"]
        indexes = [
            # list pages filter on a region (a code range) and page newest first by id (keyset).
            # Other filters are applied while walking this index or the primary key: each
            # extra index costs every import, and none pays off at these selectivities (see
            # bench/bench_entities.py)
            models.Index(fields=["region", "id"], name="entity_region_id"),
            # 三型 is the filter every role uses; rare tiers would otherwise walk a whole county
            models.Index(fields=["tier", "region", "id"], name="entity_tier_region_id"),
            models.Index(fields=["organisation"], condition=Q(organisation__isnull=False), name="entity_organisation"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(annual_revenue__gte=0) | Q(annual_revenue__isnull=True), name="entity_revenue_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(total_assets__gte=0) | Q(total_assets__isnull=True), name="entity_total_assets_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(registered_capital__gte=0) | Q(registered_capital__isnull=True),
                name="entity_capital_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.name}({self.uscc})"

    @property
    def tier_disagreement(self) -> str | None:
        return cls.tier_disagreement(self.tier_imported, self.tier_computed)

    def tobacco_licence_status(self, as_of: dt.date | None = None) -> str | None:
        """valid / expired / not_yet_valid / none, or None (unknown), on ``as_of`` (today)."""
        return tobacco_licence_status(
            self.tobacco_licence_held,
            self.tobacco_licence_valid_from,
            self.tobacco_licence_valid_until,
            as_of or timezone.localdate(),
        )

    @property
    def tobacco_licence_label(self) -> str:
        status = self.tobacco_licence_status()
        return "未知" if status is None else TOBACCO_LICENCE_STATUSES[status]

    @property
    def has_adverse_credit(self) -> bool:
        return any(getattr(self, f) for f in BOOLEAN_CREDIT_FLAGS) or any(
            (getattr(self, f) or 0) > 0 for f in COUNT_CREDIT_FLAGS
        )


class FinancialYear(models.Model):
    entity = models.ForeignKey(
        MarketEntity, on_delete=models.CASCADE, related_name="financial_years", db_index=False
    )  # the unique (entity, year) index serves lookups by entity
    year = models.PositiveSmallIntegerField("年度")
    annual_revenue = models.BigIntegerField("年营业收入(元)", null=True, blank=True)
    total_assets = models.BigIntegerField("资产总额(元)", null=True, blank=True)
    net_assets = models.BigIntegerField("净资产(元)", null=True, blank=True)
    employees = models.PositiveIntegerField("从业人数", null=True, blank=True)
    social_insurance_headcount = models.PositiveIntegerField("参保人数", null=True, blank=True)
    tax_status = models.CharField("纳税人类型", max_length=32, choices=TaxStatus.choices, null=True, blank=True)
    has_tax_record = models.BooleanField("有纳税记录", null=True, blank=True)
    source = models.CharField("来源", max_length=16, choices=ChangeSource.choices, default=ChangeSource.IMPORT)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "年度财务数据"
        ordering = ["entity", "-year"]
        constraints = [models.UniqueConstraint(fields=["entity", "year"], name="financial_year_unique")]

    def __str__(self):
        return f"{self.entity_id} {self.year}"


class CreditFlagRecord(models.Model):
    """One observed value of one credit flag: where it came from and as of when."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="credit_records")
    flag = models.CharField("信用项", max_length=32, choices=[(f, CREDIT_FLAG_LABELS[f]) for f in CREDIT_FLAGS])
    value = models.IntegerField("值", null=True, blank=True)  # booleans as 0/1, counts as is, NULL unknown
    source = models.CharField("来源", max_length=128)
    observed_on = models.DateField("日期")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "信用记录"
        ordering = ["entity", "-observed_on", "-id"]
        indexes = [models.Index(fields=["entity", "flag", "-observed_on"], name="credit_record_entity_flag")]

    def __str__(self):
        return f"{self.entity_id} {self.flag}={self.value}"

    @property
    def value_display(self) -> str:
        if self.value is None:
            return "未知"
        if self.flag in BOOLEAN_CREDIT_FLAGS:
            return "是" if self.value else "否"
        return f"{self.value} 期" if self.flag != "overdue_12m" else f"{self.value} 次"


class CreditRepair(models.Model):
    """信用修复: shared with banks (晋市局文〔2023〕88号 三(四))."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="credit_repairs")
    item = models.CharField("修复事项", max_length=255)
    flag = models.CharField(
        "涉及信用项",
        max_length=32,
        blank=True,
        default="",
        choices=[("", "—")] + [(f, CREDIT_FLAG_LABELS[f]) for f in CREDIT_FLAGS],
    )
    repaired_on = models.DateField("修复日期")
    repaired_by = models.CharField("修复机关", max_length=128)
    note = models.TextField("说明", blank=True, default="")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "信用修复"
        ordering = ["entity", "-repaired_on", "-id"]

    def __str__(self):
        return f"{self.entity_id} {self.item}"


class Honor(models.Model):
    """名特优新 honour with its validity period (valid through `valid_until` inclusive).

    Granted or revoked only by the provincial regulator or an import of the provincial list
    (county task forces propose: HonorProposal). The notice lends on it only "在有效期内", so a
    grant always states `valid_until`; a row without it (older data) has an *unknown* validity
    everywhere — the classifier (classification.honor_validity), the engine (fields.honor_status)
    and the SQL compilation agree: the rules over it come out `unknown` and the verdict asks for
    the validity period, never "valid" and never "expired"."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="honors")
    kind = models.CharField("称号", max_length=16, choices=HonorKind.choices)
    valid_from = models.DateField("有效期自", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)
    source = models.CharField("来源", max_length=16, choices=ChangeSource.choices, default=ChangeSource.IMPORT)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "名特优新"
        ordering = ["entity", "kind"]
        indexes = [models.Index(fields=["kind", "valid_until", "entity"], name="honor_kind_valid_entity")]

    def __str__(self):
        return f"{self.entity_id} {self.get_kind_display()}"


class HonorProposalAction(models.TextChoices):
    GRANT = "grant", "认定"
    REVOKE = "revoke", "撤销"


class HonorProposalState(models.TextChoices):
    PENDING = "pending", "待省市场监管局审核"
    APPROVED = "approved", "已批准"
    REJECTED = "rejected", "未批准"


class HonorProposal(models.Model):
    """A county task force's (or a city regulator's) proposal to grant or revoke a 名特优新
    title, which only the provincial regulator decides ("被省市场监管局认定为名特优新", 001 附件
    三(二)). Lifecycle: created pending (services.honor_propose), then approved — the title is
    granted or revoked through the same service as a direct decision — or rejected with a
    note (services.honor_proposal_decide). One pending proposal per entity, title and action."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="honor_proposals")
    action = models.CharField("申请事项", max_length=8, choices=HonorProposalAction.choices)
    kind = models.CharField("称号", max_length=16, choices=HonorKind.choices)
    valid_from = models.DateField("有效期自", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)
    honor = models.ForeignKey(
        Honor, verbose_name="拟撤销的称号", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField("理由")
    state = models.CharField(
        "状态", max_length=16, choices=HonorProposalState.choices, default=HonorProposalState.PENDING
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请人", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    proposed_by_organisation = models.ForeignKey(
        "portal.Organisation", verbose_name="申请机构", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="审核人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    decision_note = models.TextField("审核意见", blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "名特优新申请"
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["entity", "kind", "action"],
                condition=Q(state="pending"),
                name="one_pending_honor_proposal",
            )
        ]
        indexes = [models.Index(fields=["state", "-created_at"], name="honor_proposal_state")]

    def __str__(self):
        return f"{self.entity_id} {self.get_action_display()}{self.get_kind_display()}"


class BankRelationship(models.Model):
    """The entity's borrowing at one bank (借贷往来), as that bank records it for its own
    customer: how long it has borrowed there in total (累计用款期限), its current line there
    (授信额度), whether it has a non-performing loan there (不良贷款记录) and its overdues there
    in the last 12 months. NULL is unknown. Products read the relationship with their own bank
    (建设银行 示范标杆商户, 001 附件2); a bank sees and changes only its own rows
    (entities.restrictions)."""

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="bank_relationships")
    bank = models.ForeignKey(
        "portal.Organisation", verbose_name="银行", on_delete=models.PROTECT, related_name="+"
    )  # the bank's root organisation (kind bank)
    months_borrowed = models.PositiveIntegerField("在本行累计用款期限(月)", null=True, blank=True)
    credit_line = models.BigIntegerField("在本行授信额度(元)", null=True, blank=True)
    non_performing = models.BooleanField("在本行有不良贷款记录", null=True, blank=True)
    overdue_12m = models.PositiveSmallIntegerField("最近12个月在本行逾期次数", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="填报人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "银行借贷往来"
        ordering = ["entity", "bank"]
        constraints = [
            models.UniqueConstraint(fields=["entity", "bank"], name="bank_relationship_unique"),
            models.CheckConstraint(
                condition=Q(credit_line__gte=0) | Q(credit_line__isnull=True),
                name="bank_relationship_line_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.entity_id} @ {self.bank_id}"


class Renewal(models.Model):
    """A loan of the entity coming due that needs renewal (续贷需求), and what its bank did about
    it: the bank (its root organisation, as in `BankRelationship`), the amount and due date, whether
    the enterprise wants 无还本续贷, who recorded it (from a visit, the enterprise, the task force,
    the bank). States and who may move them: `entities.renewals` (one table)."""

    entity = models.ForeignKey(MarketEntity, verbose_name="经营主体", on_delete=models.CASCADE, related_name="renewals")
    bank = models.ForeignKey(
        "portal.Organisation", verbose_name="贷款银行", on_delete=models.PROTECT, related_name="+"
    )  # the bank's root organisation (kind bank)
    amount = models.BigIntegerField("到期贷款金额(元)")
    due_date = models.DateField("到期日")
    wants_no_repayment = models.BooleanField("申请无还本续贷", default=True)
    source = models.CharField("来源", max_length=16, choices=RenewalSource.choices)
    status = models.CharField("状态", max_length=16, choices=RenewalStatus.choices, default=RenewalStatus.PENDING)
    refusal_reason = models.CharField("拒绝原因", max_length=16, choices=RefusalReason.choices, blank=True, default="")
    note = models.CharField("说明", max_length=255, blank=True, default="")
    outcome_note = models.CharField("办理说明", max_length=255, blank=True, default="")
    outcome_on = models.DateField("办结日期", null=True, blank=True)
    # when the outcome (or the withdrawal) was recorded, which may be later than `outcome_on` (a
    # bank may record a renewal it did days before): the status history the figures "as of a past
    # moment" read. A renewal moves once, from 待续贷 to a closed state (entities.renewals), so its
    # history is `recorded_at` (待续贷 from then) and this moment (the closed state from then).
    outcome_recorded_at = models.DateTimeField("办结登记时间", null=True, blank=True)
    outcome_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="办理人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="登记人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField("登记时间", default=timezone.now)
    reminded_on = models.DateField("到期提醒日期", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "续贷需求"
        ordering = ["due_date", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="renewal_amount_positive"),
            models.CheckConstraint(
                condition=Q(status=RenewalStatus.REFUSED) | Q(refusal_reason=""), name="renewal_reason_only_if_refused"
            ),
            models.CheckConstraint(
                condition=~Q(status=RenewalStatus.REFUSED) | ~Q(refusal_reason=""), name="renewal_refusal_has_reason"
            ),
        ]
        indexes = [models.Index(fields=["bank", "status", "due_date"]), models.Index(fields=["status", "outcome_on"])]

    def __str__(self):
        return f"{self.entity_id} @ {self.bank_id} {self.due_date}"

    @property
    def amount_wan(self):
        return self.amount / 10_000

    @property
    def is_open(self) -> bool:
        return renewal_policy.is_open(self.status)

    def status_as_of(self, moment) -> str | None:
        """The state the record had at `moment` (None: not yet recorded then)."""
        if self.recorded_at > moment:
            return None
        if self.outcome_recorded_at is None or self.outcome_recorded_at > moment:
            return RenewalStatus.PENDING
        return self.status


class TierPolicy(models.Model):
    """三型 thresholds of a province from a date (entities.classification.TierPolicy as JSON)."""

    province = models.ForeignKey("portal.Region", verbose_name="省份", on_delete=models.PROTECT, related_name="+")
    effective_from = models.DateField("生效日期")
    policy = models.JSONField("标准(JSON)")
    note = models.CharField("依据", max_length=255, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "分型标准"
        ordering = ["province", "-effective_from"]
        constraints = [models.UniqueConstraint(fields=["province", "effective_from"], name="tier_policy_unique")]

    def __str__(self):
        return f"{self.province_id} {self.effective_from}"

    def as_policy(self) -> cls.TierPolicy:
        data = dict(self.policy)
        data["province_code"] = self.province_id
        data["effective_from"] = self.effective_from.isoformat()
        return cls.policy_from_dict(data)


class ImportStatus(models.TextChoices):
    PENDING = "pending", "排队中"
    RUNNING = "running", "导入中"
    SUCCEEDED = "succeeded", "已完成"
    FAILED = "failed", "失败"


class EntityImport(models.Model):
    """One register import: who, when, the file (kept in the database so any worker can read
    it), counts, per-cell errors and progress."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="导入人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    organisation = models.ForeignKey(
        "portal.Organisation",
        verbose_name="导入机构",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    region_prefix = models.CharField("可导入的行政区划前缀", max_length=6, blank=True, default="")
    file_name = models.CharField("文件名", max_length=255)
    content = models.BinaryField("文件内容", editable=False)
    status = models.CharField("状态", max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING)
    message = models.TextField("说明", blank=True, default="")
    rows = models.PositiveIntegerField("行数", default=0)
    rows_done = models.PositiveIntegerField("已处理", default=0)
    created = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变化", default=0)
    rejected = models.PositiveIntegerField("拒绝", default=0)
    errors = models.JSONField("错误", default=list, blank=True)
    created_at = models.DateTimeField("提交时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "名录库导入"
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.file_name} ({self.created_at:%Y-%m-%d %H:%M})"

    @property
    def progress_percent(self) -> int:
        if self.status == ImportStatus.SUCCEEDED:
            return 100
        if not self.rows:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows))

    @property
    def is_finished(self) -> bool:
        return self.status in (ImportStatus.SUCCEEDED, ImportStatus.FAILED)


class EntityChange(models.Model):
    """Field-level change history of an entity: {field: [before, after]}."""

    class Kind(models.TextChoices):
        CREATED = "created", "新建"
        UPDATED = "updated", "修改"

    entity = models.ForeignKey(MarketEntity, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField("类型", max_length=16, choices=Kind.choices)
    source = models.CharField("来源", max_length=16, choices=ChangeSource.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    entity_import = models.ForeignKey(EntityImport, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    changes = models.JSONField("变更内容", default=dict, blank=True)
    changed_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "主体变更记录"
        ordering = ["entity", "-changed_at", "-id"]
        indexes = [models.Index(fields=["entity", "-changed_at"], name="entity_change_entity_time")]

    def __str__(self):
        return f"{self.entity_id} {self.kind} {self.changed_at:%Y-%m-%d}"


class ClaimState(models.TextChoices):
    PENDING = "pending", "待专班审核"
    APPROVED = "approved", "已通过"
    REJECTED = "rejected", "未通过"


class EntityClaim(models.Model):
    """A registrant's claim to act for a register entry (entities/onboarding.py: lifecycle).

    Made when a self-registered enterprise user's USCC, operator name and verified phone do
    not match the register; the task force of the county (`region`: the entity's, or the one
    the USCC's registration authority code names) approves it (the user joins the entity's
    enterprise organisation) or rejects it with a reason."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="申请账号", on_delete=models.CASCADE, related_name="entity_claims"
    )
    uscc = models.CharField("统一社会信用代码", max_length=18, db_index=True)
    operator_name = models.CharField("经营者姓名", max_length=64)
    phone = models.CharField("经营者手机号(已验证)", max_length=11)
    entity = models.ForeignKey(
        MarketEntity, verbose_name="经营主体", null=True, blank=True, on_delete=models.SET_NULL, related_name="claims"
    )
    region = models.ForeignKey(
        "portal.Region",
        verbose_name="受理县区",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state = models.CharField("状态", max_length=16, choices=ClaimState.choices, default=ClaimState.PENDING)
    reason = models.CharField("审核意见", max_length=255, blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)
    created_at = models.DateTimeField("申请时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "企业认领申请"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["region", "state"], name="claim_region_state")]

    @property
    def is_pending(self) -> bool:
        return self.state == ClaimState.PENDING

    @property
    def is_rejected(self) -> bool:
        return self.state == ClaimState.REJECTED

    def __str__(self):
        return f"认领 {self.uscc}({self.get_state_display()})"
