from decimal import Decimal, InvalidOperation

from django import forms

from matching.models import (
    BASIC_CRITERIA,
    REPAYMENT_CHOICES,
    REPAYMENT_UNDECIDED,
    ContactChannel,
    Declaration,
    DeclineReason,
    Disbursement,
    Guarantee,
    Recommendation,
    VisitChannel,
)
from matching.verdicts import form_need
from portal import bounds
from products.models import Bank
from products.selectors import banks_serving

NOT_SERVING = "所选银行在该县(区)没有服务机构, 请选择其他银行"


def yuan_from_wan(value) -> int:
    """万元 as typed (up to 4 decimals) → whole 元."""
    try:
        amount = Decimal(str(value)) * 10000
    except InvalidOperation:
        raise forms.ValidationError("请输入数字")
    if amount != amount.to_integral_value():
        raise forms.ValidationError("金额最多精确到元(万元后四位小数)")
    return int(amount)


def wan_from_yuan(amount) -> Decimal | None:
    """Whole 元 → 万元 as a form shows it (no trailing zeros)."""
    if amount is None:
        return None
    wan = Decimal(amount) / 10000
    return wan.quantize(Decimal(1)) if wan == wan.to_integral_value() else wan.normalize()


def repayment_field() -> forms.ChoiceField:
    """还款方式: the requested repayment mode of a declaration, the one field of every form that
    files a need (我要融资, 代为申报, the draft's edit, 银行推荐); blank is 未定. The services check
    the value again (matching.services.common.repayment_mode)."""
    return forms.ChoiceField(
        label="还款方式",
        choices=[("", REPAYMENT_UNDECIDED), *REPAYMENT_CHOICES],
        required=False,
        error_messages={"invalid_choice": "请选择列出的还款方式, 或选择「未定」"},
        help_text="部分产品对还款方式有要求, 如晋享贷: 按月结息、到期一次性还本的授信期限最长不超过 1 年",
    )


class DeclarationForm(forms.Form):
    amount_wan = forms.DecimalField(
        label="融资金额(万元)", min_value=Decimal("0.01"), max_value=Decimal("10000"), decimal_places=4
    )
    term_months = forms.IntegerField(label="期限(月)", min_value=1, max_value=360, initial=12)
    purpose = forms.CharField(label="资金用途", max_length=255)
    repayment = repayment_field()
    banks = forms.ModelMultipleChoiceField(
        label="意向对接银行(1–2 家)",
        queryset=Bank.objects.order_by("code"),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
    )
    consent = forms.BooleanField(label="我同意平台将本企业信息共享给所选意向对接银行", required=False)
    criteria_exception = forms.CharField(
        label="例外理由(有未满足的基本标准仍申报时必填, 由专班组长确认; 标准均满足时无需填写)",
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, county: str | None = None, **kwargs):
        """`county`: the entity's county — only the banks serving it are choices (the ones the
        push routes to); without it (the entity is named in the same form) the service checks."""
        super().__init__(*args, **kwargs)
        if county is not None:
            self.fields["banks"].queryset = banks_serving(county)
            self.fields["banks"].error_messages["invalid_choice"] = NOT_SERVING
        for key, label in BASIC_CRITERIA.items():
            self.fields[f"criteria_{key}"] = forms.BooleanField(label=label, required=False)
            self.fields[f"evidence_{key}"] = forms.CharField(label=f"{label}说明", required=False, max_length=255)

    def clean_banks(self):
        banks = self.cleaned_data["banks"]
        if len(banks) > 2:
            raise forms.ValidationError(f"意向对接银行最多 2 家, 您选择了 {len(banks)} 家")
        return banks

    def criteria(self) -> dict:
        return {
            key: {
                "met": self.cleaned_data.get(f"criteria_{key}", False),
                "evidence": self.cleaned_data.get(f"evidence_{key}", ""),
            }
            for key in BASIC_CRITERIA
        }

    def criteria_fields(self):
        return [(self[f"criteria_{key}"], self[f"evidence_{key}"]) for key in BASIC_CRITERIA]

    def typed_need(self) -> dict:
        """The need typed so far, each field that is valid on its own (an empty or invalid one
        is left out), as the engine reads it (matching.verdicts.form_need): to judge the banks'
        products while the form is being filled, after an error too."""
        values = {}
        for name in ("amount_wan", "term_months", "repayment"):
            try:
                values[name] = self.fields[name].clean(self[name].value())
            except forms.ValidationError:
                values[name] = None
        try:
            amount = yuan_from_wan(values["amount_wan"]) if values["amount_wan"] else None
        except forms.ValidationError:
            amount = None
        return form_need(amount=amount, term_months=values["term_months"], repayment=values["repayment"] or "")

    def service_data(self) -> dict:
        """The valid form as the keyword arguments of declaration_create / declaration_update
        (the need, the banks, the five criteria and their exception, the consent)."""
        data = self.cleaned_data
        return {
            "amount": yuan_from_wan(data["amount_wan"]),
            "term_months": data["term_months"],
            "purpose": data["purpose"],
            "repayment": data["repayment"],
            "bank_codes": [b.code for b in data["banks"]],
            "basic_criteria": self.criteria(),
            "criteria_exception": data["criteria_exception"],
            "consent": data["consent"],
        }

    @staticmethod
    def initial_from(declaration) -> dict:
        """The form's initial values for editing `declaration` (a draft)."""
        return {
            "amount_wan": declaration.amount / 10000,
            "term_months": declaration.term_months,
            "purpose": declaration.purpose,
            "repayment": declaration.repayment,
            "banks": [b.bank for b in declaration.intended_banks.select_related("bank")],
            "consent": declaration.consent_given_at is not None,
            "criteria_exception": declaration.criteria_exception,
            **{f"criteria_{k}": v.get("met") for k, v in declaration.basic_criteria.items()},
            **{f"evidence_{k}": v.get("evidence") for k, v in declaration.basic_criteria.items()},
        }


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(
        label="审核结论", choices=[("approve", "通过"), ("return", "退回修改"), ("reject", "不通过")]
    )
    comment = forms.CharField(
        label="审核意见",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "placeholder": "退回或不通过时必填"}),
    )


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label="对接方式", choices=ContactChannel.choices)
    note = forms.CharField(label="对接情况", required=False)


class ApproveForm(forms.Form):
    # the service's argument → the form's field, for its errors (portal.forms.apply_application_error)
    service_fields = {"credit_amount": "credit_amount_wan"}

    credit_amount_wan = bounds.FormDecimalField(
        label="授信金额(万元)",
        field=bounds.column(Recommendation, "credit_amount"),
        unit=10000,
        min_value=Decimal("0.01"),
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    rate_percent = forms.DecimalField(
        label="年利率(%)",
        min_value=Decimal("0.01"),
        max_value=Decimal("35.99"),
        decimal_places=3,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    term_months = forms.IntegerField(
        label="期限(月)", min_value=1, max_value=360, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    guarantee = forms.ChoiceField(label="担保方式", choices=Guarantee.choices)
    is_credit_loan = forms.BooleanField(label="信用贷款", required=False)
    is_first_loan = forms.BooleanField(label="首贷", required=False)
    # only a bank administrator may approve beyond the product's or the need's limits, with a reason
    override_reason = forms.CharField(
        label="超限审批理由", required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class DeclineForm(forms.Form):
    reason_code = forms.ModelChoiceField(
        label="不予授信原因",
        queryset=DeclineReason.objects.filter(is_active=True),
        to_field_name="code",
        empty_label=None,
    )
    note = forms.CharField(
        label="不予授信说明",
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "选择「其他原因」时必填"}),
    )


class DisburseForm(forms.Form):
    service_fields = {"amount": "amount_wan"}

    amount_wan = bounds.FormDecimalField(
        label="放款金额(万元)",
        field=bounds.column(Disbursement, "amount"),
        unit=10000,
        min_value=Decimal("0.01"),
        decimal_places=4,
        widget=forms.TextInput(attrs={"inputmode": "decimal"}),
    )
    disbursed_on = forms.DateField(label="放款日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))


class MaterialsListForm(forms.Form):
    """列明所需材料 on the lead page (matching.services.recommendation_materials_list checks)."""

    items = forms.CharField(
        label="所需材料(每行一项; 已按产品材料清单预填, 可修改)",
        required=False,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    note = forms.CharField(
        label="材料说明", required=False, widget=forms.TextInput(attrs={"placeholder": "选填, 如原件核验方式"})
    )


class MaterialsSupplementForm(forms.Form):
    """要求补充材料 on the lead page: the listed items that are missing, any others, a note
    (matching.services.recommendation_materials_supplement checks)."""

    missing = forms.MultipleChoiceField(label="需补充的材料", required=False, widget=forms.CheckboxSelectMultiple)
    extra = forms.CharField(
        label="清单外还需的材料(每行一项, 选填)", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    note = forms.CharField(label="补充说明", required=False, widget=forms.TextInput(attrs={"placeholder": "选填"}))

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["missing"].choices = [(name, name) for name in items]


def _correction_reason():
    return forms.CharField(label="更正原因", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


class CorrectionForm(forms.Form):
    """更正线索状态, 撤回误传的材料: the reason (the service also requires it)."""

    reason = _correction_reason()


class CorrectDecisionForm(ApproveForm):
    """更正授信决定: the terms of the 授信 as they should have been recorded, and the reason."""

    override_reason = None
    reason = _correction_reason()

    @staticmethod
    def initial_from(lead) -> dict:
        """The 授信 as it was recorded, for the bank administrator to change what was wrong."""
        return {
            "credit_amount_wan": wan_from_yuan(lead.credit_amount),
            "rate_percent": lead.rate_percent,
            "term_months": lead.credit_term_months,
            "guarantee": lead.guarantee,
            "is_credit_loan": lead.is_credit_loan,
            "is_first_loan": lead.is_first_loan,
        }


class CorrectDrawdownForm(forms.Form):
    """更正放款: the drawdown, its right amount or 作废, and the reason."""

    service_fields = {"amount": "amount_wan"}

    disbursement = forms.TypedChoiceField(label="放款记录", coerce=int, choices=())
    amount_wan = bounds.FormDecimalField(
        label="更正后金额(万元)",
        field=bounds.column(Disbursement, "amount"),
        unit=10000,
        min_value=Decimal("0.01"),
        decimal_places=4,
        required=False,
    )
    void = forms.BooleanField(label="作废该笔放款", required=False)
    reason = _correction_reason()

    def __init__(self, *args, drawdowns=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["disbursement"].choices = [(d.pk, str(d)) for d in drawdowns]

    def clean(self):
        data = super().clean()
        if not data.get("void") and data.get("amount_wan") is None and "amount_wan" not in self.errors:
            self.add_error("amount_wan", "请填写更正后的放款金额, 或勾选「作废该笔放款」")
        return data


class BatchEntryRemoveForm(forms.Form):
    """移出批次 (the convener, before the push): the declaration signed in by mistake and the reason."""

    declaration = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=bounds.ID_MAX)
    reason = forms.CharField(
        label="移出批次的更正原因",
        max_length=500,
        error_messages={"required": "请填写更正原因"},
        widget=forms.TextInput(attrs={"placeholder": "更正原因"}),
    )


class MaterialWithdrawForm(forms.Form):
    """撤回误传的材料: one of the files the bank uploaded to its lead, and the reason."""

    material = forms.TypedChoiceField(label="本行上传的文件", coerce=int, choices=())
    reason = forms.CharField(label="撤回原因", max_length=500)

    def __init__(self, *args, files=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["material"].choices = [(f.pk, f.original_name) for f in files]


def _text(label: str, missing: str = "", *, placeholder: str = "") -> forms.CharField:
    """A one-line text of a page's action, up to 1000 characters; `missing`: the error when it
    is left empty (required), none for an optional one."""
    attrs = {"placeholder": placeholder} if placeholder else {}
    return forms.CharField(
        label=label,
        max_length=1000,
        required=bool(missing),
        error_messages={"required": missing} if missing else {},
        widget=forms.TextInput(attrs=attrs),
    )


class RateForm(forms.Form):
    """评价服务 on the declaration page (the enterprise, per bank): a score and a comment."""

    score = forms.TypedChoiceField(
        label="评分",
        coerce=int,
        choices=[(5, "5 非常满意"), (4, "4 满意"), (3, "3 一般"), (2, "2 不满意"), (1, "1 很不满意")],
        error_messages={"invalid_choice": "评分须为 1 至 5", "required": "请选择评分"},
    )
    comment = _text("评价", placeholder="选填")


class CoachForm(forms.Form):
    """登记辅导 of a declined enterprise (the task force, per bank)."""

    note = _text("辅导情况", "请填写辅导情况", placeholder="如: 已指导企业补充纳税证明")


class RedirectForm(forms.Form):
    """提议改推其他银行 after a 不予授信 (the task force): the bank and a comment."""

    service_fields = {"bank_code": "bank"}

    bank = forms.ChoiceField(label="改推银行", error_messages={"invalid_choice": "请选择有效的银行"})
    comment = _text("改推说明", placeholder="选填")

    def __init__(self, *args, banks=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["bank"].choices = [(b.code, b.name) for b in banks]


class RemoveForm(forms.Form):
    """移出推荐清单 (the task force): the reason."""

    reason = _text("移出原因", "请填写原因(如提供虚假材料、挪用资金)", placeholder="如提供虚假材料、挪用资金")


class WithdrawForm(forms.Form):
    """撤回申报: the reason, optional."""

    reason = _text("撤回原因", placeholder="选填")


class VisitForm(forms.Form):
    uscc = forms.CharField(label="统一社会信用代码", max_length=18)
    visited_on = forms.DateField(label="走访日期", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    people = forms.CharField(label="走访人员", max_length=255)
    findings = forms.CharField(label="走访情况", required=False, widget=forms.Textarea(attrs={"rows": 3}))
    # 实地走访 unless told otherwise (a visit recorded before the 大走访 had no channel)
    channel = forms.TypedChoiceField(
        label="走访方式",
        choices=VisitChannel.choices,
        initial=VisitChannel.ON_SITE,
        required=False,
        empty_value=VisitChannel.ON_SITE,
    )
    need_found = forms.BooleanField(label="发现融资需求", required=False)
    renewal_found = forms.BooleanField(label="发现续贷需求(贷款即将到期)", required=False)


class StaffDeclarationForm(DeclarationForm):
    """专班代为申报: the same form, for an entity picked by its credit code; started from a visit
    (a 大走访 重点走访, `visit_id`), it is pre-filled from the visit's record and names it."""

    uscc = forms.CharField(label="统一社会信用代码", max_length=18)
    visit_id = forms.IntegerField(required=False, min_value=1, max_value=2**31 - 1, widget=forms.HiddenInput)

    field_order = ["uscc"]

    @staticmethod
    def initial_from_visit(visit) -> dict:
        """The form's initial values from a visit's 重点走访 record: the need, the real purpose,
        the five criteria with their evidence."""
        initial = {"uscc": visit.entity.uscc, "visit_id": visit.pk, "term_months": visit.need_term_months or 12}
        if visit.need_amount:
            initial["amount_wan"] = Decimal(visit.need_amount) / 10000
        if visit.loan_purpose:
            initial["purpose"] = visit.loan_purpose
        for key, found in (visit.basic_criteria or {}).items():
            initial[f"criteria_{key}"] = bool(found.get("met"))
            initial[f"evidence_{key}"] = found.get("evidence", "")
        return initial

    def service_data(self) -> dict:
        return {**super().service_data(), "visit_id": self.cleaned_data.get("visit_id")}


class BankRecommendForm(forms.Form):
    uscc = forms.CharField(label="统一社会信用代码", max_length=18)
    amount_wan = bounds.FormDecimalField(
        label="融资金额(万元)",
        field=bounds.column(Declaration, "amount"),
        unit=10000,
        min_value=Decimal("0.01"),
        decimal_places=4,
    )
    term_months = forms.IntegerField(label="期限(月)", min_value=1, max_value=360, initial=12)
    purpose = forms.CharField(label="资金用途", max_length=255)
    repayment = repayment_field()
    note = forms.CharField(label="推荐理由", required=False, max_length=500)


class DirectApplicationForm(forms.Form):
    """直接申请 from the 产品超市 (seed 002 point 5): the need and the consent to share the
    enterprise's data with the product's bank."""

    service_fields = {"amount": "amount_wan"}

    amount_wan = forms.DecimalField(
        label="申请金额(万元)", min_value=Decimal("0.01"), max_value=Decimal("10000"), decimal_places=4
    )
    term_months = forms.IntegerField(label="期限(月)", min_value=1, max_value=360, initial=12)
    purpose = forms.CharField(label="资金用途", max_length=255)
    repayment = repayment_field()
    consent = forms.BooleanField(
        label="我同意向该银行共享本企业的登记、分类及融资需求信息, 用于本次授信申请",
        required=True,
        error_messages={"required": "请同意向该银行共享本企业信息后再申请"},
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = (
                "form-check-input" if name == "consent" else ("form-select" if name == "repayment" else "form-control")
            )
            field.widget.attrs.setdefault("class", css)

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {
            "amount": yuan_from_wan(data["amount_wan"]),
            "term_months": data["term_months"],
            "purpose": data["purpose"],
            "repayment": data["repayment"],
            "consent": data["consent"],
        }
