"""Stored and live verdicts agree on a declaration (issue 15, item 13).

Batch matching stores every entity × product evaluated without a need (the product's default
term, no requested amount); a declaration carries its own need. Its page judges each intended
bank's product for that need (matching.verdicts), and shows the stored result only as the
generic result of the run, saying why it differs — never as a second, contradicting verdict."""

import re

import pytest
from django.test import Client
from rest_framework.test import APIClient

from batch_matching.models import MatchResult, Verdict
from matching import services as workflow
from matching import verdicts
from matching.models import BASIC_CRITERIA
from products.eligibility import evaluate_entity
from products.models import LoanProduct

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 30

CRITERIA = {key: {"met": True, "evidence": "走访核实"} for key in BASIC_CRITERIA}


def _declare(world, *, term_months: int, amount: int = 100_000):
    return workflow.declaration_create(
        actor=world.special["enterprise_user"],
        entity_id=world.special["model"].pk,
        amount=amount,
        term_months=term_months,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )


def _row_html(html: str, code: str) -> str:
    """The verdict row of one product and the stored note under it."""
    start = html.index(f'data-testid="verdict-{code}"')
    end = html.index("</div>", html.index(f'data-testid="stored-note-{code}"'))
    return html[start:end]


def test_惠商贷_贷款期限不超过12个月_24个月的申报只显示一个结论(matched):
    """001 附件 中国银行惠商贷: 贷款期限不超过 12 个月. The batch run stored 惠商贷 符合 for
    the model entity (evaluated without a need, at the default 12 months); a declaration
    asking for 24 months shows 惠商贷 不符合 for its need, and the stored result only as the
    generic one, with the term named — the page has no second verdict saying 符合."""
    world, run = matched
    model = world.special["model"]
    product = LoanProduct.objects.get(code="huishangdai")
    # given the run found the model entity eligible for 惠商贷 (no need: 12 months)
    stored = MatchResult.objects.get(generation=run.generation, entity_id=model.pk, product_id=product.pk)
    assert stored.verdict == Verdict.ELIGIBLE

    # when the entity declares a 24-month need to 中国银行
    declaration = _declare(world, term_months=24)
    rows = {
        r.product.code: r
        for r in verdicts.declaration_verdicts(user=world.users["staff"], declaration=declaration)["rows"]
    }

    # then 惠商贷 is judged for the need: 不符合, because of the term
    row = rows["huishangdai"]
    assert row.verdict == "ineligible" and row.stored_verdict == "eligible" and not row.agrees
    assert "贷款期限 24 个月, 要求不超过 12 个月" in row.note and f"批量匹配 #{run.pk}按通用条件评估" in row.note
    # and every product's verdict is the live engine's for the declared need
    need = {"amount": declaration.amount, "term_months": 24}
    for code, each in rows.items():
        expected = evaluate_entity(model, each.product.current_version, need=need).result["verdict"]
        assert each.verdict == expected, code

    # and the page a reviewer opens shows one verdict for 惠商贷: 暂不符合, the stored 符合 only
    # as the generic result with the reason
    html = Client()
    html.force_login(world.users["staff"])
    page = html.get(f"/matching/declarations/{declaration.pk}/").content.decode()
    section = _row_html(page, "huishangdai")
    assert re.findall(r'data-testid="verdict-label">([^<]*)<', section) == ["暂不符合"]
    assert "符合条件" not in section and "贷款期限 24 个月, 要求不超过 12 个月" in section
    assert "不含申报需求" in section


def test_a_12_month_need_agrees_with_the_stored_result(matched):
    """The same entity asking for 12 months: the verdict for the need and the stored generic
    result say the same (惠商贷 符合), and the page says so."""
    world, run = matched
    declaration = _declare(world, term_months=12)
    rows = {
        r.product.code: r
        for r in verdicts.declaration_verdicts(user=world.users["staff"], declaration=declaration)["rows"]
    }
    row = rows["huishangdai"]
    assert row.verdict == "eligible" and row.agrees and row.note == f"与批量匹配 #{run.pk}结果一致"
    assert verdicts.verdict_summary(list(rows.values())).startswith("符合条件 ")


def test_a_stored_result_older_than_the_data_is_not_blamed_on_the_need(matched):
    """After the run, the entity's revenue is cleared (惠商贷's 20%-of-revenue cap cannot be
    computed) and nothing re-matched yet: the verdict follows the current data, and the stored
    result is said to predate the change rather than differ by the need."""
    world, run = matched
    model = world.special["model"]
    declaration = _declare(world, term_months=12)
    type(model).objects.filter(pk=model.pk).update(annual_revenue=None)  # bypasses the re-matching hooks
    declaration.entity.refresh_from_db()
    rows = {
        r.product.code: r
        for r in verdicts.declaration_verdicts(user=world.users["staff"], declaration=declaration)["rows"]
    }
    row = rows["huishangdai"]
    assert row.stored_verdict == "eligible" and row.verdict != "eligible" and not row.agrees
    assert "之后主体信息或产品规则已有变化" in row.note


def test_审核队列_队列接口与申报页_同一申报同一结论(matched):
    """004 三(五) "对照 5 项基本标准 … 三级审核" and issue 15 item 13 "Declaration pages and
    queues evaluate the declaration's own need": the review queue, its API and the declaration's
    page read one evaluation (matching.verdicts.need_verdicts), so a 24-month need shows 惠商贷
    暂不符合 with the same label, offer and reason everywhere."""
    world, _run = matched
    staff = world.users["staff"]
    # given a 24-month declaration to 中国银行 waiting for the task force's first review
    declaration = _declare(world, term_months=24)

    # when the staff member reads the declaration's page verdicts, the queue page and the API's queue
    page_rows = verdicts.declaration_verdicts(user=staff, declaration=declaration)["rows"]
    client = Client()
    client.force_login(staff)
    queue_html = client.get("/matching/review/").content.decode()
    api = APIClient()
    api.force_authenticate(staff)
    items = api.get("/api/v1/declarations/review-queue/").json()["results"]
    item = next(i for i in items if i["id"] == declaration.pk)

    # then the API's queue lists the same products with the same verdict, label, offer and reason
    expected = [
        {
            "product_code": row.product.code,
            "verdict": row.verdict,
            "verdict_label": row.verdict_label,
            "max_amount": row.max_amount,
            "reason": row.reason,
        }
        for row in page_rows
    ]
    assert [{key: e[key] for key in expected[0]} for e in item["review"]["eligibility"]] == expected
    assert item["review"]["eligible_count"] == sum(1 for row in page_rows if row.verdict == "eligible")
    # and 惠商贷 is 暂不符合 because of the term, on the queue page too
    huishangdai = next(row for row in page_rows if row.product.code == "huishangdai")
    assert huishangdai.verdict_label == "暂不符合" and "贷款期限 24 个月, 要求不超过 12 个月" in huishangdai.reason
    assert f"{huishangdai.bank.name} · {huishangdai.product.name}: 暂不符合" in queue_html
