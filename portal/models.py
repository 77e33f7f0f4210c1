from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import CharField, Q, Value
from django.db.models.functions import Concat, Substr
from django.dispatch import Signal
from django.utils import timezone

# Sent inside the transaction of a move, after every descendant's path was rewritten, with
# old_path and new_path: receivers rewrite whatever they derived from paths (reporting facts).
organisation_moved = Signal()


class RegionLevel(models.TextChoices):
    PROVINCE = "province", "省"
    CITY = "city", "市"
    COUNTY = "county", "县(区、市)"
    TOWNSHIP = "township", "乡镇(街道)"


class Region(models.Model):
    """Administrative division (GB/T 2260; townships use a 9-digit code)."""

    code = models.CharField("行政区划代码", max_length=12, primary_key=True)
    name = models.CharField("名称", max_length=64)
    level = models.CharField("层级", max_length=16, choices=RegionLevel.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        verbose_name = verbose_name_plural = "行政区划"
        ordering = ["code"]

    def __str__(self):
        return f"{self.name}({self.code})"

    @property
    def scope_prefix(self) -> str:
        """Code prefix shared by everything inside this region (14 → Shanxi, 1405 → 晋城)."""
        if self.level == RegionLevel.PROVINCE:
            return self.code[:2]
        if self.level == RegionLevel.CITY:
            return self.code[:4]
        return self.code


class IndustryLevel(models.TextChoices):
    SECTION = "section", "门类"
    DIVISION = "division", "大类"
    GROUP = "group", "中类"
    CLASS = "class", "小类"


class Industry(models.Model):
    """GB/T 4754-2017 national economic industry classification."""

    code = models.CharField("行业代码", max_length=4, primary_key=True)
    name = models.CharField("名称", max_length=128)
    level = models.CharField("层级", max_length=16, choices=IndustryLevel.choices)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")

    class Meta:
        verbose_name = verbose_name_plural = "国民经济行业分类"
        ordering = ["code"]

    def __str__(self):
        return f"{self.code} {self.name}"


class OrganisationKind(models.TextChoices):
    PLATFORM = "platform", "平台运营方"
    PROVINCE_MECHANISM = "province_mechanism", "省级协调机制"
    CITY_MECHANISM = "city_mechanism", "市级协调机制"
    COUNTY_MECHANISM = "county_mechanism", "县级协调机制"
    TASK_FORCE = "task_force", "县级工作专班"
    TOWNSHIP = "township", "乡镇(街道)"
    # a member department of a mechanism (发展改革, 自然资源, 住房城乡建设, 市场监管, …) at the county,
    # city or province level of its region: it receives 批分单 (coordination app, seed 004 二(七))
    DEPARTMENT = "department", "职能部门"
    # the grassroots organisations a county task force sends on 千企万户大走访 visits (seed 004 二(四):
    # "组织委办局、乡镇、街道、村组、社区、工商联和银行机构 … 通过电话、走访等形式 … 摸排"): their
    # users (Role.VISITOR) record visits of the entities assigned to them (campaigns app)
    VILLAGE = "village", "村组(社区)"
    FEDERATION = "federation", "工商联"
    BANK = "bank", "银行机构"
    BANK_BRANCH = "bank_branch", "银行分支机构"
    ENTERPRISE = "enterprise", "企业"


GOVERNMENT_KINDS = {
    OrganisationKind.PROVINCE_MECHANISM,
    OrganisationKind.CITY_MECHANISM,
    OrganisationKind.COUNTY_MECHANISM,
    OrganisationKind.TASK_FORCE,
    OrganisationKind.TOWNSHIP,
    OrganisationKind.DEPARTMENT,
    OrganisationKind.VILLAGE,
    OrganisationKind.FEDERATION,
}
BANK_KINDS = {OrganisationKind.BANK, OrganisationKind.BANK_BRANCH}


class Organisation(models.Model):
    name = models.CharField("名称", max_length=128)
    kind = models.CharField("类型", max_length=32, choices=OrganisationKind.choices)
    region = models.ForeignKey(Region, verbose_name="行政区划", null=True, blank=True, on_delete=models.PROTECT)
    parent = models.ForeignKey(
        "self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    # materialised path "/1/4/9/" so a subtree is one indexed prefix match
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    code = models.SlugField("机构代码", max_length=64, unique=True, null=True, blank=True)
    is_active = models.BooleanField("启用", default=True)
    # the named contact of a bank branch or a 职能部门 (issue 17 part 5: shown on leads, 批分单 and
    # 督办单), kept by its own administrator (portal.services.organisation_contact_update)
    contact_name = models.CharField("联系人", max_length=32, blank=True, default="")
    contact_phone = models.CharField("联系电话", max_length=20, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "机构"
        ordering = ["path"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kind__in=sorted(k.value for k in GOVERNMENT_KINDS)) | Q(region__isnull=False),
                name="government_org_has_region",
            ),
        ]

    def __str__(self):
        return self.name

    @property
    def contact(self) -> str:
        """联系人 and phone as shown on pages: "钱科长 0356-1234567", or "" when none is named."""
        return " ".join(p for p in (self.contact_name, self.contact_phone) if p)

    def clean(self):
        super().clean()
        if self.pk is not None and self.parent_id is not None and f"/{self.pk}/" in self._parent_path():
            raise ValidationError({"parent": "不能把机构移到其自身或下级机构之下"})

    def _parent_path(self) -> str:
        # read from the database: an in-memory parent may predate a move of its own
        if self.parent_id is None:
            return "/"
        return type(self).objects.filter(pk=self.parent_id).values_list("path", flat=True).first() or "/"

    def save(self, *args, **kwargs):
        """The path depends on the primary key, so it is completed after the first insert. A
        move (a new parent) rewrites the path of every descendant in the same transaction."""
        manager = type(self).objects
        with transaction.atomic():
            old_path = ""
            if self.pk is not None:
                old_path = manager.select_for_update().filter(pk=self.pk).values_list("path", flat=True).first() or ""
            parent_path = self._parent_path()
            if self.pk is not None and f"/{self.pk}/" in parent_path:
                raise ValueError("不能把机构移到其自身或下级机构之下")
            super().save(*args, **kwargs)
            expected = f"{parent_path}{self.pk}/"
            if self.path != expected:
                self.path = expected
                manager.filter(pk=self.pk).update(path=expected)
            if old_path and old_path != expected:
                manager.filter(path__startswith=old_path).exclude(pk=self.pk).update(
                    path=Concat(Value(expected), Substr("path", len(old_path) + 1), output_field=CharField())
                )
                organisation_moved.send(sender=type(self), organisation=self, old_path=old_path, new_path=expected)

    @property
    def is_government(self) -> bool:
        return self.kind in GOVERNMENT_KINDS

    @property
    def is_bank(self) -> bool:
        return self.kind in BANK_KINDS

    def ancestors(self):
        ids = [int(p) for p in self.path.strip("/").split("/") if p]
        return Organisation.objects.filter(pk__in=ids).order_by("path")


class Role(models.TextChoices):
    ENTERPRISE_USER = "enterprise_user", "企业用户"
    TASK_FORCE_STAFF = "task_force_staff", "专班工作人员"
    TASK_FORCE_BANK_REVIEWER = "task_force_bank_reviewer", "专班银行审核人"
    TASK_FORCE_LEAD = "task_force_lead", "专班组长"
    CONVENER = "convener", "召集人"
    CITY_REGULATOR = "city_regulator", "市级协调机制"
    PROVINCE_REGULATOR = "province_regulator", "省级协调机制"
    BANK_ADMIN = "bank_admin", "银行管理员"
    ACCOUNT_MANAGER = "account_manager", "客户经理"
    PLATFORM_ADMIN = "platform_admin", "平台管理员"
    DEPARTMENT_STAFF = "department_staff", "职能部门工作人员"
    # a 走访人员 of a 乡镇(街道), 村组(社区), 工商联 or 委办局: records the visits of the entities a county
    # task force assigned to him in a 大走访 campaign, and nothing else (campaigns app)
    VISITOR = "visitor", "走访人员"


# which organisation kinds may hold each role
ROLE_ORGANISATION_KINDS = {
    Role.ENTERPRISE_USER: {OrganisationKind.ENTERPRISE},
    Role.TASK_FORCE_STAFF: {OrganisationKind.TASK_FORCE, OrganisationKind.TOWNSHIP},
    Role.TASK_FORCE_BANK_REVIEWER: {OrganisationKind.TASK_FORCE},
    Role.TASK_FORCE_LEAD: {OrganisationKind.TASK_FORCE},
    Role.CONVENER: {OrganisationKind.COUNTY_MECHANISM, OrganisationKind.CITY_MECHANISM},
    Role.CITY_REGULATOR: {OrganisationKind.CITY_MECHANISM},
    Role.PROVINCE_REGULATOR: {OrganisationKind.PROVINCE_MECHANISM},
    Role.BANK_ADMIN: {OrganisationKind.BANK, OrganisationKind.BANK_BRANCH},
    Role.ACCOUNT_MANAGER: {OrganisationKind.BANK_BRANCH},
    Role.PLATFORM_ADMIN: {OrganisationKind.PLATFORM},
    Role.DEPARTMENT_STAFF: {OrganisationKind.DEPARTMENT},
    Role.VISITOR: {
        OrganisationKind.TOWNSHIP,
        OrganisationKind.VILLAGE,
        OrganisationKind.FEDERATION,
        OrganisationKind.DEPARTMENT,
    },
}


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    organisation = models.ForeignKey(
        Organisation, verbose_name="机构", on_delete=models.PROTECT, related_name="memberships"
    )
    role = models.CharField("角色", max_length=32, choices=Role.choices)
    is_primary = models.BooleanField("默认身份", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "机构成员"
        constraints = [
            models.UniqueConstraint(fields=["user", "organisation", "role"], name="unique_membership"),
            models.UniqueConstraint(fields=["user"], condition=Q(is_primary=True), name="one_primary_membership"),
        ]

    def __str__(self):
        return f"{self.user} · {self.organisation} · {self.get_role_display()}"


class AuditEvent(models.Model):
    """One row per audited action; services write it in the same transaction as the change."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation = models.ForeignKey(Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField("动作", max_length=64, db_index=True)
    object_type = models.ForeignKey(ContentType, null=True, blank=True, on_delete=models.SET_NULL)
    object_id = models.CharField(max_length=64, blank=True, default="")
    object_repr = models.CharField("对象", max_length=255, blank=True, default="")
    before = models.JSONField("变更前", null=True, blank=True)
    after = models.JSONField("变更后", null=True, blank=True)
    ip_address = models.GenericIPAddressField("IP", null=True, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = verbose_name_plural = "审计事件"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"


class BeatHeartbeat(models.Model):
    """Last time the periodic scheduler ran, shown to administrators."""

    name = models.CharField(max_length=64, primary_key=True)
    last_run_at = models.DateTimeField()
    runs = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = verbose_name_plural = "定时任务心跳"


class ApiToken(models.Model):
    """A named API token for one of a bank's systems (portal/tokens.py: lifecycle).

    Issued by a bank administrator, it acts as him (his role and organisation) until it
    expires, is revoked by an administrator of his bank, or is revoked by the portal when his
    password changes or his account is deactivated; it is refused while his username is
    locked by the login throttle. Only the SHA-256 digest of the key is stored: the key is
    shown once, when it is issued. `prefix` (the key's first characters) tells keys apart."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="使用账号", on_delete=models.CASCADE, related_name="api_tokens"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name="机构", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField("名称", max_length=64)
    prefix = models.CharField("令牌前缀", max_length=16, unique=True)
    digest = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField("签发时间", auto_now_add=True)
    expires_at = models.DateTimeField("到期时间")
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoke_reason = models.CharField("吊销原因", max_length=255, blank=True, default="")

    class Meta:
        verbose_name = verbose_name_plural = "API 令牌"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "revoked_at"])]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    def status(self, now=None) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or timezone.now()) else "active"

    def status_display(self) -> str:
        return {"active": "有效", "expired": "已过期", "revoked": "已吊销"}[self.status()]


class AccountProfile(models.Model):
    """What the portal keeps about a user besides Django's user (portal/users.py: lifecycle):
    the phone an administrator entered when inviting him, and whether he must choose a new
    password at his next sign-in (after an invitation or a reset with a temporary password;
    cleared when he changes it)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="account_profile")
    phone = models.CharField("手机号", max_length=20, blank=True, default="")
    must_change_password = models.BooleanField("下次登录须修改密码", default=False)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "账号资料"

    def __str__(self):
        return f"{self.user} 的账号资料"

    @property
    def masked_phone(self) -> str:
        """The phone as pages, the API and the audit log show it (138****0001): never in clear."""
        phone = self.phone or ""
        return f"{phone[:3]}****{phone[-4:]}" if len(phone) >= 7 else ("****" if phone else "")


class PhoneCodePurpose(models.TextChoices):
    REGISTER = "register", "企业注册"
    PASSWORD_RESET = "password_reset", "找回密码"


class PhoneCode(models.Model):
    """A verification code sent by SMS (portal/phone_codes.py: lifecycle). Only the code's
    hash is stored (Django's password hasher); it expires, allows a few wrong guesses, and is
    used once."""

    phone = models.CharField("手机号", max_length=11, db_index=True)
    purpose = models.CharField("用途", max_length=32, choices=PhoneCodePurpose.choices)
    code_hash = models.CharField(max_length=128, editable=False)
    created_at = models.DateTimeField("发送时间", default=timezone.now)
    expires_at = models.DateTimeField("失效时间")
    attempts = models.PositiveSmallIntegerField("错误次数", default=0)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)
    ip_address = models.GenericIPAddressField("IP", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "短信验证码"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["phone", "purpose", "created_at"], name="phone_code_lookup")]

    def __str__(self):
        return f"{self.get_purpose_display()}验证码 {mask_phone(self.phone)}"


class UserPhone(models.Model):
    """A user's verified mobile number: he may reset his password by a code sent to it."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="verified_phone")
    phone = models.CharField("手机号", max_length=11, unique=True)
    verified_at = models.DateTimeField("验证时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "用户手机号"

    def __str__(self):
        return f"{self.user} · {mask_phone(self.phone)}"


def mask_phone(phone: str) -> str:
    return f"{phone[:3]}****{phone[-4:]}" if len(phone) == 11 else "****"
