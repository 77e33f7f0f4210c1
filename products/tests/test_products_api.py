import pytest
from rest_framework.test import APIClient

from portal.factories import user_with_role
from portal.models import Role
from products.models import Bank, LoanProduct, ProductStatus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("catalogue")]


def client_for(user=None):
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_anyone_reads_banks_branches_and_active_products():
    anonymous = client_for()
    assert anonymous.get("/api/v1/banks/").json()["count"] == 5
    assert anonymous.get("/api/v1/branches/?bank__code=boc").json()["count"] == 12
    body = anonymous.get("/api/v1/products/huishangdai/").json()
    assert body["bank"] == "boc" and body["definition"]["name"] == "惠商贷"
    codes = {p["code"] for p in anonymous.get("/api/v1/products/?page_size=100").json()["results"]}
    assert "huishangdai" in codes and all(LoanProduct.objects.get(code=c).status == ProductStatus.ACTIVE for c in codes)


def test_anonymous_and_other_banks_cannot_write():
    assert client_for().put("/api/v1/products/huishangdai/", {"definition": {}}, format="json").status_code in (
        401,
        403,
    )
    ccb_admin = user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code="ccb").organisation)
    response = client_for(ccb_admin).post("/api/v1/products/huishangdai/retire/")
    assert response.status_code == 403 and "所属银行" in response.json()["message"]


def test_the_owning_bank_edits_publishes_and_retires_its_product():
    boc_admin = user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code="boc").organisation)
    api = client_for(boc_admin)
    current = api.get("/api/v1/products/huishangdai/").json()["definition"]
    # an invalid rule is refused with a Chinese message naming the node
    bad = api.put(
        "/api/v1/products/huishangdai/",
        {"definition": {**current, "rules": {"all": [{"field": "x", "op": ">", "value": 1}]}}},
        format="json",
    )
    assert bad.status_code == 400 and "all[0]" in bad.json()["message"]
    draft = api.put(
        "/api/v1/products/huishangdai/", {"definition": {**current, "max_amount": 800000}}, format="json"
    ).json()
    assert draft["number"] == 2 and draft["published_at"] is None
    published = api.post("/api/v1/products/huishangdai/publish/").json()
    assert published["number"] == 2 and published["published_at"]
    assert [v["number"] for v in api.get("/api/v1/products/huishangdai/versions/").json()] == [2, 1]
    assert api.post("/api/v1/products/huishangdai/retire/").json()["status"] == "retired"
    assert api.post("/api/v1/products/huishangdai/retire/").status_code == 409


def test_a_bank_admin_creates_a_draft_product_and_a_branch():
    boc = Bank.objects.get(code="boc")
    api = client_for(user_with_role(Role.BANK_ADMIN, organisation=boc.organisation))
    template = LoanProduct.objects.get(code="shang-e-dai").current_version.definition
    created = api.post(
        "/api/v1/products/", {"code": "boc-test-dai", "definition": {**template, "name": "测试贷"}}, format="json"
    )
    assert created.status_code == 201 and created.json()["status"] == "draft"
    provincial = boc.branches.get(level="provincial")
    branch = api.post(
        "/api/v1/branches/",
        {
            "parent": provincial.pk,
            "name": "中国银行阳城支行",
            "level": "county",
            "region_code": "140522",
            "service_prefixes": ["140522"],
        },
        format="json",
    )
    assert branch.status_code == 201 and branch.json()["service_prefixes"] == ["140522"]
    bad = api.post(
        "/api/v1/branches/",
        {"parent": provincial.pk, "name": "x", "level": "county", "region_code": "140522", "service_prefixes": ["99"]},
        format="json",
    )
    assert bad.status_code == 400 and "service_prefixes" in bad.json()["errors"]
