"""The 中国银行 惠商贷 programme (seeds/001_f5b176863b765510.txt, 晋市监发〔2024〕80号 附件 “三型四类”
优质个体工商户普惠金融服务方案) on the portal's own data: 烟商E贷's licence read from an entity row,
and 商E贷's scenario list kept by the bank's head office as versioned data."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from eligibility.rules import iter_leaves
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError
from products.eligibility import evaluate_entity
from products.models import Bank, LoanProduct
from products.services import PRODUCT_PUBLISHED_HOOKS, catalog_load, product_edit, product_scenarios_update

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
LIQUOR = {"name": "酒商", "industry_codes": ["5127", "5226"]}
PHARMACY = {"name": "药商", "industry_codes": ["5151", "5152", "5251", "5252"]}
GRAIN = {"name": "粮油商", "industry_codes": ["5221"]}


def head_office_admin(code: str = "boc"):
    return user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code=code).organisation)


def scenario_rule(version) -> dict:
    (leaf,) = [leaf for leaf in iter_leaves(version.definition["rules"]) if leaf.get("id") == "scenario_industry"]
    return leaf


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


# --- 烟商E贷: "为全省烟草零售商借款人提供" (附件 四(一)1) ------------------------------------------


def _retailer(world, **licence):
    entity, _ = world.entity("泽州县福满烟酒店", with_user=False)
    values = dict(
        industry_id="5227",
        tier_imported="survival",
        tier="survival",
        operator_birth_date=dt.date(1980, 6, 1),
        overdue_consecutive_24m=0,
        overdue_total_24m=0,
        **licence,
    )
    for name, value in values.items():
        setattr(entity, name, value)
    entity.save()
    return entity


@pytest.mark.parametrize(
    "licence, verdict, message",
    [
        (
            {
                "tobacco_licence_held": True,
                "tobacco_licence_number": "140525100018",
                "tobacco_licence_valid_from": TODAY - dt.timedelta(days=700),
                "tobacco_licence_valid_until": TODAY + dt.timedelta(days=1125),
            },
            "eligible",
            "烟草专卖零售许可证: 有效期内, 要求为有效期内",
        ),
        (
            {
                "tobacco_licence_held": True,
                "tobacco_licence_number": "140525100018",
                "tobacco_licence_valid_from": TODAY - dt.timedelta(days=1827),
                "tobacco_licence_valid_until": TODAY - dt.timedelta(days=1),
            },
            "ineligible",
            "烟草专卖零售许可证: 已过期, 要求为有效期内; 烟商E贷仅面向持有有效期内烟草专卖零售许可证的烟草零售商; "
            "许可证已过期的, 办理延续后请更新许可证有效期",
        ),
        ({"tobacco_licence_held": False}, "ineligible", "烟草专卖零售许可证: 未持有, 要求为有效期内"),
        ({}, "incomplete", "缺少烟草专卖零售许可证信息, 无法判断是否持有有效的烟草专卖零售许可证"),
    ],
)
def test_烟商E贷_为全省烟草零售商借款人提供_read_from_the_entity_row(world, licence, verdict, message):
    """seeds/001 附件 四(一)1: "“烟商E贷”……为全省烟草零售商借款人提供的信用类线上个人经营贷款". A row
    holding a valid licence is eligible; an expired one fails with its reason; "holds none" fails;
    an unknown licence is 信息不全 ("缺少烟草专卖零售许可证信息")."""
    entity = _retailer(world, **licence)
    version = LoanProduct.objects.get(code="yanshang-e-dai").current_version
    result = evaluate_entity(entity, version).result
    assert result["verdict"] == verdict
    (reason,) = [r for r in result["reasons"] if r["rule"] == "tobacco_licence"]
    assert reason["message"].startswith(message)


# --- 商E贷: "为药商、酒商等17个重点场景领域（附件1）的个体工商户提供" --------------------------------


def test_商E贷_17个重点场景_kept_by_the_head_office_as_a_new_published_version(catalogue):
    """The annex (附件1) is not in the notice: the scenario list is data the bank's head-office
    administrator edits; a change publishes a new version (effective today) and re-matches."""
    product = LoanProduct.objects.get(code="shang-e-dai")
    before = product.current_version
    admin = head_office_admin()
    # when the head office adds 粮油商 and marks the list complete
    version = product_scenarios_update(actor=admin, product=product, scenarios=[PHARMACY, LIQUOR, GRAIN], complete=True)
    product.refresh_from_db()
    # then a new version is current, published today, by him, with the rule rebuilt from the list
    assert product.current_version == version and version.number == before.number + 1
    assert version.is_published and version.effective_from == TODAY and version.created_by == admin
    leaf = scenario_rule(version)
    assert leaf["value"] == ["5151", "5152", "5251", "5252", "5127", "5226", "5221"]
    assert leaf["value_labels"]["5221"] == "粮油零售" and "unmatched" not in leaf
    assert version.definition["scenarios"][-1] == GRAIN and version.definition["scenarios_complete"] is True
    # the old version is unchanged (evaluations recorded against it keep their meaning)
    before.refresh_from_db()
    assert scenario_rule(before)["unmatched"] == "unknown"
    assert AuditEvent.objects.filter(action="product.scenarios_update", object_id=str(product.pk)).exists()


def test_商E贷_a_scenario_change_calls_the_publication_hooks(catalogue, django_capture_on_commit_callbacks):
    # (batch matching registers its re-match there; batch_matching/tests check the stored rows)
    product = LoanProduct.objects.get(code="shang-e-dai")
    published = []
    PRODUCT_PUBLISHED_HOOKS.append(published.append)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            version = product_scenarios_update(
                actor=head_office_admin(), product=product, scenarios=[PHARMACY, LIQUOR, GRAIN], complete=False
            )
    finally:
        PRODUCT_PUBLISHED_HOOKS.remove(published.append)
    assert published == [version]


def test_商E贷_a_complete_list_fails_unlisted_industries(world):
    # given a 理发店 (8010): unknown while the list is open, a fail once the bank says it is complete
    entity, _ = world.entity("泽州县测试理发店", with_user=False)
    entity.industry_id = "8010"
    entity.save()
    product = LoanProduct.objects.get(code="shang-e-dai")
    open_result = evaluate_entity(entity, product.current_version).result
    assert [r["outcome"] for r in open_result["reasons"] if r["rule"] == "scenario_industry"] == ["unknown"]
    version = product_scenarios_update(actor=None, product=product, scenarios=[PHARMACY, LIQUOR], complete=True)
    closed = evaluate_entity(entity, version).result
    assert [r["outcome"] for r in closed["reasons"] if r["rule"] == "scenario_industry"] == ["fail"]


def test_商E贷_scenarios_refuse_unknown_codes_and_an_open_draft(catalogue):
    product = LoanProduct.objects.get(code="shang-e-dai")
    admin = head_office_admin()
    with pytest.raises(ApplicationError) as error:
        product_scenarios_update(
            actor=admin, product=product, scenarios=[{"name": "烟商", "industry_codes": ["9999", "52"]}], complete=False
        )
    assert error.value.field_errors == {"scenarios": ["行业代码 9999 不在 GB/T 4754-2017 行业表中"]}
    # given a draft waiting to be published, a scenario change would publish over it: refused
    product_edit(
        actor=admin, product=product, definition=dict(product.current_version.definition), effective_from=TODAY
    )
    with pytest.raises(ApplicationError) as error:
        product_scenarios_update(actor=admin, product=product, scenarios=[PHARMACY], complete=False)
    assert error.value.code == "conflict" and "草稿" in error.value.message
    # and a product without a list has none to edit
    with pytest.raises(ApplicationError):
        product_scenarios_update(
            actor=admin, product=LoanProduct.objects.get(code="huishangdai"), scenarios=[PHARMACY], complete=False
        )


def test_商E贷_scenarios_unchanged_publish_nothing(catalogue):
    product = LoanProduct.objects.get(code="shang-e-dai")
    current = product.current_version
    again = product_scenarios_update(
        actor=head_office_admin(), product=product, scenarios=[PHARMACY, LIQUOR], complete=False
    )
    # the seed list re-entered as it is: but now the bank owns it, which is a change of the data
    assert again.number == current.number + 1 and again.definition["scenarios_source"] == "bank"
    same = product_scenarios_update(
        actor=head_office_admin(), product=product, scenarios=[PHARMACY, LIQUOR], complete=False
    )
    assert same == again


def test_商E贷_reloading_the_catalogue_keeps_the_banks_list(catalogue):
    product = LoanProduct.objects.get(code="shang-e-dai")
    version = product_scenarios_update(
        actor=head_office_admin(), product=product, scenarios=[PHARMACY, LIQUOR, GRAIN], complete=True
    )
    # when the seed catalogue is loaded again (a deployment)
    counts = catalog_load()
    product.refresh_from_db()
    # then the bank's list stands
    assert product.current_version == version and counts["versions_created"] == 0
    assert scenario_rule(product.current_version)["value"][-1] == "5221"


@pytest.mark.parametrize(
    "who",
    ["other_bank_head_office", "city_bank_admin", "account_manager", "task_force", "enterprise", "platform_admin"],
)
def test_商E贷_scenarios_are_the_banks_head_office_admins_only(world, who):
    """ "由本行行级管理员维护": another bank's head office, the bank's own branches, the task force, an
    enterprise and the platform's administrator may not change 中国银行's list."""
    users = {
        "other_bank_head_office": lambda: head_office_admin("ccb"),
        "city_bank_admin": lambda: world.users["boc_admin"],
        "account_manager": lambda: world.users["boc_manager"],
        "task_force": lambda: world.users["staff"],
        "enterprise": lambda: world.entity("泽州县测试药店")[1],
        "platform_admin": lambda: user_with_role(Role.PLATFORM_ADMIN),
    }
    user = users[who]()
    product = LoanProduct.objects.get(code="shang-e-dai")
    before = product.current_version_id
    # the service refuses
    with pytest.raises(ApplicationError) as error:
        product_scenarios_update(actor=user, product=product, scenarios=[PHARMACY], complete=True)
    assert error.value.code in ("not_found", "permission_denied")
    # the page is not theirs (403 for a role that reaches it, 404 for everyone else)
    page = client_for(user).get("/products/manage/shang-e-dai/scenarios/")
    assert page.status_code in (403, 404)
    # the API refuses the write
    api = APIClient()
    api.force_authenticate(user)
    response = api.put(
        "/api/v1/products/shang-e-dai/scenarios/", {"scenarios": [PHARMACY], "complete": True}, format="json"
    )
    assert response.status_code in (403, 404)
    product.refresh_from_db()
    assert product.current_version_id == before


def test_商E贷_scenario_page_lists_and_saves_the_list(catalogue):
    admin = head_office_admin()
    client = client_for(admin)
    # the product page links to the list
    assert 'data-testid="scenarios-link"' in client.get("/products/manage/shang-e-dai/").content.decode()
    page = client.get("/products/manage/shang-e-dai/scenarios/")
    html = page.content.decode()
    assert page.status_code == 200 and "5151、5152、5251、5252" in html and 'value="酒商"' in html
    # when he adds a row and marks the list complete
    data = {
        "scenarios-TOTAL_FORMS": "5",
        "scenarios-INITIAL_FORMS": "2",
        "scenarios-MIN_NUM_FORMS": "0",
        "scenarios-MAX_NUM_FORMS": "50",
        "scenarios-0-name": "药商",
        "scenarios-0-industry_codes": "5151、5152、5251、5252",
        "scenarios-1-name": "酒商",
        "scenarios-1-industry_codes": "5127, 5226",
        "scenarios-2-name": "粮油商",
        "scenarios-2-industry_codes": "5221",
        "complete": "on",
    }
    response = client.post("/products/manage/shang-e-dai/scenarios/", data)
    assert response.status_code == 302
    version = LoanProduct.objects.get(code="shang-e-dai").current_version
    assert version.definition["scenarios"][-1] == GRAIN and version.definition["scenarios_complete"] is True
    # a bad code is shown on the page, nothing is published
    data.update({"scenarios-3-name": "烟商", "scenarios-3-industry_codes": "9999"})
    response = client.post("/products/manage/shang-e-dai/scenarios/", data)
    assert response.status_code == 400 and "行业代码 9999 不在 GB/T 4754-2017 行业表中" in response.content.decode()
    assert LoanProduct.objects.get(code="shang-e-dai").current_version == version
    # a row with codes and no name is a field error
    data.update({"scenarios-3-name": "", "scenarios-3-industry_codes": "5221"})
    response = client.post("/products/manage/shang-e-dai/scenarios/", data)
    assert response.status_code == 400 and "请填写场景名称" in response.content.decode()


def test_商E贷_scenario_api_reads_and_replaces_the_list(catalogue):
    api = APIClient()
    listed = api.get("/api/v1/products/shang-e-dai/scenarios/")
    assert listed.status_code == 200
    assert listed.json()["scenarios"] == [PHARMACY, LIQUOR] and listed.json()["complete"] is False
    api.force_authenticate(head_office_admin())
    response = api.put(
        "/api/v1/products/shang-e-dai/scenarios/",
        {"scenarios": [PHARMACY, LIQUOR, GRAIN], "complete": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["scenarios"][-1] == GRAIN and response.json()["version"] == 2
    bad = api.put(
        "/api/v1/products/shang-e-dai/scenarios/",
        {"scenarios": [{"name": "x", "industry_codes": ["9999"]}]},
        format="json",
    )
    assert bad.status_code == 400
    assert api.get("/api/v1/products/huishangdai/scenarios/").status_code == 404


@pytest.mark.parametrize(
    "licence, verdict",
    [
        (
            {"tobacco_licence": "yes", "tobacco_licence_valid_until": (TODAY + dt.timedelta(days=400)).isoformat()},
            "eligible",
        ),
        (
            {"tobacco_licence": "yes", "tobacco_licence_valid_until": (TODAY - dt.timedelta(days=1)).isoformat()},
            "ineligible",
        ),
        ({"tobacco_licence": "no"}, "ineligible"),
        ({}, "incomplete"),
    ],
)
def test_资格自测_asks_for_the_tobacco_licence(catalogue, licence, verdict):
    # given a tobacco shop of 晋城 that states its licence (or not) on the self-test
    data = {
        "entity_type": "individual_business",
        "region_code": "140502",
        "industry_code": "52",
        "industry_detail": "5227",
        "established_on": "2020-05-10",
        "register_status": "active",
        "tier": "survival",
        "honor": "none",
        "annual_revenue": "40",
        "birth_date": "1986-03-01",
        "overdue_consecutive_24m": "0",
        "overdue_total_24m": "0",
        **licence,
    }
    response = Client().post("/products/self-test/", data)
    assert response.status_code == 200
    results = {r["product"]: r for r in response.context["results"]}
    assert results["yanshang-e-dai"]["verdict"] == verdict
