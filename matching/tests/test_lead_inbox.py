"""The lead inbox's filters, tabs and the assignment (issue 16 items 3 and 5): "The inbox has
no product filter; the county filter is a typed code. All filters are drop-downs or
searchable selects; the 已放款 tab shows only disbursed leads (未提款 is its own tab)", and
分配 must "refuse an empty selection instead of 已分配 0 条"."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from matching import selectors
from matching import services as s
from matching.factories import declare, pushed, through_reviews
from matching.models import Recommendation, RecommendationState
from portal.services import ApplicationError
from products.models import LoanProduct

pytestmark = pytest.mark.django_db


def _get(user, path) -> str:
    client = Client()
    client.force_login(user)
    return client.get(path).content.decode()


def _names(html: str) -> list[str]:
    table = html.split('data-testid="lead-table"')[1].split("</table>")[0]
    return re.findall(r'href="/matching/leads/\d+/">([^<]+)</a>', table)


def _options(html: str, name: str) -> list[str]:
    select = html.split(f'name="{name}"')[1].split("</select>")[0]
    return re.findall(r"<option[^>]*>([^<]+)</option>", select)


def _lead(world, name: str) -> Recommendation:
    entity, user = world.entity(name)
    declaration = declare(world, entity, user, ("boc",))
    through_reviews(world, declaration)
    batch = s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk])
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    return Recommendation.objects.get(declaration=declaration)


def _approve(world, lead):
    admin = world.users["boc_admin"]
    s.recommendation_contact(actor=admin, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=admin, recommendation_id=lead.pk)
    s.recommendation_approve(
        actor=admin,
        recommendation_id=lead.pk,
        credit_amount=100_000,
        rate_percent="3.8",
        term_months=12,
        guarantee="credit",
        is_credit_loan=True,
        is_first_loan=False,
    )


def test_已放款标签只列已放款的线索_未提款单独成签(world):
    """issue 16: "the 已放款 tab shows only disbursed leads (未提款 is its own tab)"."""
    admin = world.users["boc_admin"]
    drawn, not_drawn = _lead(world, "泽州县已放款小店"), _lead(world, "泽州县未提款小店")
    for lead in (drawn, not_drawn):
        _approve(world, lead)
    s.recommendation_disburse(actor=admin, recommendation_id=drawn.pk, amount=50_000, disbursed_on=timezone.localdate())
    s.recommendation_not_drawn(actor=admin, recommendation_id=not_drawn.pk)

    assert _names(_get(admin, "/matching/leads/?tab=disbursed")) == ["泽州县已放款小店"]
    assert _names(_get(admin, "/matching/leads/?tab=not_drawn")) == ["泽州县未提款小店"]
    counts = selectors.inbox_counts(user=admin)
    assert counts[RecommendationState.DISBURSED] == 1 and counts[RecommendationState.NOT_DRAWN] == 1
    tabs = _get(admin, "/matching/leads/").split('data-testid="inbox-tabs"')[1].split("</ul>")[0]
    assert "已放款" in tabs and "未提款" in tabs


def test_收件箱按产品筛选_县区是本行服务的县区下拉(world):
    """issue 16: "The inbox has no product filter; the county filter is a typed code. All
    filters are drop-downs or searchable selects"."""
    admin = world.users["boc_admin"]
    a, b = _lead(world, "泽州县惠商小店"), _lead(world, "泽州县商e小店")
    # one lead of each product (the push names the best-fitting one: set them apart)
    first = LoanProduct.objects.get(code="huishangdai")
    other = LoanProduct.objects.get(code="shang-e-dai")
    Recommendation.objects.filter(pk=a.pk).update(product_version=first.current_version)
    Recommendation.objects.filter(pk=b.pk).update(product_version=other.current_version)
    a = Recommendation.objects.get(pk=a.pk)

    html = _get(admin, "/matching/leads/")
    # every filter is a drop-down, except the name search
    form = html.split('data-testid="inbox-filters"')[1].split("</form>")[0]
    assert re.findall(r'<input[^>]*name="(\w+)"', form) == ["tab", "q"]
    assert set(re.findall(r'<select[^>]*name="(\w+)"', form)) == {"county", "product", "amount", "manager", "origin"}
    # the counties are those the branch serves, not a typed code: the 晋城 branch serves 晋城's
    # counties (none of 太原's), its 泽州 sub-branch's account manager only 泽州县
    counties = re.findall(r'<option value="(\d+)"', html.split('name="county"')[1].split("</select>")[0])
    assert "140525" in counties and "140581" in counties and all(c.startswith("1405") for c in counties)
    manager_page = _get(world.users["boc_manager"], "/matching/leads/")
    assert _options(manager_page, "county") == ["全部县(区)", "泽州县"]
    # the products are the bank's own
    products = _options(html, "product")
    assert a.product_version.product.name in products and other.name in products
    assert not {p.name for p in LoanProduct.objects.filter(bank__code="ccb")} & set(products)

    # when the administrator picks a product, only its leads are listed
    code = a.product_version.product.code
    assert _names(_get(admin, f"/matching/leads/?product={code}")) == ["泽州县惠商小店"]
    assert _names(_get(admin, "/matching/leads/?product=shang-e-dai")) == ["泽州县商e小店"]
    assert _names(_get(admin, "/matching/leads/?county=140581")) == []
    assert set(_names(_get(admin, "/matching/leads/?county=140525"))) == {"泽州县惠商小店", "泽州县商e小店"}
    # the need bands (each declaration asks for 30 万元) and the 未分配 filter
    assert len(_names(_get(admin, "/matching/leads/?amount=10-50"))) == 2
    assert _names(_get(admin, "/matching/leads/?amount=gt300")) == []
    s.recommendations_assign(actor=admin, recommendation_ids=[a.pk], manager_id=world.users["boc_manager"].pk)
    assert _names(_get(admin, "/matching/leads/?manager=none")) == ["泽州县商e小店"]
    assert _names(_get(admin, f"/matching/leads/?manager={world.users['boc_manager'].pk}")) == ["泽州县惠商小店"]
    # bad input never 500s
    for bad in ("county=abc", "product=%00", "q=%00", "amount=xx", "manager=-1", "manager=x", "tab=%00"):
        client = Client()
        client.force_login(admin)
        assert client.get(f"/matching/leads/?{bad}").status_code == 200, bad


def test_分配时未勾选线索_拒绝并说明_不显示已分配0条(world):
    """issue 16: "分配 (refuse an empty selection instead of 已分配 0 条)"."""
    admin, manager = world.users["boc_admin"], world.users["boc_manager"]
    _, _, leads = pushed(world, ("boc",))
    # the service refuses it
    with pytest.raises(ApplicationError) as refused:
        s.recommendations_assign(actor=admin, recommendation_ids=[], manager_id=manager.pk)
    assert refused.value.message == "请先勾选要分配的线索"
    # the page says so in Chinese, never "已分配 0 条"
    client = Client()
    client.force_login(admin)
    page = client.post("/matching/leads/", {"manager": manager.pk}, follow=True).content.decode()
    assert "请先勾选要分配的线索" in page and "已分配 0 条" not in page
    assert Recommendation.objects.get(pk=leads["boc"].pk).assigned_to is None
    # and the button asks for a confirmation that says what will happen
    assert 'data-confirm="将勾选的线索分配给所选客户经理' in _get(admin, "/matching/leads/")
