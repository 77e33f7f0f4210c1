"""A declaration's requested repayment mode (还款方式, issue 15 item 8).

晋享贷 (shared/seeds/000_ccf8fb2538b70f49.txt, 一、晋享贷 (二) 2): "贷款期限：授信期限最长不超过3年；
采用按月结息，到期一次性还本的授信期限最长不超过1年" — a rule on the repayment mode the need asks
for. The engine reads it as ``need.repayment``; a declaration carries it (blank = 未定, unknown to
the engine), every path that writes a declaration's need takes it through the same services, and
the declaration page, the review queue and the bank's lead judge and show it."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from matching import selectors, verdicts
from matching import services as s
from matching.declaration_import import declarations_import
from matching.factories import CRITERIA, import_file, through_reviews
from matching.models import Declaration, DeclarationSource, DeclarationState, Recommendation
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db

BULLET = "按月结息、到期一次性还本"
JINXIANGDAI_RULE = "采用按月结息、到期一次性还本的, 授信期限最长不超过 1 年"


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def file(world, entity, *, repayment: str, term_months: int = 24, submit: bool = True) -> Declaration:
    """Task-force staff file a need of 20 万 to the 农信社 (晋享贷's bank) on the entity's behalf."""
    return s.declaration_create(
        actor=world.users["staff"],
        entity_id=entity.pk,
        amount=200_000,
        term_months=term_months,
        purpose="购置设备",
        repayment=repayment,
        bank_codes=["sxrcc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=submit,
    )


def jinxiangdai(world, declaration):
    """The 晋享贷 row of the declaration page's verdicts (matching.verdicts) for task-force staff."""
    rows = verdicts.declaration_verdicts(user=world.users["staff"], declaration=declaration)["rows"]
    (row,) = [row for row in rows if row.product.code == "jinxiangdai"]
    return row


def repayment_reasons(result) -> dict[str, set[str]]:
    """The outcomes of 晋享贷's repayment rule in a result, and its messages."""
    reasons = [r for r in result["reasons"] if r["rule"] == "bullet_repayment_term"]
    return {"outcomes": {r["outcome"] for r in reasons}, "messages": {r["message"] for r in reasons}}


def import_row(uscc, **cells) -> dict:
    return {
        "统一社会信用代码": uscc,
        "融资金额(万元)": "20",
        "期限(月)": "24",
        "资金用途": "购置设备",
        "意向银行1": "山西省农村信用社",
        "五项基本标准已核实(是/否)": "是",
        "企业已同意共享(是/否)": "是",
        **cells,
    }


# --- the rule on the declaration's pages ----------------------------------------------------


def test_晋享贷_采用按月结息到期一次性还本的授信期限最长不超过1年_按申报的还款方式判断(world):
    """seed 000 一、晋享贷 (二) 2: "授信期限最长不超过3年；采用按月结息，到期一次性还本的授信期限最长
    不超过1年". A 24-month declaration asking for 按月结息、到期一次性还本 is judged 不符合 for 晋享贷
    on its page, in the review queue and on its summary, with the notice's rule as the reason; the
    same 24 months repaid 分期还本 (or 等额本息) pass that rule; 未定 leaves it unknown."""
    # given three 24-month needs at the 农信社: bullet, 分期还本, and no mode stated
    bullet = file(world, world.entity(name="泽州县到期还本小店", with_user=False)[0], repayment="bullet")
    installment = file(world, world.entity(name="泽州县分期还本小店", with_user=False)[0], repayment="installment")
    undecided = file(world, world.entity(name="泽州县未定还款小店", with_user=False)[0], repayment="")

    # when the declaration page judges 晋享贷 for each need
    row = jinxiangdai(world, bullet)
    # then the bullet need fails the notice's rule: 不符合, the reason names the term it exceeds
    assert row.verdict == "ineligible"
    reasons = repayment_reasons(row.result)
    assert reasons["outcomes"] == {"fail"}
    assert f"{JINXIANGDAI_RULE}: 贷款期限 24 个月, 要求不超过 12 个月" in reasons["messages"]
    # and the 分期还本 need passes it, whatever else 晋享贷 still asks (the operator's assets, …)
    other = jinxiangdai(world, installment)
    assert repayment_reasons(other.result)["outcomes"] == {"pass"} and other.verdict != "ineligible"
    # and with the mode 未定 the rule cannot be judged: a missing fact, not a pass and not a refusal
    unknown = jinxiangdai(world, undecided)
    assert f"缺少申请的还款方式, 无法判断{JINXIANGDAI_RULE}" in repayment_reasons(unknown.result)["messages"]
    assert "pass" not in repayment_reasons(unknown.result)["outcomes"] and unknown.verdict == "incomplete"

    # and the page the 初审 opens (another staff member: the filer never does it) shows the mode
    # with the need and one verdict for 晋享贷, 暂不符合, with the reason
    first_reviewer = user_with_role(Role.TASK_FORCE_STAFF, organisation=world.task_force, username="wf-staff-2")
    html = browser(first_reviewer).get(f"/matching/declarations/{bullet.pk}/").content.decode()
    assert re.search(r'data-testid="declaration-repayment">\s*' + BULLET, html)
    assert f"期限 24 个月、还款方式{BULLET}" in html
    start = html.index('data-testid="verdict-jinxiangdai"')
    section = html[start : html.index("</details>", start)]
    assert re.findall(r'data-testid="verdict-label">([^<]*)<', section) == ["暂不符合"]
    assert f"{JINXIANGDAI_RULE}: 贷款期限 24 个月, 要求不超过 12 个月" in section

    # and the review queue's brief of each declaration says the same
    briefs = selectors.review_briefs(
        Declaration.objects.filter(pk__in=[bullet.pk, installment.pk]).prefetch_related("intended_banks__bank")
    )
    verdict_of = {
        pk: next(e for e in brief["eligibility"] if e["product_code"] == "jinxiangdai")["verdict"]
        for pk, brief in briefs.items()
    }
    assert verdict_of[bullet.pk] == "ineligible" and verdict_of[installment.pk] != "ineligible"
    queue = browser(first_reviewer).get("/matching/review/").content.decode()
    assert f"24 个月 · {BULLET}" in queue and "24 个月 · 分期还本" in queue


def test_按月结息到期一次性还本_一年以内不受晋享贷该条限制(world):
    """ "采用按月结息，到期一次性还本的授信期限最长不超过1年": within 12 months the bullet mode passes."""
    declaration = file(world, world.entity(with_user=False)[0], repayment="bullet", term_months=12)
    assert repayment_reasons(jinxiangdai(world, declaration).result)["outcomes"] == {"pass"}


# --- every path that writes the need ----------------------------------------------------------


def form(**fields) -> dict:
    return {
        "amount_wan": "20",
        "term_months": "24",
        "purpose": "购置设备",
        "banks": ["sxrcc"],
        "consent": "on",
        **{f"criteria_{key}": "on" for key in CRITERIA},
        **fields,
    }


def test_还款方式_企业我要融资和专班代为申报用同一表单(world):
    """我要融资 and 代为申报 are one form (matching.forms.DeclarationForm): both offer the modes and
    未定, store the choice, and refuse an unknown value with a Chinese error and nothing saved."""
    own, own_user = world.entity(name="泽州县自主申报小店")
    helped, _ = world.entity(name="泽州县代为申报小店", with_user=False)
    staff = world.users["staff"]

    # given the two pages offer the same choices, 未定 first
    for user, url in ((own_user, "/matching/declare/"), (staff, "/matching/declarations/new/")):
        html = browser(user).get(url).content.decode()
        options = re.findall(r'<option value="([^"]*)"', html[html.index('name="repayment"') :])
        assert options[:6] == ["", "bullet", "equal_installment", "equal_principal", "installment", "revolving"]
        assert ">未定</option>" in html and "晋享贷" in html

    # when each files with a value no form offers: a field error in Chinese, nothing saved
    refused = browser(own_user).post("/matching/declare/", form(repayment="monthly", save="1"))
    assert refused.status_code == 400 and "请选择列出的还款方式" in refused.content.decode()
    refused = browser(staff).post("/matching/declarations/new/", form(repayment="monthly", uscc=helped.uscc))
    assert refused.status_code == 400 and "请选择列出的还款方式" in refused.content.decode()
    assert not Declaration.objects.filter(entity__in=[own, helped]).exists()

    # when the enterprise saves a draft asking for 按月结息、到期一次性还本, and staff file 等额本息
    assert browser(own_user).post("/matching/declare/", form(repayment="bullet", save="1")).status_code == 302
    page = browser(staff).post("/matching/declarations/new/", form(repayment="equal_installment", uscc=helped.uscc))
    assert page.status_code == 302

    # then both declarations carry their mode, and the audit records it with the need
    mine = Declaration.objects.get(entity=own)
    theirs = Declaration.objects.get(entity=helped)
    assert (mine.repayment, mine.source) == ("bullet", DeclarationSource.ENTERPRISE)
    assert (theirs.repayment, theirs.source) == ("equal_installment", DeclarationSource.STAFF)
    created = AuditEvent.objects.filter(action="declaration.create", object_id=str(theirs.pk)).get()
    assert created.after["repayment"] == "equal_installment"

    # and the enterprise's draft reopens with its mode selected, and is changed to 未定 there
    html = browser(own_user).get("/matching/declare/").content.decode()
    assert '<option value="bullet" selected>' in html
    assert browser(own_user).post("/matching/declare/", form(repayment="", save="1")).status_code == 302
    assert Declaration.objects.get(pk=mine.pk).repayment == ""


def test_还款方式_专班修改草稿(world):
    """修改申报草稿 (staff, a declaration filed on the entity's behalf): the form shows the recorded
    mode and saves a change through declaration_update."""
    declaration = file(world, world.entity(with_user=False)[0], repayment="bullet", submit=False)
    staff = browser(world.users["staff"])
    html = staff.get(f"/matching/declarations/{declaration.pk}/edit/").content.decode()
    assert '<option value="bullet" selected>' in html

    answer = staff.post(f"/matching/declarations/{declaration.pk}/edit/", form(repayment="equal_principal"))

    assert answer.status_code == 302
    assert Declaration.objects.get(pk=declaration.pk).repayment == "equal_principal"
    updated = AuditEvent.objects.filter(action="declaration.update", object_id=str(declaration.pk)).get()
    assert (updated.before["repayment"], updated.after["repayment"]) == ("bullet", "equal_principal")


def test_还款方式_批量申报_可选列_错误值逐行报告(world):
    """批量申报: the optional 还款方式 column takes the platform's names (the notice's own
    punctuation too) or codes; a value it does not know is a row error on that column, in Chinese,
    naming the choices — that row is not imported, the good rows are (the file's rule)."""
    good, _ = world.entity(name="泽州县导入到期还本小店", with_user=False)
    spelled, _ = world.entity(name="泽州县导入等额本息小店", with_user=False)
    blank, _ = world.entity(name="泽州县导入未定小店", with_user=False)
    bad, _ = world.entity(name="泽州县导入错误小店", with_user=False)
    content = import_file(
        [
            import_row(good.uscc, 还款方式="按月结息，到期一次性还本"),
            import_row(spelled.uscc, 还款方式="等额本息"),
            import_row(blank.uscc),
            import_row(bad.uscc, 还款方式="每年还一次"),
        ]
    )

    summary = declarations_import(actor=world.users["staff"], content=content)

    assert (summary["created"], summary["rejected"]) == (3, 1)
    (error,) = summary["errors"]
    assert (error["line"], error["column"]) == (5, "还款方式")
    assert error["message"].startswith("还款方式「每年还一次」无法识别, 应为 「按月结息、到期一次性还本」")
    assert "留空(未定)" in error["message"]
    stored = dict(Declaration.objects.values_list("entity_id", "repayment"))
    assert stored == {good.pk: "bullet", spelled.pk: "equal_installment", blank.pk: ""}
    assert Declaration.objects.get(entity=good).source == DeclarationSource.BULK_IMPORT


def test_还款方式_接口_字段错误为中文_修改时不传则保留(world):
    """The API: ``repayment`` is one of the engine's codes or "" (未定), shown with its Chinese name;
    an unknown code is a 400 with the field's error in Chinese; an edit that leaves it out keeps
    the recorded mode (clients written before the field), "" clears it."""
    entity, _ = world.entity(with_user=False)
    staff = api(world.users["staff"])
    body = {
        "entity_id": entity.pk,
        "amount": 200_000,
        "term_months": 24,
        "purpose": "购置设备",
        "banks": ["sxrcc"],
        "basic_criteria": CRITERIA,
    }

    refused = staff.post("/api/v1/declarations/", {**body, "repayment": "monthly"}, format="json")
    assert refused.status_code == 400
    (message,) = refused.json()["errors"]["repayment"]
    assert message.startswith("「monthly」不是可选的还款方式, 应为 bullet(按月结息、到期一次性还本)")
    assert not Declaration.objects.filter(entity=entity).exists()

    created = staff.post("/api/v1/declarations/", {**body, "repayment": "bullet"}, format="json")
    assert created.status_code == 201, created.content
    assert (created.json()["repayment"], created.json()["repayment_display"]) == ("bullet", BULLET)
    pk = created.json()["id"]
    update = {key: body[key] for key in ("amount", "term_months", "purpose", "banks", "basic_criteria")}
    kept = staff.put(f"/api/v1/declarations/{pk}/", update, format="json")
    assert kept.status_code == 200 and kept.json()["repayment"] == "bullet"
    cleared = staff.put(f"/api/v1/declarations/{pk}/", {**update, "repayment": ""}, format="json")
    assert cleared.status_code == 200 and (cleared.json()["repayment"], cleared.json()["repayment_display"]) == ("", "")
    assert staff.put(f"/api/v1/declarations/{pk}/", {**update, "repayment": "weekly"}, format="json").status_code == 400


def test_还款方式_银行推荐和改推沿用同一需求(world):
    """银行推荐 carries the mode the bank states (the same check as every path: an unknown code is
    refused); 改推 after a decline copies the declined need with its mode."""
    u = world.users
    entity, _ = world.entity(with_user=False)
    with pytest.raises(ApplicationError) as refused:
        s.declaration_recommend_by_bank(
            actor=u["boc_admin"], entity_id=entity.pk, amount=200_000, term_months=12, purpose="扩大经营", repayment="x"
        )
    assert "repayment" in refused.value.field_errors and "还款方式应为" in refused.value.message
    recommended = s.declaration_recommend_by_bank(
        actor=u["boc_admin"],
        entity_id=entity.pk,
        amount=200_000,
        term_months=12,
        purpose="扩大经营",
        repayment="equal_principal",
    )
    assert recommended.repayment == "equal_principal"

    # given a declaration asking for 按月结息、到期一次性还本 pushed to 中国银行, which declines
    other, enterprise_user = world.entity(name="泽州县改推小店")
    declaration = s.declaration_create(
        actor=enterprise_user,
        entity_id=other.pk,
        amount=200_000,
        term_months=12,
        purpose="进货周转",
        repayment="bullet",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    through_reviews(world, declaration)
    s.batch_push(
        actor=u["convener"], batch_id=s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk]).pk
    )
    lead = Recommendation.objects.get(declaration=declaration)
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=lead.pk, reason_code="no_need")

    # when the convener re-recommends it to the 农信社
    draft = s.recommendation_redirect(actor=u["convener"], recommendation_id=lead.pk, bank_code="sxrcc")

    # then the new draft asks for the same mode
    assert (draft.state, draft.repayment) == (DeclarationState.DRAFT, "bullet")
