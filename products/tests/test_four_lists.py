"""融资服务“四张清单” per product (seed 002_d26ed7e686b841c7.txt point 5: "推动全县银行机构编制授权、
授信、受理回告清单并向社会公示,明确公开小微信贷审批权限、客户准入条件、申请资料、办理流程等,小微
“无贷户”授信申请原则上5个工作日内回复"): the bank writes them, the 产品超市 shows them, and a
product without them is flagged to its bank's administrator."""

import pytest
from django.test import Client

from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError
from products.models import FOUR_LISTS, Bank, LoanProduct
from products.selectors import products_missing_four_lists
from products.services import product_four_lists_update

pytestmark = pytest.mark.django_db

LISTS = {
    "approval_authority": "单户 300 万元(含)以下由县支行审批",
    "admission_conditions": "持续经营满 1 年, 无不良信用记录",
    "application_materials": "营业执照、经营者身份证、近 6 个月流水",
    "process": "申请 → 调查 → 审批 → 签约 → 放款",
    "reply_promise": "小微“无贷户”授信申请 5 个工作日内回复",
}


def head_office_admin(code: str = "boc"):
    return user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code=code).organisation)


def test_公示四张清单_the_bank_writes_them_the_market_shows_them_and_the_gap_is_flagged(catalogue):
    """ "明确公开小微信贷审批权限、客户准入条件、申请资料、办理流程等": published per product."""
    admin = head_office_admin()
    product = LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code")[0]
    # given no list published: every boc product is flagged to the bank's administrator
    flagged = products_missing_four_lists(user=admin)
    assert product in flagged and all(p.bank.code == "boc" for p in flagged)
    client = Client()
    client.force_login(admin)
    page = client.get("/products/manage/").content.decode()
    assert "尚未公示完整的四张清单" in page and product.name in page
    # when he publishes the five texts through the page
    response = client.post(f"/products/manage/{product.code}/four-lists/", LISTS)
    assert response.status_code == 302
    product.refresh_from_db()
    assert {name: getattr(product, name) for name in FOUR_LISTS} == LISTS
    assert product not in products_missing_four_lists(user=admin)
    assert AuditEvent.objects.filter(action="product.four_lists_update", object_id=str(product.pk)).exists()
    # then the 产品超市's product page shows them to anyone
    public = Client().get(f"/products/{product.code}/").content.decode()
    assert "融资服务四张清单" in public and LISTS["approval_authority"] in public


def test_another_bank_cannot_write_the_lists_and_too_long_a_text_is_refused(catalogue):
    product = LoanProduct.objects.filter(bank__code="boc", status="active").order_by("code")[0]
    with pytest.raises(ApplicationError) as refused:
        product_four_lists_update(actor=head_office_admin("ccb"), product=product, lists=LISTS)
    assert refused.value.code == "not_found"
    with pytest.raises(ApplicationError) as refused:
        product_four_lists_update(actor=head_office_admin(), product=product, lists={"process": "流" * 4001})
    assert refused.value.field_errors["process"] == ["办理流程须为不超过 4000 字的文字"]
    client = Client()
    client.force_login(head_office_admin("ccb"))
    assert client.post(f"/products/manage/{product.code}/four-lists/", LISTS).status_code == 404
