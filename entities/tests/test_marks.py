"""The regulator's 三型 mark kept apart from the platform's estimate (issue 15 item 1).

001 附件 三(二): "经营实体在'全省个体工商户名录库'中被标记为'三型'的个体工商户". The mark comes from
an import of the provincial list or from a city or provincial regulator (with its source and
date, audited); the estimate is the platform's own computation, shown as 预估, never the mark.
County staff, banks and enterprises cannot set the mark."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from entities.factories import MarketEntityFactory, csv_bytes, good_row
from entities.models import EntityChange, EntityImport, Honor, MarketEntity
from entities.register_import import RegisterImport
from entities.services import entity_update, tier_mark_set
from portal.errors import ApplicationError
from portal.factories import user_with_role
from portal.models import AuditEvent, Role

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def unmarked():
    """An individual business of 泽州县 not marked in the 名录库, which the platform estimates 成长型."""
    return MarketEntityFactory(
        name="泽州县只有预估小吃店",
        annual_revenue=850_000,
        has_tax_record=True,
        tax_status="small_scale_taxpayer",
        social_insurance_headcount=2,
        tier_imported=None,
        tier=None,
        tier_mark_source="",
        tier_computed="growth",
    )


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("role", [Role.CITY_REGULATOR, Role.PROVINCE_REGULATOR])
def test_a_city_or_provincial_regulator_marks_三型_in_the_名录库_with_source_and_date(unmarked, role):
    # given the city (晋城) or the provincial regulator, and an entity with only the platform's estimate
    user = user_with_role(role, first_name="李科长")
    page = client_of(user)
    before = page.get(f"/entities/{unmarked.pk}/").content.decode()
    assert 'data-testid="tier-mark-link"' in before
    assert "成长型(预估)" in before and 'data-testid="tier-badge"' not in before

    # when it marks the entity 成长型 on the 标记三型 page
    response = page.post(
        f"/entities/{unmarked.pk}/tier-mark/", {"tier": "growth", "marked_on": "", "note": "2025 年度名录库分型结果"}
    )

    # then the mark is set with its source (the regulator's organisation and name) and date
    assert response.status_code == 302 and response["Location"] == f"/entities/{unmarked.pk}/#classification"
    entity = MarketEntity.objects.get(pk=unmarked.pk)
    organisation = user.memberships.get().organisation.name
    assert (entity.tier_imported, entity.tier, entity.tier_marked_on) == ("growth", "growth", TODAY)
    assert entity.tier_mark_source == f"{organisation}(李科长)"
    # recorded in the change history and the audit log
    change = EntityChange.objects.filter(entity=entity).latest("changed_at")
    assert change.source == "regulator" and change.changes["tier_imported"] == [None, "growth"]
    assert change.changes["tier_mark_note"] == [None, "2025 年度名录库分型结果"]
    event = AuditEvent.objects.get(action="entity.tier_mark", object_id=str(entity.pk))
    assert event.before == {"tier": None} and event.after["tier"] == "growth" and event.ip_address is not None
    # and the entity page shows the mark with source and date, and the estimate apart, labelled 预估
    body = page.get(f"/entities/{entity.pk}/").content.decode()
    mark = body.split('data-testid="tier-mark-source">', 1)[1].split("</div>", 1)[0]
    assert organisation in mark and TODAY.isoformat() in mark
    assert body.split('data-testid="tier">', 1)[1].startswith("成长型")
    assert body.split('data-testid="tier-estimate">', 1)[1].startswith("成长型(预估)")


@pytest.mark.parametrize(
    "role",
    [
        Role.TASK_FORCE_STAFF,
        Role.TASK_FORCE_LEAD,
        Role.TASK_FORCE_BANK_REVIEWER,
        Role.CONVENER,
        Role.BANK_ADMIN,
        Role.ACCOUNT_MANAGER,
        Role.ENTERPRISE_USER,
        Role.PLATFORM_ADMIN,
    ],
)
def test_no_one_but_a_city_or_provincial_regulator_marks_三型(unmarked, role):
    """The mark is the regulator's ("在'全省个体工商户名录库'中被标记为'三型'"): county staff, the
    convener, banks, the entity's own enterprise user and the platform administrator cannot set it —
    on the page, through the API, or through the service — and nothing changes."""
    # given a user of that role (the enterprise user owns the entity)
    user = user_with_role(role)
    if role == Role.ENTERPRISE_USER:
        MarketEntity.objects.filter(pk=unmarked.pk).update(organisation=user.memberships.get().organisation)
    page, api = client_of(user), APIClient()
    api.force_authenticate(user)

    # when it tries to mark the entity
    got = page.get(f"/entities/{unmarked.pk}/tier-mark/")
    posted = page.post(f"/entities/{unmarked.pk}/tier-mark/", {"tier": "development", "note": "x"})
    called = api.post(f"/api/v1/entities/{unmarked.pk}/tier-mark/", {"tier": "development"}, format="json")
    with pytest.raises(ApplicationError) as refused:
        tier_mark_set(actor=user, entity=unmarked.pk, tier="development")

    # then every way is refused (403, or 404 where the entity is not its to change) and nothing changes
    assert got.status_code in (403, 404) and posted.status_code in (403, 404) and called.status_code in (403, 404)
    assert refused.value.code in ("permission_denied", "not_found")
    entity = MarketEntity.objects.get(pk=unmarked.pk)
    assert (entity.tier_imported, entity.tier, entity.tier_mark_source) == (None, None, "")
    assert not AuditEvent.objects.filter(action="entity.tier_mark").exists()
    assert 'data-testid="tier-mark-link"' not in page.get(f"/entities/{unmarked.pk}/").content.decode()


def test_another_citys_regulator_cannot_mark_an_entity_outside_its_city(unmarked):
    # given 大同's city regulator and an entity of 泽州县 (晋城)
    user = user_with_role(Role.CITY_REGULATOR, region_code="140200")
    # then the entity is not found for it, on the page and through the service
    assert client_of(user).post(f"/entities/{unmarked.pk}/tier-mark/", {"tier": "growth"}).status_code == 404
    with pytest.raises(ApplicationError) as refused:
        tier_mark_set(actor=user, entity=unmarked.pk, tier="growth")
    assert refused.value.code == "not_found"
    assert MarketEntity.objects.get(pk=unmarked.pk).tier is None


def test_the_api_marks_and_clears_the_mark_and_shows_the_estimate_apart(unmarked):
    api = APIClient()
    api.force_authenticate(user_with_role(Role.PROVINCE_REGULATOR))
    # when the province marks the entity through the API
    marked = api.post(f"/api/v1/entities/{unmarked.pk}/tier-mark/", {"tier": "survival"}, format="json")
    # then the answer carries the mark, its source and date, and the estimate
    assert marked.status_code == 200, marked.content
    body = marked.json()
    assert (body["tier"], body["tier_imported"], body["tier_estimate"], body["tier_marked_on"]) == (
        "survival",
        "survival",
        "growth",
        TODAY.isoformat(),
    )
    # clearing the mark needs a reason; with one it is cleared, source and date with it
    refused = api.post(f"/api/v1/entities/{unmarked.pk}/tier-mark/", {"tier": None}, format="json")
    assert refused.status_code == 400 and refused.json()["errors"]["note"] == ["撤销三型标记须填写原因"]
    cleared = api.post(
        f"/api/v1/entities/{unmarked.pk}/tier-mark/", {"tier": None, "note": "已注销, 移出名录库"}, format="json"
    )
    assert cleared.status_code == 200
    assert (cleared.json()["tier"], cleared.json()["tier_mark_source"], cleared.json()["tier_marked_on"]) == (
        None,
        "",
        None,
    )


def test_the_mark_is_not_an_ordinary_register_field(unmarked):
    # given the city regulator, who may mark
    user = user_with_role(Role.CITY_REGULATOR)
    # when it tries to set the mark through the general edit (API and service)
    api = APIClient()
    api.force_authenticate(user)
    response = api.patch(f"/api/v1/entities/{unmarked.pk}/", {"tier_imported": "growth"}, format="json")
    with pytest.raises(ApplicationError):
        entity_update(actor=user, entity=unmarked.pk, data={"tier_imported": "growth"})
    # then it is told where the mark is set, and nothing changes
    assert response.status_code == 400
    assert "标记三型" in response.json()["errors"]["tier_imported"][0]
    assert MarketEntity.objects.get(pk=unmarked.pk).tier is None


def test_new_financials_move_the_estimate_never_the_mark(unmarked):
    # given an entity marked 生存型 in the 名录库 whose new financials reach 发展型
    user = user_with_role(Role.CITY_REGULATOR)
    tier_mark_set(actor=user, entity=unmarked.pk, tier="survival")
    entity_update(
        actor=user,
        entity=unmarked.pk,
        data={
            "financial_year": TODAY.year - 1,
            "annual_revenue": 2_000_000,
            "social_insurance_headcount": 5,
            "tax_status": "general_taxpayer",
        },
    )
    # then the estimate follows the financials, the mark stays what the regulator marked
    entity = MarketEntity.objects.get(pk=unmarked.pk)
    assert (entity.tier_computed, entity.tier_imported, entity.tier) == ("development", "survival", "survival")


# --- the import: the provincial list carries the marks ------------------------------------------


def _import(actor, rows, name="名录.csv"):
    scope_prefix = actor.memberships.get().organisation.region.scope_prefix if actor else ""
    entity_import = EntityImport.objects.create(
        uploaded_by=actor, file_name=name, content=b"", region_prefix=scope_prefix
    )
    return RegisterImport(
        content=csv_bytes(rows), file_name=name, actor=actor, region_prefix=scope_prefix, entity_import=entity_import
    ).run()


def _row(**overrides):
    return good_row(
        1,
        **{
            "分型": "成长型",
            "名特优新": "优质",
            "名特优新有效期至": (TODAY + dt.timedelta(days=365)).isoformat(),
            **overrides,
        },
    )


def test_a_county_import_sets_neither_mark_but_the_provincial_list_does():
    """The mark comes "from an import of the provincial list": a county task force's file does
    not set the 三型 mark or 名特优新 (they keep what is known, and the import says so); the
    province's file sets both, with the import as the mark's source."""
    county = user_with_role(Role.TASK_FORCE_STAFF)
    summary = _import(county, [_row()], name="泽州县名录.csv")
    entity = MarketEntity.objects.get()
    assert summary["created"] == 1 and (entity.tier_imported, entity.tier, entity.honors_imported) == (None, None, "")
    assert not Honor.objects.exists() and entity.tier_computed is not None
    assert "「分型」未采用" in summary["message"] and "「名特优新」未采用" in summary["message"]
    assert "「分型」未采用" in EntityImport.objects.latest("id").message

    # a city regulator's file sets the mark (it may mark), not 名特优新
    city = user_with_role(Role.CITY_REGULATOR)
    summary = _import(city, [_row()], name="晋城市名录.csv")
    entity.refresh_from_db()
    assert (entity.tier, entity.tier_mark_source, entity.tier_marked_on) == (
        "growth",
        "名录库导入: 晋城市名录.csv",
        TODAY,
    )
    assert entity.honors_imported == "" and "「名特优新」未采用" in summary["message"]

    # the province's list sets 名特优新 too; an unchanged mark keeps its source and date
    province = user_with_role(Role.PROVINCE_REGULATOR)
    summary = _import(province, [_row()], name="全省名录.csv")
    entity.refresh_from_db()
    assert "message" not in summary and entity.honors_imported == "quality"
    assert Honor.objects.get(entity=entity).kind == "quality"
    assert entity.tier_mark_source == "名录库导入: 晋城市名录.csv"

    # and a later county file with another 分型 leaves the mark as it is
    _import(county, [_row(**{"分型": "发展型", "名特优新": "", "名特优新有效期至": ""})], name="泽州县名录2.csv")
    entity.refresh_from_db()
    assert (entity.tier, entity.honors_imported) == ("growth", "quality")
