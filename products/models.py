from django.conf import settings
from django.db import models
from django.db.models import Q

from portal.models import Organisation, Region


class Bank(models.Model):
    """A bank as present in one province (its provincial branch is the root BankBranch)."""

    code = models.SlugField("银行代码", max_length=32, unique=True)
    name = models.CharField("银行名称", max_length=64)
    organisation = models.OneToOneField(
        Organisation, verbose_name="机构", on_delete=models.PROTECT, related_name="bank"
    )
    service_area_prefixes = models.JSONField("服务区域(行政区划代码前缀)", default=list)
    source = models.JSONField("来源", default=dict, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "银行"
        ordering = ["code"]

    def __str__(self):
        return self.name


class BranchLevel(models.TextChoices):
    PROVINCIAL = "provincial", "省分行"
    CITY = "city", "市分行"
    COUNTY = "county", "县支行"
    OUTLET = "outlet", "网点"


class BankBranch(models.Model):
    bank = models.ForeignKey(Bank, verbose_name="银行", on_delete=models.PROTECT, related_name="branches")
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    name = models.CharField("名称", max_length=128)
    level = models.CharField("层级", max_length=16, choices=BranchLevel.choices)
    region = models.ForeignKey(Region, verbose_name="所在地", on_delete=models.PROTECT)
    organisation = models.OneToOneField(
        Organisation, verbose_name="机构", on_delete=models.PROTECT, related_name="bank_branch"
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = verbose_name_plural = "银行分支机构"
        ordering = ["bank", "region_id", "name"]

    def __str__(self):
        return self.name


class BranchServiceArea(models.Model):
    """A branch serves every county whose code starts with `region_prefix` (14, 1405, 140525)."""

    branch = models.ForeignKey(BankBranch, on_delete=models.CASCADE, related_name="service_areas")
    region_prefix = models.CharField("服务区域代码前缀", max_length=6)

    class Meta:
        verbose_name = verbose_name_plural = "服务区域"
        constraints = [models.UniqueConstraint(fields=["branch", "region_prefix"], name="unique_branch_service_area")]
        indexes = [models.Index(fields=["region_prefix"])]

    def __str__(self):
        return f"{self.branch} 服务区域 {self.region_prefix}"


class BranchRoute(models.Model):
    """Explicit routing: leads of entities in `county` go to `branch` (overrides the service areas)."""

    bank = models.ForeignKey(Bank, on_delete=models.CASCADE, related_name="routes")
    county = models.ForeignKey(Region, verbose_name="县(区)", on_delete=models.PROTECT)
    branch = models.ForeignKey(BankBranch, verbose_name="接收机构", on_delete=models.CASCADE)

    class Meta:
        verbose_name = verbose_name_plural = "线索路由"
        constraints = [models.UniqueConstraint(fields=["bank", "county"], name="unique_bank_county_route")]

    def __str__(self):
        return f"{self.bank} {self.county} → {self.branch}"


class ProductStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    ACTIVE = "active", "在售"
    RETIRED = "retired", "已下架"


class Channel(models.TextChoices):
    ONLINE = "online", "线上"
    OFFLINE = "offline", "线下"


# 四张清单 per product (seed 002 point 5), field → label
FOUR_LISTS = {
    "approval_authority": "审批权限",
    "admission_conditions": "客户准入条件",
    "application_materials": "申请资料",
    "process": "办理流程",
    "reply_promise": "受理回告承诺",
}


class LoanProduct(models.Model):
    code = models.SlugField("产品代码", max_length=64, unique=True)
    bank = models.ForeignKey(Bank, verbose_name="银行", on_delete=models.PROTECT, related_name="products")
    name = models.CharField("产品名称", max_length=64)
    status = models.CharField("状态", max_length=16, choices=ProductStatus.choices, default=ProductStatus.DRAFT)
    current_version = models.ForeignKey(
        "LoanProductVersion", verbose_name="当前版本", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # 融资服务“四张清单” (seed 002 point 5: "推动全县银行机构编制授权、授信、受理回告清单并向社会
    # 公示,明确公开小微信贷审批权限、客户准入条件、申请资料、办理流程等"): what the bank publishes
    # per product, shown in the 产品超市; FOUR_LISTS names them, `four_lists_missing` the gaps
    approval_authority = models.TextField("审批权限", blank=True, default="")
    admission_conditions = models.TextField("客户准入条件", blank=True, default="")
    application_materials = models.TextField("申请资料", blank=True, default="")
    process = models.TextField("办理流程", blank=True, default="")
    reply_promise = models.TextField("受理回告承诺", blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "贷款产品"
        ordering = ["bank__code", "code"]

    def __str__(self):
        return f"{self.name}({self.code})"

    @property
    def four_lists(self) -> list[tuple[str, str, str]]:
        """(field, label, text) of each published list, in the notice's order."""
        return [(name, label, getattr(self, name)) for name, label in FOUR_LISTS.items()]

    @property
    def four_lists_missing(self) -> list[str]:
        """The labels of the lists this product has not published (blank)."""
        return [label for name, label in FOUR_LISTS.items() if not getattr(self, name).strip()]


class LoanProductVersion(models.Model):
    """An immutable, published definition of a product: attributes, rules and caps as data.
    Editing an active product creates a new version; evaluations record the version used."""

    product = models.ForeignKey(LoanProduct, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField("版本号")
    effective_from = models.DateField("生效日期")
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    definition = models.JSONField("定义")
    # queryable copies of the definition's main attributes
    channel = models.CharField("渠道", max_length=16, choices=Channel.choices, blank=True, default="")
    max_amount = models.BigIntegerField("最高额度(元)", null=True, blank=True)
    max_term_months = models.PositiveIntegerField("最长期限(月)", null=True, blank=True)
    entity_types = models.JSONField("适用主体类型", default=list)
    guarantee = models.JSONField("担保方式", default=list)

    class Meta:
        verbose_name = verbose_name_plural = "产品版本"
        ordering = ["product", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["product", "number"], name="unique_product_version_number"),
            models.UniqueConstraint(
                fields=["product"], condition=Q(published_at__isnull=True), name="one_draft_version_per_product"
            ),
        ]

    def __str__(self):
        return f"{self.product.code} v{self.number}"

    @property
    def is_published(self) -> bool:
        return self.published_at is not None
