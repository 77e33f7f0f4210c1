"""The workflow rules of seed 004 (信发改财金〔2024〕329号, shared/seeds/004_b2811ebd7ee390f8.txt)
that were stored but not enforced (issue 15, items 14–16), through the services, the pages, the
API and the bulk import:

* 三(四) "按照“合规持续经营、固定经营场所、真实融资需求、信用状况良好、贷款用途依法合规”等 5 项基本
  标准，指导企业填报信息" and 三(五) "对照 5 项基本标准、征信报告和公共信用报告 … 专班初审—专班
  银行审核—专班组长审核三级审核": a declaration whose criteria are not all met is submitted only
  with an exception reason every reviewer sees and the 组长 confirms explicitly; bulk approval
  refuses it until then; the queue shows criteria, eligibility and 多头授信 warnings;
* 三(四) "明确 1-2 家意向对接银行，避免后期重复对接和多头过度授信": one open case per entity on
  every path; 三(四) "尊重企业意愿": a bank's recommendation waits for the enterprise's consent;
* 三(六) "对不符合信贷条件的清单内小微企业，银行机构应在 5 个工作日内向专班反馈，并由工作专班指导
  乡镇、街道及银行机构跟进辅导": declines carry an explanation and their fix path."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from matching import criteria, selectors
from matching import services as s
from matching.declaration_import import declarations_import
from matching.factories import CRITERIA, import_file, pushed, through_reviews
from matching.models import (
    Declaration,
    DeclarationSource,
    DeclarationState,
    EventKind,
    Notification,
    Recommendation,
    RecommendationState,
    WorkflowEvent,
)
from portal.models import AuditEvent
from portal.services import ApplicationError
from products.eligibility import evaluate_entity

pytestmark = pytest.mark.django_db

NO_PREMISES = {**CRITERIA, "fixed_premises": {"met": False, "evidence": "临时摊位"}}
REASON = "经营场所为临时摊位, 已签订商业街租赁意向书"


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def browser(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def fresh(declaration) -> Declaration:
    return Declaration.objects.get(pk=declaration.pk)


def file(world, entity, actor, *, basic_criteria=CRITERIA, exception="", submit=True, banks=("boc",), term=12):
    return s.declaration_create(
        actor=actor,
        entity_id=entity.pk,
        amount=300_000,
        term_months=term,
        purpose="进货周转",
        bank_codes=list(banks),
        basic_criteria=basic_criteria,
        criteria_exception=exception,
        consent=True,
        submit=submit,
    )


def import_row(uscc, **cells) -> dict:
    return {
        "统一社会信用代码": uscc,
        "融资金额(万元)": "30",
        "期限(月)": "12",
        "资金用途": "进货周转",
        "意向银行1": "中国银行",
        "五项基本标准已核实(是/否)": "是",
        "企业已同意共享(是/否)": "是",
        **cells,
    }


# --- item 14: the five basic criteria ------------------------------------------------------------


def test_五项基本标准_未全部满足的申报在每条路径上都不能提交(world):
    """seed 004 三(四): "按照“合规持续经营、固定经营场所、真实融资需求、信用状况良好、贷款用途依法合规”等
    5 项基本标准，指导企业填报信息" — not met, not submitted: the enterprise's form, 代为申报, the API,
    the bulk import and a draft's submission all refuse it without an exception reason."""
    staff = world.users["staff"]
    # given entities whose criteria are not all met
    own, own_user = world.entity(name="泽州县自主申报小店")
    helped, _ = world.entity(name="泽州县代为申报小店", with_user=False)
    by_api, api_user = world.entity(name="泽州县接口申报小店")
    imported, _ = world.entity(name="泽州县批量申报小店", with_user=False)

    # when the enterprise submits through the service: refused, naming the unmet criterion, nothing kept
    with pytest.raises(ApplicationError) as refused:
        file(world, own, own_user, basic_criteria=NO_PREMISES)
    assert "固定经营场所" in refused.value.message
    assert set(refused.value.field_errors) == {"basic_criteria", "criteria_exception"}
    assert not Declaration.objects.filter(entity=own).exists()

    # … on 我要融资: the form answers with the error and nothing is submitted
    form = {
        "amount_wan": "30",
        "term_months": "12",
        "purpose": "进货周转",
        "banks": ["boc"],
        "consent": "on",
        **{f"criteria_{key}": "on" for key in CRITERIA if key != "fixed_premises"},
        "submit": "1",
    }
    page = browser(own_user).post("/matching/declare/", form)
    assert page.status_code == 400 and "未满足: 固定经营场所" in page.content.decode()
    assert not Declaration.objects.filter(entity=own, state=DeclarationState.SUBMITTED).exists()

    # … staff filing on the entity's behalf (代为申报)
    page = browser(staff).post("/matching/declarations/new/", {**form, "uscc": helped.uscc})
    assert page.status_code == 400 and "未满足: 固定经营场所" in page.content.decode()
    assert not Declaration.objects.filter(entity=helped).exists()

    # … the API: a draft is kept, its submission is a field error
    body = {
        "entity_id": by_api.pk,
        "amount": 300_000,
        "term_months": 12,
        "purpose": "进货周转",
        "banks": ["boc"],
        "basic_criteria": NO_PREMISES,
        "consent": True,
    }
    created = api(api_user).post("/api/v1/declarations/", body, format="json")
    assert created.status_code == 201 and created.json()["criteria_standing"] == "unmet"
    answer = api(api_user).post(f"/api/v1/declarations/{created.json()['id']}/submit/")
    assert answer.status_code == 400 and "criteria_exception" in answer.json()["errors"]
    assert "固定经营场所" in answer.json()["errors"]["basic_criteria"][0]
    assert fresh(Declaration(pk=created.json()["id"])).state == DeclarationState.DRAFT

    # … the bulk import: a row with 否 stays a draft, the others are imported as today
    summary = declarations_import(
        actor=staff,
        content=import_file(
            [import_row(imported.uscc, **{"五项基本标准已核实(是/否)": "否", "未满足的基本标准": "固定经营场所"})]
        ),
    )
    assert summary["created"] == 1 and summary["submitted"] == 0 and summary["drafts"] == 1
    draft = Declaration.objects.get(entity=imported)
    assert draft.state == DeclarationState.DRAFT and criteria.unmet_labels(draft.basic_criteria) == ["固定经营场所"]
    with pytest.raises(ApplicationError, match="未满足: 固定经营场所"):
        s.declaration_submit(actor=staff, declaration_id=draft.pk)


def test_例外理由_每位审核人可见_组长须明确确认后方可通过组长审核(world):
    """seed 004 三(五): "对照 5 项基本标准、征信报告和公共信用报告 … 进行专班初审—专班银行审核—专班组长
    审核三级审核" — a declaration short of a criterion goes on only with an exception reason that
    every reviewer sees and the 专班组长 confirms explicitly (audited, on the timeline)."""
    u = world.users
    entity, user = world.entity(name="泽州县老街炒货店")
    # given a declaration short of 固定经营场所, submitted with its exception reason
    declaration = file(world, entity, user, basic_criteria=NO_PREMISES, exception=REASON)
    assert declaration.state == DeclarationState.SUBMITTED
    assert criteria.standing(declaration) == criteria.Standing.PENDING
    # and the lead is told there is an exception to confirm
    assert Notification.objects.filter(recipient=u["lead"], title__contains="五项基本标准例外待确认").exists()

    # then each reviewer sees the reason in his queue and on the declaration's page
    for key, state in (("staff", None), ("reviewer", "preliminary"), ("lead", "bank")):
        if state:
            previous = {"preliminary": "staff", "bank": "reviewer"}[state]
            s.declaration_review(actor=u[previous], declaration_id=declaration.pk, decision="approve")
        queue = browser(u[key]).get("/matching/review/").content.decode()
        assert REASON in queue and "待专班组长确认" in queue, key
        detail = browser(u[key]).get(f"/matching/declarations/{declaration.pk}/").content.decode()
        assert REASON in detail, key

    # when the lead approves before confirming: refused, with the reason why
    with pytest.raises(ApplicationError, match="请先确认例外") as refused:
        s.declaration_review(actor=u["lead"], declaration_id=declaration.pk, decision="approve")
    assert refused.value.code == "conflict" and fresh(declaration).state == DeclarationState.BANK_REVIEWED
    # and no one but the lead may confirm (the workflow table's rule)
    assert api(u["reviewer"]).post(f"/api/v1/declarations/{declaration.pk}/confirm-exception/").status_code == 403

    # when the lead confirms it (a separate action, on the page)
    page = browser(u["lead"]).post(
        f"/matching/declarations/{declaration.pk}/act/confirm-exception/", {"comment": "已核实租赁意向书"}
    )
    assert page.status_code == 302
    confirmed = fresh(declaration)
    assert confirmed.criteria_exception_confirmed_by == u["lead"]
    assert criteria.standing(confirmed) == criteria.Standing.CONFIRMED
    # then it is an event on the timeline and an audit record
    event = WorkflowEvent.objects.get(declaration=declaration, kind=EventKind.DECLARATION_CRITERIA_EXCEPTION_CONFIRMED)
    assert event.actor == u["lead"] and event.data["criteria_exception"] == REASON
    assert event.data["unmet"] == ["固定经营场所"] and event.data["comment"] == "已核实租赁意向书"
    assert AuditEvent.objects.filter(action="declaration.criteria_exception.confirm", actor=u["lead"]).exists()
    timeline = browser(u["staff"]).get(f"/matching/declarations/{declaration.pk}/").content.decode()
    assert "专班组长确认五项基本标准例外" in timeline
    # and confirming twice is a conflict
    assert api(u["lead"]).post(f"/api/v1/declarations/{declaration.pk}/confirm-exception/").status_code == 409
    # and the lead now approves
    s.declaration_review(actor=u["lead"], declaration_id=declaration.pk, decision="approve")
    assert fresh(declaration).state == DeclarationState.LEAD_APPROVED


def test_例外确认只对所确认的内容有效_修改标准或理由后须重新确认(world):
    """seed 004 三(五) 专班组长审核: the lead confirms what the reviewers see; a declaration returned
    and edited with other unmet criteria or another reason needs his confirmation again."""
    u = world.users
    entity, user = world.entity()
    declaration = file(world, entity, user, basic_criteria=NO_PREMISES, exception=REASON)
    s.declaration_criteria_exception_confirm(actor=u["lead"], declaration_id=declaration.pk)
    s.declaration_review(actor=u["staff"], declaration_id=declaration.pk, decision="return", comment="请补充")
    edit = dict(amount=300_000, term_months=12, purpose="进货周转", bank_codes=["boc"])
    # the need changes, the criteria and the reason do not: the confirmation stands
    s.declaration_update(
        actor=user, declaration_id=declaration.pk, **{**edit, "amount": 250_000}, basic_criteria=NO_PREMISES
    )
    assert criteria.standing(fresh(declaration)) == criteria.Standing.CONFIRMED
    # another criterion unmet: confirmed no more
    worse = {**NO_PREMISES, "good_credit": {"met": False}}
    s.declaration_update(actor=user, declaration_id=declaration.pk, **edit, basic_criteria=worse)
    assert criteria.standing(fresh(declaration)) == criteria.Standing.PENDING
    # all five met: no exception at all
    s.declaration_update(actor=user, declaration_id=declaration.pk, **edit, basic_criteria=CRITERIA)
    assert (
        fresh(declaration).criteria_exception == "" and criteria.standing(fresh(declaration)) == criteria.Standing.MET
    )


def test_批量通过_拒绝例外未经组长确认的申报_其余照常通过(world):
    """seed 004 三(五) 三级审核: bulk approval at any level refuses, one by one with a Chinese reason,
    each declaration whose exception the 专班组长 has not confirmed; the others proceed (each in its
    own transaction, as bulk review always did)."""
    u = world.users
    met_entity, met_user = world.entity(name="泽州县标准齐全小店")
    short_entity, short_user = world.entity(name="泽州县待确认例外小店")
    met = file(world, met_entity, met_user)
    short = file(world, short_entity, short_user, basic_criteria=NO_PREMISES, exception=REASON)

    # when the staff member approves both from the queue page
    page = browser(u["staff"]).post(
        "/matching/review/", {"ids": [met.pk, short.pk], "decision": "approve", "comment": ""}, follow=True
    )
    text = page.content.decode()
    # then the one with all criteria met is approved, the other refused with the reason, by name
    assert fresh(met).state == DeclarationState.PRELIMINARY_APPROVED
    assert fresh(short).state == DeclarationState.SUBMITTED
    assert "已处理 1 条, 1 条未处理" in text and "泽州县待确认例外小店: 五项基本标准未全部满足" in text
    assert "不能批量通过" in text

    # and through the API the same, per declaration; a bulk return is not refused
    results = {
        r["id"]: r
        for r in api(u["staff"])
        .post("/api/v1/declarations/bulk-review/", {"ids": [short.pk], "decision": "approve"}, format="json")
        .json()["results"]
    }
    assert results[short.pk]["ok"] is False and "待专班组长确认" in results[short.pk]["message"]
    # a single approval at the 初审 stays possible (the reviewer sees the reason on the page)
    s.declaration_review(actor=u["staff"], declaration_id=short.pk, decision="approve", comment="见例外理由")
    s.declaration_criteria_exception_confirm(actor=u["lead"], declaration_id=short.pk)
    # once confirmed, bulk approval takes it like any other
    body = {"ids": [short.pk, met.pk], "decision": "approve"}
    answer = api(u["reviewer"]).post("/api/v1/declarations/bulk-review/", body, format="json").json()
    assert answer["approved_or_done"] == 2 and answer["refused"] == 0


def test_审核队列_显示五项基本标准_意向银行产品准入和多头授信提示(world):
    """seed 004 三(五) "对照 5 项基本标准、征信报告和公共信用报告" and 五(十二) "防范多头授信、过度授信":
    the review queue (page and API) shows each declaration's criteria, the eligibility of its
    intended banks' products evaluated for its own need, and 多头授信 warnings."""
    u = world.users
    # given an entity granted credit at 中国银行 (its case decided) that files a new need at 建设银行
    declaration, user, recs = pushed(world, banks=("boc",))
    s.recommendation_contact(actor=u["boc_admin"], recommendation_id=recs["boc"].pk)
    s.recommendation_materials_complete(actor=u["boc_admin"], recommendation_id=recs["boc"].pk)
    s.recommendation_approve(
        actor=u["boc_admin"],
        recommendation_id=recs["boc"].pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=True,
    )
    again = file(world, declaration.entity, user, banks=("boc", "ccb"), term=60)

    # when the staff member opens the queue
    html = browser(u["staff"]).get("/matching/review/").content.decode()
    # then the row shows the criteria, the 多头授信 warning and each intended product's verdict
    assert "五项基本标准 5/5" in html and "多头授信风险: 该主体在中国银行已获授信" in html
    brief = selectors.review_briefs([Declaration.objects.get(pk=again.pk)])[again.pk]
    assert brief["warnings"] == ["多头授信风险: 该主体在中国银行已获授信(已授信)"]
    assert {row["bank_code"] for row in brief["eligibility"]} == {"boc", "ccb"}
    for row in brief["eligibility"]:
        assert f"{row['bank']} · {row['product']}: {row['verdict_label']}" in html
    # and each verdict is the engine's for the declaration's own need (60 months), which differs
    # from the need-less verdict for at least one product
    differs = 0
    for row in brief["eligibility"]:
        version = (
            again.intended_banks.get(bank__code=row["bank_code"])
            .bank.products.get(code=row["product_code"])
            .current_version
        )
        with_need = evaluate_entity(again.entity, version, need={"amount": 300_000, "term_months": 60}).result
        without = evaluate_entity(again.entity, version).result
        assert row["verdict"] == with_need["verdict"]
        differs += with_need["verdict"] != without["verdict"]
    assert differs >= 1
    # and the API's queue answers the same brief
    items = api(u["staff"]).get("/api/v1/declarations/review-queue/").json()["results"]
    item = next(i for i in items if i["id"] == again.pk)
    assert item["review"]["warnings"] == brief["warnings"]
    assert item["review"]["criteria"]["standing"] == "met"
    assert [e["verdict"] for e in item["review"]["eligibility"]] == [e["verdict"] for e in brief["eligibility"]]


# --- item 15: one open case per entity ------------------------------------------------------------


def test_一户一案_每条申报路径同一规则_银行未决定前不能新增申报(world):
    """seed 004 三(四): "明确 1-2 家意向对接银行，避免后期重复对接和多头过度授信" — no new declaration on
    any path (the enterprise's form, 代为申报, the bulk import, the API, 银行推荐) while the entity has
    a lead not yet decided at a bank; the message names the open case; after the bank's decision a
    new need is a new declaration (三(六) "由工作专班指导 … 跟进辅导")."""
    u = world.users
    # given an entity pushed to 中国银行, the bank not yet decided
    declaration, user, recs = pushed(world, banks=("boc",))
    entity = declaration.entity
    other, _ = world.entity(name="泽州县同批导入小店", with_user=False)
    need = dict(amount=200_000, term_months=12, purpose="扩大经营")

    # when the enterprise files again: refused, naming the case, its bank and the lead's state
    with pytest.raises(ApplicationError) as refused:
        file(world, entity, user)
    message = refused.value.message
    assert f"申报 #{declaration.pk}" in message and "中国银行尚未作出授信决定(待对接)" in message
    assert refused.value.field_errors == {"entity_id": [message]} and refused.value.code == "conflict"
    # … staff on its behalf (the page's field error is on the credit code)
    form = {
        "uscc": entity.uscc,
        "amount_wan": "20",
        "term_months": "12",
        "purpose": "扩大经营",
        "banks": ["ccb"],
        "consent": "on",
        **{f"criteria_{key}": "on" for key in CRITERIA},
    }
    page = browser(u["staff"]).post("/matching/declarations/new/", form).content.decode()
    assert "尚未作出授信决定" in page and 'id="id_uscc_error"' in page
    # … the API: a field error of entity_id
    body = {"entity_id": entity.pk, "banks": ["ccb"], "basic_criteria": CRITERIA, **need}
    answer = api(u["staff"]).post("/api/v1/declarations/", body, format="json")
    assert answer.status_code == 409 and "尚未作出授信决定" in answer.json()["errors"]["entity_id"][0]
    # … the bulk import: a row error on the credit code, the other row imported
    summary = declarations_import(
        actor=u["staff"], content=import_file([import_row(entity.uscc), import_row(other.uscc)])
    )
    assert summary["created"] == 1 and summary["rejected"] == 1
    assert (
        summary["errors"][0]["column"] == "统一社会信用代码" and "尚未作出授信决定" in summary["errors"][0]["message"]
    )
    # … the bank's recommendation (another bank: the case is named without its banks)
    with pytest.raises(ApplicationError) as by_bank:
        s.declaration_recommend_by_bank(actor=u["ccb_admin"], entity_id=entity.pk, **need)
    assert "entity_id" in by_bank.value.field_errors and "中国银行" not in by_bank.value.message
    assert Declaration.objects.filter(entity=entity).count() == 1

    # when the bank declines
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=recs["boc"].pk, reason_code="credit_overdue")
    # then a new need is a new declaration, and the enterprise's home page offers it
    assert 'data-testid="declare-again"' in browser(user).get("/").content.decode()
    again = file(world, entity, user, banks=("ccb",))
    assert again.state == DeclarationState.SUBMITTED


def test_一户一案_签字列入推荐清单待推送的申报也是进行中的申报(world):
    """seed 004 三(五) "分批次将“推荐清单”推送给辖区内的银行机构": signed off but not yet pushed, the
    case is open — no second declaration meanwhile."""
    u = world.users
    entity, user = world.entity()
    declaration = file(world, entity, user)
    through_reviews(world, declaration)
    s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk])
    with pytest.raises(ApplicationError, match="已列入推荐清单, 待推送至银行"):
        file(world, entity, user, banks=("ccb",))


def test_一户一案_企业首页的重新申报与各申报路径同一规则_只读到找到进行中的那一项(world):
    """The enterprise's home offers "重新申报" exactly when every path would accept a new
    declaration: it asks `case_in_progress` (unless the declaration and leads on it already show
    the case open: `case_shown_open`), the paths `open_case` — the same three conditions in
    the same order (an open declaration, one waiting in the 推荐清单, a lead undecided at a bank),
    each read only when the one before found none."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    u = world.users
    entity, user = world.entity()

    def home_offers_a_new_declaration() -> bool:
        return 'data-testid="declare-again"' in browser(user).get("/").content.decode()

    def the_case():
        case = s.case_in_progress(entity)
        assert (s.open_case(entity, actor=user) is None) == (case is None)
        return case

    # given a submitted declaration: open, and the home offers no new one
    declaration = file(world, entity, user)
    assert the_case() == declaration and not home_offers_a_new_declaration()
    # when open, the later conditions are not read: one statement finds the case
    with CaptureQueriesContext(connection) as queries:
        s.case_in_progress(entity)
    assert len(queries.captured_queries) == 1
    # signed off into the 推荐清单, not pushed yet: still the case
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=u["convener"], declaration_ids=[declaration.pk])
    assert the_case() == declaration and not home_offers_a_new_declaration()
    # pushed, the bank not yet decided: still the case
    s.batch_push(actor=u["convener"], batch_id=batch.pk)
    assert the_case() == declaration and not home_offers_a_new_declaration()
    # when the bank declines: no case, and the home offers a new declaration
    rec = Recommendation.objects.get(declaration=declaration)
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=rec.pk, reason_code="credit_overdue")
    assert the_case() is None and home_offers_a_new_declaration()


def test_银行推荐_须经企业同意共享信息并提交后才进入专班审核(world):
    """seed 004 三(五) "辖区内银行机构也可向工作专班推荐小微企业" and 三(四) "尊重企业意愿": a bank's
    recommendation is a draft naming the bank; nothing enters the 初审 before the enterprise (or
    staff from its written consent) agrees to share its data with that bank and submits."""
    u = world.users
    entity, user = world.entity(name="泽州县银行推荐便利店")
    # when 中国银行 recommends it
    declaration = s.declaration_recommend_by_bank(
        actor=u["boc_admin"], entity_id=entity.pk, amount=200_000, term_months=12, purpose="店面改造", note="代发客户"
    )
    # then it is a draft waiting for the enterprise, not in the 初审 queue, and the enterprise is asked
    assert declaration.state == DeclarationState.DRAFT and declaration.source == DeclarationSource.BANK
    assert declaration.consent_given_at is None
    assert not selectors.review_queue(user=u["staff"], role="task_force_staff").filter(pk=declaration.pk).exists()
    assert Notification.objects.filter(recipient=user, title__contains="中国银行向专班推荐您申报融资").exists()
    page = browser(user).get(f"/matching/declarations/{declaration.pk}/").content.decode()
    assert 'data-testid="bank-recommend-notice"' in page and "须企业同意向该行共享信息" in page
    # and it cannot be submitted without the consent, nor without the five criteria
    with pytest.raises(ApplicationError, match="同意"):
        s.declaration_submit(actor=user, declaration_id=declaration.pk)
    s.declaration_consent_record(actor=user, declaration_id=declaration.pk)
    with pytest.raises(ApplicationError, match="五项基本标准未全部满足"):
        s.declaration_submit(actor=user, declaration_id=declaration.pk)
    # when the enterprise completes the criteria and submits
    s.declaration_update(
        actor=user,
        declaration_id=declaration.pk,
        amount=200_000,
        term_months=12,
        purpose="店面改造",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
    )
    s.declaration_submit(actor=user, declaration_id=declaration.pk)
    # then it enters the 初审 like any other
    assert fresh(declaration).state == DeclarationState.SUBMITTED
    assert selectors.review_queue(user=u["staff"], role="task_force_staff").filter(pk=declaration.pk).exists()


# --- item 16: declines carry an explanation ---------------------------------------------------------


def test_其他原因_不予授信须填写说明_页面和接口均拒绝(world):
    """seed 004 三(六): "对不符合信贷条件的清单内小微企业，银行机构应在 5 个工作日内向专班反馈，并由工作专班
    指导乡镇、街道及银行机构跟进辅导" — a decline for 其他原因 must say why (a field error of the note)."""
    u = world.users
    _, _, recs = pushed(world, banks=("boc", "ccb"))
    boc, ccb = recs["boc"], recs["ccb"]
    # when 其他原因 comes without a note: the service, the API and the page refuse it
    with pytest.raises(ApplicationError) as refused:
        s.recommendation_decline(actor=u["boc_admin"], recommendation_id=boc.pk, reason_code="other", note="  ")
    assert "note" in refused.value.field_errors and "其他原因" in refused.value.message
    answer = api(u["boc_admin"]).post(f"/api/v1/leads/{boc.pk}/decline/", {"reason_code": "other"}, format="json")
    assert answer.status_code == 400 and "note" in answer.json()["errors"]
    page = browser(u["ccb_admin"]).post(f"/matching/leads/{ccb.pk}/act/decline/", {"reason_code": "other"}, follow=True)
    assert "须填写说明" in page.content.decode()
    assert {r.state for r in Recommendation.objects.filter(pk__in=[boc.pk, ccb.pk])} == {RecommendationState.PUSHED}
    # with the note it is recorded, and a coded reason needs none
    s.recommendation_decline(actor=u["boc_admin"], recommendation_id=boc.pk, reason_code="other", note="担保人不同意")
    s.recommendation_decline(actor=u["ccb_admin"], recommendation_id=ccb.pk, reason_code="high_debt")
    assert Recommendation.objects.get(pk=boc.pk).decline_note == "担保人不同意"


def test_不予授信原因的整改方向_专班和企业都能看到(world):
    """seed 004 三(六): "… 并由工作专班指导乡镇、街道及银行机构跟进辅导" — the coded reason's fix path is
    shown, in Chinese, to the task force (declaration and lead pages, 工作台) and to the enterprise
    (its case page and home page)."""
    u = world.users
    declaration, user, recs = pushed(world, banks=("boc",))
    lead = recs["boc"]
    s.recommendation_decline(
        actor=u["boc_admin"], recommendation_id=lead.pk, reason_code="credit_overdue", note="近半年逾期 2 次"
    )
    advice = "结清逾期并保持 6 个月以上良好记录后可再申请"
    pages = {
        "专班 申报页": (u["staff"], f"/matching/declarations/{declaration.pk}/"),
        "专班 线索页": (u["lead"], f"/matching/leads/{lead.pk}/"),
        "专班 工作台": (u["staff"], "/"),
        "银行 线索页": (u["boc_admin"], f"/matching/leads/{lead.pk}/"),
        "企业 申报页": (user, f"/matching/declarations/{declaration.pk}/"),
        "企业 首页": (user, "/"),
    }
    for name, (who, path) in pages.items():
        response = browser(who).get(path)
        assert response.status_code == 200, name
        text = response.content.decode()
        assert "征信存在逾期记录" in text and advice in text, name
        assert "整改方向" in text, name
    # and the enterprise's notification carries it too
    assert Notification.objects.filter(recipient=user, body__contains=advice).exists()


def test_审核队列_每条申报的授信往来一次读齐_语句数不随条数增长(world):
    """The queue evaluates each declaration's intended products over its entity's honours and
    bank relationships (借贷往来): both are read for the whole page at once, so the page reads as
    many statements for four declarations as for two (each entity's relationships were read
    apart, and each bank's code once per product evaluated)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from entities.models import BankRelationship

    LAST = []  # the last page's statements, shown when the counts differ

    def statements() -> int:
        client = browser(world.users["staff"])
        client.get("/matching/review/")
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/matching/review/").status_code == 200
        LAST[:] = [q["sql"][:160] for q in queries.captured_queries]
        return len(queries.captured_queries)

    def one_more(n):
        entity, user = world.entity(name=f"泽州县审核队列测试店{n}")
        BankRelationship.objects.create(
            entity=entity, bank=world.branches["ccb"].bank.organisation, months_borrowed=24, credit_line=100_000
        )
        file(world, entity, user, banks=("ccb",))

    # given two, then four submitted declarations, each entity borrowing at 建设银行
    for n in (1, 2):
        one_more(n)
    two = statements()
    for n in (3, 4):
        one_more(n)
    # then the queue reads no more statements for four than for two
    assert statements() == two, "\n".join(LAST)
