"""Issue 16 item 7: "Forms keep what was typed after an error, show all errors at once next to
their fields, and name the field in Chinese."

Each case posts bad input to one form and reads the page that comes back (400, the same page,
not a redirect): every value typed is in its field again; every field in error carries
aria-invalid and an aria-describedby naming its error, and that error sits inside the field's
own wrapper (templates/portal/_field.html); the box above the form names the fields in Chinese;
nothing was recorded."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from entities.factories import MarketEntityFactory
from entities.models import HonorProposal
from entities.services import honor_propose
from matching import materials
from matching import services as s
from matching.factories import declare, pushed, through_reviews
from matching.models import Declaration, DeclarationMaterial, Disbursement, Recommendation, RecommendationState, Visit
from portal.factories import user_with_role
from portal.models import ApiToken, Role

pytestmark = pytest.mark.django_db

VOID = {"input", "br", "img", "meta", "link", "hr", "source", "col", "area", "base", "wbr", "embed"}


@dataclass
class Node:
    tag: str
    attrs: dict
    parent: Node | None = None
    children: list = field(default_factory=list)
    text: str = ""

    def all_text(self) -> str:
        return self.text + "".join(c.all_text() for c in self.children)

    def walk(self):
        yield self
        for child in self.children:
            yield from child.walk()

    def ancestors(self):
        node = self.parent
        while node is not None:
            yield node
            node = node.parent


class Tree(HTMLParser):
    """The page as a tree of elements (enough of HTML for these pages: void elements close
    themselves, every other element is closed by its end tag)."""

    def __init__(self, html: str):
        super().__init__()
        self.root = self.current = Node("root", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: v or "" for k, v in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_endtag(self, tag):
        node = self.current
        while node is not None and node.tag != tag:
            node = node.parent
        if node is not None and node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data

    def find(self, **attrs) -> list[Node]:
        return [n for n in self.root.walk() if all(n.attrs.get(k) == v for k, v in attrs.items())]


def _lead(world, *, approved=False, contacted=True):
    _, _, leads = pushed(world, ("boc",))
    lead, manager = leads["boc"], world.users["boc_manager"]
    s.recommendations_assign(actor=world.users["boc_admin"], recommendation_ids=[lead.pk], manager_id=manager.pk)
    if contacted:
        s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    if approved:
        s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
        s.recommendation_approve(
            actor=manager,
            recommendation_id=lead.pk,
            credit_amount=250_000,
            rate_percent="3.8",
            term_months=12,
            guarantee="credit",
            is_credit_loan=True,
            is_first_loan=False,
        )
    return lead, manager


@dataclass
class Case:
    """A form's bad input: who posts it where, what was typed (each value that must come back),
    the fields in error {name: (widget id, Chinese label, a word of the error)}, and a check
    that nothing was recorded."""

    user: object
    url: str
    data: dict
    typed: dict
    errors: dict
    unchanged: object = None


def case_授信(world):
    lead, manager = _lead(world)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
    return Case(
        manager,
        f"/matching/leads/{lead.pk}/act/approve/",
        {"credit_amount_wan": "三十", "rate_percent": "abc", "term_months": "18", "guarantee": "credit"},
        typed={"approve-credit_amount_wan": "三十", "approve-rate_percent": "abc", "approve-term_months": "18"},
        errors={
            "credit_amount_wan": ("approve-credit_amount_wan", "授信金额(万元)", "数"),
            "rate_percent": ("approve-rate_percent", "年利率(%)", "数"),
        },
        unchanged=lambda: Recommendation.objects.get(pk=lead.pk).credit_amount is None,
    )


def case_不予授信(world):
    lead, manager = _lead(world)
    return Case(
        manager,
        f"/matching/leads/{lead.pk}/act/decline/",
        {"reason_code": "other", "note": "  "},
        typed={"decline-reason_code": "other"},
        errors={"note": ("decline-note", "不予授信说明", "须填写说明")},
        unchanged=lambda: Recommendation.objects.get(pk=lead.pk).decline_reason_id is None,
    )


def case_放款(world):
    lead, manager = _lead(world, approved=True)
    today = timezone.localdate().isoformat()
    return Case(
        manager,
        f"/matching/leads/{lead.pk}/act/disburse/",
        {"amount_wan": "30", "disbursed_on": today},
        typed={"disburse-amount_wan": "30", "disburse-disbursed_on": today},
        errors={"amount_wan": ("disburse-amount_wan", "放款金额(万元)", "剩余授信额度 25 万元")},
        unchanged=lambda: not Recommendation.objects.get(pk=lead.pk).disbursements.exists(),
    )


def case_列明所需材料(world):
    lead, manager = _lead(world)
    items = "营业执照\n" + "很长的材料名称" * 40
    return Case(
        manager,
        f"/matching/leads/{lead.pk}/act/materials-list/",
        {"items": items, "note": "原件当面核验", "version": lead.materials_version},
        typed={"materials-list-items": items, "materials-list-note": "原件当面核验"},
        errors={"items": ("materials-list-items", "所需材料", "超过")},
        unchanged=lambda: not Recommendation.objects.get(pk=lead.pk).materials_required,
    )


def case_审核意见(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    return Case(
        world.users["staff"],
        f"/matching/declarations/{declaration.pk}/act/review/",
        {"decision": "return", "comment": ""},
        typed={},
        errors={"comment": ("id_comment", "审核意见", "请填写意见")},
        unchanged=lambda: Declaration.objects.get(pk=declaration.pk).state == declaration.state,
    )


def case_走访登记(world):
    entity, _ = world.entity()
    return Case(
        world.users["staff"],
        "/matching/visits/",
        {"uscc": entity.uscc, "visited_on": "", "people": "", "findings": "经营者在店, 需要进货资金"},
        typed={"id_uscc": entity.uscc, "id_findings": "经营者在店, 需要进货资金"},
        errors={
            "visited_on": ("id_visited_on", "走访日期", "必填"),
            "people": ("id_people", "走访人员", "必填"),
        },
        unchanged=lambda: not Visit.objects.exists(),
    )


def case_我要融资(world):
    entity, user = world.entity()
    return Case(
        user,
        "/matching/declare/",
        {"amount_wan": "0", "term_months": "12", "purpose": "进货周转", "submit": "1"},
        typed={"id_amount_wan": "0", "id_term_months": "12", "id_purpose": "进货周转"},
        errors={"amount_wan": ("id_amount_wan", "融资金额(万元)", "0.01")},
        unchanged=lambda: not entity.declarations.exists(),
    )


def case_邀请用户(world):
    admin = world.users["boc_admin"]
    return Case(
        admin,
        "/users/new/",
        {"username": "新 用户!", "full_name": "李四", "phone": "123", "email": "bad"},
        typed={"id_username": "新 用户!", "id_full_name": "李四", "id_phone": "123", "id_email": "bad"},
        errors={
            "username": ("id_username", "用户名", "用户名只能包含"),
            "phone": ("id_phone", "手机号", "手机号"),
            "email": ("id_email", "电子邮箱", "电子邮箱"),
        },
    )


def case_签发令牌(world):
    user = world.users["boc_admin"]
    return Case(
        user,
        "/accounts/tokens/",
        {"name": "信贷系统", "days": "0"},
        typed={"id_name": "信贷系统", "id_days": "0"},
        errors={"days": ("id_days", "有效期(天)", "1")},
        unchanged=lambda: not ApiToken.objects.filter(user=user).exists(),
    )


PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"


def _correctable(world, *, drawn=False):
    """An approved lead (25 万元 at 3.8%, 12 months, credit) the bank administrator may correct,
    and the version of it his page shows."""
    lead, manager = _lead(world, approved=True)
    if drawn:
        s.recommendation_disburse(
            actor=manager, recommendation_id=lead.pk, amount=60_000, disbursed_on=timezone.localdate()
        )
    lead = Recommendation.objects.get(pk=lead.pk)
    return lead, world.users["boc_admin"], s.correction_version(lead)


def case_更正线索状态(world):
    lead, admin, version = _correctable(world)
    reason = "客户经理误点授信" * 70
    return Case(
        admin,
        f"/matching/leads/{lead.pk}/act/correct-state/",
        {"reason": reason, "version": version},
        typed={"correct-state-reason": reason},
        errors={"reason": ("correct-state-reason", "撤销「已授信」的更正原因", "500")},
        unchanged=lambda: Recommendation.objects.get(pk=lead.pk).state == RecommendationState.APPROVED,
    )


def case_更正授信决定(world):
    lead, admin, version = _correctable(world)
    data = {"credit_amount_wan": "25", "rate_percent": "3.8", "term_months": "12", "guarantee": "credit"}
    return Case(
        admin,
        f"/matching/leads/{lead.pk}/act/correct-decision/",
        {**data, "is_credit_loan": "on", "reason": "利率录入错误", "version": version},
        typed={"correct-decision-credit_amount_wan": "25", "correct-decision-reason": "利率录入错误"},
        errors={"credit_amount_wan": ("correct-decision-credit_amount_wan", "授信金额(万元)", "未作修改")},
        unchanged=lambda: not Recommendation.objects.get(pk=lead.pk)
        .events.filter(data__has_key="correction_reason")
        .exists(),
    )


def case_更正放款(world):
    lead, admin, version = _correctable(world, drawn=True)
    drawdown = lead.disbursements.get()
    return Case(
        admin,
        f"/matching/leads/{lead.pk}/act/correct-drawdown/",
        {"disbursement": drawdown.pk, "amount_wan": "", "reason": "借据金额为 5 万元", "version": version},
        typed={"correct-drawdown-disbursement": str(drawdown.pk), "correct-drawdown-reason": "借据金额为 5 万元"},
        errors={"amount_wan": ("correct-drawdown-amount_wan", "更正后金额(万元)", "请填写更正后的放款金额")},
        unchanged=lambda: Disbursement.objects.get(pk=drawdown.pk).amount == 60_000,
    )


def case_撤回误传的材料(world):
    lead, admin, version = _correctable(world)
    file = materials.lead_material_upload(
        actor=world.users["boc_manager"],
        recommendation_id=lead.pk,
        uploaded_file=SimpleUploadedFile("别家执照.pdf", PDF),
        item="营业执照",
    )
    version = s.correction_version(Recommendation.objects.get(pk=lead.pk))
    return Case(
        admin,
        f"/matching/leads/{lead.pk}/act/material-withdraw/",
        {"material": file.pk, "reason": " ", "version": version},
        typed={"material-withdraw-material": str(file.pk)},
        errors={"reason": ("material-withdraw-reason", "撤回原因", "必填")},
        unchanged=lambda: DeclarationMaterial.objects.get(pk=file.pk).withdrawn_at is None,
    )


def _declined(world):
    """A lead 中国银行 declined: (the lead, its declaration's page)."""
    lead, manager = _lead(world)
    s.recommendation_decline(actor=manager, recommendation_id=lead.pk, reason_code="other", note="经营流水不足")
    return lead, f"/matching/declarations/{lead.declaration_id}/"


def case_撤回申报(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    reason = "暂不需要融资" * 200
    return Case(
        user,
        f"/matching/declarations/{declaration.pk}/act/withdraw/",
        {"reason": reason},
        typed={"withdraw-reason": reason},
        errors={"reason": ("withdraw-reason", "撤回原因", "1000")},
        unchanged=lambda: Declaration.objects.get(pk=declaration.pk).state == declaration.state,
    )


def case_登记辅导(world):
    lead, page = _declined(world)
    note = "指导完善经营流水" * 130
    return Case(
        world.users["staff"],
        f"/matching/leads/{lead.pk}/act/coach/",
        {"note": note, "next": page},
        typed={f"coach-{lead.pk}-note": note},
        errors={"note": (f"coach-{lead.pk}-note", "辅导情况", "1000")},
        unchanged=lambda: not Recommendation.objects.get(pk=lead.pk).coachings.exists(),
    )


def case_评价银行服务(world):
    lead, page = _declined(world)
    return Case(
        lead.declaration.created_by,
        f"/matching/leads/{lead.pk}/act/rate/",
        {"score": "9", "comment": "客户经理很耐心", "next": page},
        typed={f"rate-{lead.pk}-comment": "客户经理很耐心"},
        errors={"score": (f"rate-{lead.pk}-score", "评分", "评分须为 1 至 5")},
        unchanged=lambda: Recommendation.objects.get(pk=lead.pk).satisfaction is None,
    )


def case_改推其他银行(world):
    lead, _ = _declined(world)
    return Case(
        world.users["lead"],
        f"/matching/leads/{lead.pk}/act/redirect/",
        {"bank": "nosuchbank", "comment": "辅导后改推建设银行"},
        typed={f"redirect-{lead.pk}-comment": "辅导后改推建设银行"},
        errors={"bank": (f"redirect-{lead.pk}-bank", "改推银行", "请选择有效的银行")},
        unchanged=lambda: not Recommendation.objects.get(pk=lead.pk).redirects.exists(),
    )


def case_移出推荐清单(world):
    lead, _ = _lead(world)
    reason = "提供虚假材料" * 200
    return Case(
        world.users["convener"],
        f"/matching/leads/{lead.pk}/act/remove/",
        {"reason": reason, "next": f"/matching/declarations/{lead.declaration_id}/"},
        typed={f"remove-{lead.pk}-reason": reason},
        errors={"reason": (f"remove-{lead.pk}-reason", "移出原因", "1000")},
        unchanged=lambda: Recommendation.objects.get(pk=lead.pk).removed_at is None,
    )


def case_名特优新审核(world):
    staff = user_with_role(Role.TASK_FORCE_STAFF)
    entity = MarketEntityFactory(name="泽州县老字号面馆")
    until = timezone.localdate().replace(year=timezone.localdate().year + 3)
    proposal = honor_propose(
        actor=staff, entity=entity.pk, action="grant", kind="quality", valid_until=until, reason="口碑好"
    )
    return Case(
        user_with_role(Role.PROVINCE_REGULATOR),
        f"/entities/honor-proposals/{proposal.pk}/decide/",
        {"decision": "reject", "note": "  "},
        typed={},
        errors={"note": (f"decide-{proposal.pk}-note", "审核意见", "不批准须填写审核意见")},
        unchanged=lambda: HonorProposal.objects.get(pk=proposal.pk).state == "pending",
    )


def case_移出批次(world):
    entity, user = world.entity()
    declaration = declare(world, entity, user)
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    reason = "误签字" * 200
    return Case(
        world.users["convener"],
        f"/matching/batches/{batch.pk}/",
        {"declaration": declaration.pk, "reason": reason},
        typed={f"remove-{declaration.pk}-reason": reason, f"remove-{declaration.pk}-declaration": str(declaration.pk)},
        errors={"reason": (f"remove-{declaration.pk}-reason", "移出批次的更正原因", "500")},
        unchanged=lambda: Declaration.objects.get(pk=declaration.pk).batch_id == batch.pk,
    )


CASES = [
    case_授信,
    case_不予授信,
    case_放款,
    case_列明所需材料,
    case_审核意见,
    case_走访登记,
    case_我要融资,
    case_邀请用户,
    case_签发令牌,
    case_更正线索状态,
    case_更正授信决定,
    case_更正放款,
    case_撤回误传的材料,
    case_撤回申报,
    case_登记辅导,
    case_评价银行服务,
    case_改推其他银行,
    case_移出推荐清单,
    case_名特优新审核,
    case_移出批次,
]


def _value(node: Node) -> str:
    if node.tag == "textarea":
        return node.all_text().removeprefix("\n")
    if node.tag == "select":
        chosen = [o for o in node.walk() if o.tag == "option" and "selected" in o.attrs]
        return chosen[0].attrs.get("value", "") if chosen else ""
    return node.attrs.get("value", "")


@pytest.mark.parametrize("make", CASES, ids=[c.__name__.removeprefix("case_") for c in CASES])
def test_表单出错后保留所填内容_错误逐项显示在字段旁_以中文字段名说明(world, make):
    """issue 16 item 7: "Forms keep what was typed after an error, show all errors at once next
    to their fields, and name the field in Chinese"."""
    # given a form and input it refuses
    case = make(world)
    client = Client()
    client.force_login(case.user)

    # when the user submits it
    response = client.post(case.url, case.data)

    # then the same page comes back (no redirect), with every value as typed
    assert response.status_code == 400
    tree = Tree(response.content.decode())
    for widget_id, value in case.typed.items():
        (widget,) = tree.find(id=widget_id)
        assert _value(widget) == value, widget_id
    # and every error beside its field: the widget points at it, it sits in the field's wrapper
    for name, (widget_id, label, words) in case.errors.items():
        (widget,) = tree.find(id=widget_id)
        assert widget.attrs.get("aria-invalid") == "true", name
        assert f"{widget_id}_error" in widget.attrs.get("aria-describedby", "").split(), name
        (error,) = tree.find(id=f"{widget_id}_error")
        assert words in error.all_text(), (name, error.all_text())
        wrapper = next(a for a in widget.ancestors() if a.attrs.get("data-field") == name)
        assert error in list(wrapper.walk()), name
        (label_node,) = [n for n in wrapper.walk() if n.tag == "label" and n.attrs.get("for") == widget_id]
        assert label in label_node.all_text()
    # and the box above the form names each field in error in Chinese
    summaries = [n.all_text() for n in tree.find(**{"data-testid": "form-errors"})]
    assert any(all(label in text for _, label, _ in case.errors.values()) for text in summaries), summaries
    # and nothing was recorded
    assert case.unchanged is None or case.unchanged()
