"""Page behaviour not covered elsewhere: editing one's profile, the template download, the API
list's filters and cursor pages, the demo loader."""

import csv
import io

import pytest
from django.test import Client
from openpyxl import load_workbook

from entities.factories import MarketEntityFactory
from entities.models import MarketEntity
from entities.register_file import HEADERS
from portal.factories import OrganisationFactory, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role

pytestmark = pytest.mark.django_db


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_enterprise_edits_its_profile_on_the_page_and_sees_no_register_fields():
    # given an enterprise user and its entity
    organisation = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    entity = MarketEntityFactory(organisation=organisation, address="旧地址")
    client = logged_in(user_with_role(Role.ENTERPRISE_USER, organisation=organisation))

    # when it opens the edit page and saves a new address and phone
    form = client.get(f"/entities/{entity.pk}/edit/").content.decode()
    response = client.post(
        f"/entities/{entity.pk}/edit/",
        {
            "address": "泽州县巴公镇新街 1 号",
            "operator_phone": "13900001111",
            "fixed_premises": "true",
            "data_shared_with_banks": "on",
            "operator_nationality": "CN",
            "operator_local_residence": "",
            "operator_residence_region_code": "",
            "operator_industry_experience_months": "",
        },
    )

    # then only its own fields are offered, the change is saved, audited and in the history
    assert 'name="address"' in form and 'name="name"' not in form and 'name="tier_imported"' not in form
    assert response.status_code == 302
    entity.refresh_from_db()
    assert (
        entity.address == "泽州县巴公镇新街 1 号"
        and entity.operator_phone == "13900001111"
        and entity.fixed_premises is True
    )
    event = AuditEvent.objects.get(action="entity.update", object_id=str(entity.pk))
    assert event.after["operator_phone"] == "139****1111"  # the audit log masks personal numbers too
    lines = client.get(f"/entities/{entity.pk}/").content.decode()
    assert "经营场所 旧地址 → 泽州县巴公镇新街 1 号" in lines
    assert "经营者手机号 138****5678 → 139****1111" in lines  # masked in the history too


def test_a_bad_value_on_the_edit_page_is_shown_next_to_its_field():
    organisation = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    entity = MarketEntityFactory(organisation=organisation)
    client = logged_in(user_with_role(Role.ENTERPRISE_USER, organisation=organisation))
    response = client.post(f"/entities/{entity.pk}/edit/", {"operator_phone": "12345", "data_shared_with_banks": "on"})
    assert response.status_code == 400 and "应为 11 位手机号码" in response.content.decode()


def test_another_enterprise_cannot_open_the_edit_page():
    entity = MarketEntityFactory(organisation=OrganisationFactory(kind=OrganisationKind.ENTERPRISE))
    client = logged_in(user_with_role(Role.ENTERPRISE_USER))
    assert client.get(f"/entities/{entity.pk}/edit/").status_code == 404


def test_my_entity_takes_the_enterprise_to_its_page():
    organisation = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    entity = MarketEntityFactory(organisation=organisation)
    client = logged_in(user_with_role(Role.ENTERPRISE_USER, organisation=organisation))
    assert client.get("/entities/mine/")["Location"] == f"/entities/{entity.pk}/"


def test_the_templates_have_exactly_the_register_headers():
    client = logged_in(user_with_role(Role.TASK_FORCE_STAFF))
    workbook = load_workbook(io.BytesIO(client.get("/entities/imports/template/").content))
    assert next(workbook["名录库"].iter_rows(values_only=True)) == HEADERS
    text = client.get("/entities/imports/template/?format=csv").content.decode("utf-8")
    assert text.startswith("\ufeff")
    assert tuple(next(csv.reader(io.StringIO(text.lstrip("\ufeff"))))) == HEADERS


def test_the_template_example_row_imports(tmp_path, run_command):
    client = logged_in(user_with_role(Role.TASK_FORCE_STAFF))
    path = tmp_path / "template.xlsx"
    path.write_bytes(client.get("/entities/imports/template/").content)
    code, summary, _, _ = run_command(path)
    assert code == 0 and summary["created"] == 1, summary


def test_the_api_list_filters_and_pages_with_a_cursor():
    client = logged_in(user_with_role(Role.TASK_FORCE_STAFF))
    MarketEntityFactory.create_batch(3, tier="growth", annual_revenue=900_000)
    MarketEntityFactory.create_batch(2, tier="survival")
    first = client.get("/api/v1/entities/?tier=growth&revenue_min=800000&page_size=2").json()
    second = client.get(first["next"]).json()
    assert len(first["results"]) == 2 and len(second["results"]) == 1 and second["next"] is None
    assert {r["tier"] for r in first["results"] + second["results"]} == {"growth"}
    assert "count" not in first
    assert client.get("/api/v1/entities/?tier=gold").status_code == 400


def test_the_demo_loader_is_idempotent_and_links_the_demo_enterprise(settings):
    from django.utils.module_loading import import_string

    from entities import demo

    loaders = settings.PORTAL_DEMO_LOADERS
    for dotted in loaders[: loaders.index("entities.demo.load")]:
        import_string(dotted)()
    first = demo.load()
    second = demo.load()
    assert first["entities_inserted"] == demo.SHANXI_COUNT + demo.COUNTY_COUNT and second["entities_inserted"] == 0
    entity = MarketEntity.objects.get(uscc=first["demo_enterprise_entity"])
    assert entity.organisation.code == "demo-enterprise" and entity.credit_repairs.exists()
    assert MarketEntity.objects.filter(region_id="140525", township__isnull=False).count() >= demo.COUNTY_COUNT


def test_the_demo_shows_each_fact_the_product_conditions_read(settings):
    """The operating place (兴旺贷 "注册地或经营地"), the operator's own realisable net assets (晋享贷
    "借款人自有可变现净资产") and a bank's records of its customers (示范标杆商户 "在建设银行…"), each
    on at least one demo entity, loaded once."""
    from django.utils.module_loading import import_string

    from entities import demo
    from entities.models import BankRelationship

    loaders = settings.PORTAL_DEMO_LOADERS
    for dotted in loaders[: loaders.index("entities.demo.load") + 1]:
        import_string(dotted)()
    tea_shop = MarketEntity.objects.get(operating_region_code="140525")
    assert tea_shop.region_id == "411502"
    shop = MarketEntity.objects.get(uscc=demo._demo_uscc())
    assert shop.operator_realisable_net_assets == 250_000
    assert MarketEntity.objects.filter(region_id="140525", operator_realisable_net_assets__isnull=False).count() > 10
    banks = set(BankRelationship.objects.values_list("bank__code", flat=True))
    assert banks == {"bank-ccb", "bank-boc"}
    assert BankRelationship.objects.filter(bank__code="bank-ccb", overdue_12m__lte=3, months_borrowed__gte=24).exists()
    before = list(BankRelationship.objects.order_by("pk").values())
    assets = MarketEntity.objects.filter(operator_realisable_net_assets__isnull=False).count()
    demo.load()
    assert list(BankRelationship.objects.order_by("pk").values()) == before
    assert MarketEntity.objects.filter(operator_realisable_net_assets__isnull=False).count() == assets
