"""The register keepers' form pages of an entity: 名特优新 with validity periods, yearly
financials, credit facts with source and date, credit repairs. Who may open them, the Chinese
error messages for bad input (never a 500), and the writes with their audit events."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from entities.factories import MarketEntityFactory
from entities.models import (
    CreditFlagRecord,
    CreditRepair,
    EntityChange,
    FinancialYear,
    Honor,
    HonorProposal,
    MarketEntity,
)
from portal.factories import OrganisationFactory, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
# the county task force's forms (名特优新: it proposes, the province grants)
PAGES = ("honors/propose", "financials", "credit", "credit-repairs")
# every register form of an entity, the province's and the city's included
ALL_PAGES = PAGES + ("honors", "tier-mark")


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def entity():
    return MarketEntityFactory(name="泽州县金辉小吃店", industry_id="6210", employees=3)


@pytest.fixture
def staff():
    return logged_in(user_with_role(Role.TASK_FORCE_STAFF))


@pytest.fixture
def province():
    return logged_in(user_with_role(Role.PROVINCE_REGULATOR))


# --- who may open the pages --------------------------------------------------------------


@pytest.mark.parametrize("form_page", PAGES)
def test_the_county_task_force_opens_every_form_page_of_its_entity(staff, entity, form_page):
    # when the task force of 泽州县 opens the page of an entity of 泽州县
    response = staff.get(f"/entities/{entity.pk}/{form_page}/")

    # then it is a Chinese form page about that entity
    body = response.content.decode()
    assert response.status_code == 200
    assert entity.name in body and "<form" in body and 'name="csrfmiddlewaretoken"' in body


@pytest.mark.parametrize("form_page", ALL_PAGES)
@pytest.mark.parametrize("role", [Role.TASK_FORCE_STAFF, Role.CITY_REGULATOR])
def test_another_regions_keepers_get_404_and_change_nothing(entity, form_page, role):
    # given a task force and a city regulator of 大同 (not 晋城/泽州)
    client = logged_in(user_with_role(role, region_code="140212" if role == Role.TASK_FORCE_STAFF else "140200"))

    # when they open or post the page of an entity of 泽州县
    got = client.get(f"/entities/{entity.pk}/{form_page}/")
    posted = client.post(
        f"/entities/{entity.pk}/{form_page}/",
        {
            "kind": "quality",
            "valid_until": "2030-01-01",
            "year": "2024",
            "annual_revenue": "1",
            "source": "x",
            "observed_on": "2024-01-01",
            "item": "x",
            "repaired_on": "2024-01-01",
            "repaired_by": "x",
        },
    )

    # then both are 404, and nothing was written
    assert got.status_code == 404 and posted.status_code == 404
    assert not Honor.objects.exists() and not FinancialYear.objects.exists() and not CreditRepair.objects.exists()
    assert not CreditFlagRecord.objects.exists() and not HonorProposal.objects.exists()


@pytest.mark.parametrize("form_page", ALL_PAGES)
@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.BANK_ADMIN, Role.CONVENER, Role.TASK_FORCE_BANK_REVIEWER])
def test_roles_that_only_read_the_register_cannot_open_the_forms(entity, form_page, role):
    client = logged_in(user_with_role(role))
    assert client.get(f"/entities/{entity.pk}/{form_page}/").status_code in (403, 404)
    assert client.post(f"/entities/{entity.pk}/{form_page}/", {}).status_code in (403, 404)


@pytest.mark.parametrize("form_page", ALL_PAGES)
def test_the_enterprise_cannot_change_the_register_data_of_its_own_entity(form_page):
    # given an enterprise user and its own entity
    organisation = OrganisationFactory(kind=OrganisationKind.ENTERPRISE)
    entity = MarketEntityFactory(organisation=organisation)
    client = logged_in(user_with_role(Role.ENTERPRISE_USER, organisation=organisation))

    # when it opens or posts a register page of its entity
    got = client.get(f"/entities/{entity.pk}/{form_page}/")
    posted = client.post(
        f"/entities/{entity.pk}/{form_page}/",
        {
            "kind": "quality",
            "valid_until": "2030-01-01",
            "year": "2024",
            "annual_revenue": "99999999",
            "dishonest_debtor": "false",
            "source": "自称",
            "observed_on": "2024-01-01",
            "item": "x",
            "repaired_on": "2024-01-01",
            "repaired_by": "x",
        },
    )

    # then it is refused (403, in Chinese) and nothing changed
    assert got.status_code == 403 and posted.status_code == 403
    assert "没有权限" in got.content.decode()
    assert not Honor.objects.exists() and not FinancialYear.objects.exists() and not CreditRepair.objects.exists()
    assert not HonorProposal.objects.exists()
    stored = MarketEntity.objects.get(pk=entity.pk)
    assert stored.annual_revenue == entity.annual_revenue and stored.tier_imported == entity.tier_imported


def test_the_entity_page_links_the_forms_only_for_the_register_keepers(entity):
    # given the task force, the province, a bank account manager of the county, and the entity
    staff_page = logged_in(user_with_role(Role.TASK_FORCE_STAFF)).get(f"/entities/{entity.pk}/").content.decode()
    province_page = logged_in(user_with_role(Role.PROVINCE_REGULATOR)).get(f"/entities/{entity.pk}/").content.decode()
    bank_page = logged_in(user_with_role(Role.ACCOUNT_MANAGER)).get(f"/entities/{entity.pk}/").content.decode()

    # then the task force sees its four forms (名特优新: the proposal), the bank none of them
    for form_page in PAGES:
        assert f'href="/entities/{entity.pk}/{form_page}/"' in staff_page
        assert f"/entities/{entity.pk}/{form_page}/" not in bank_page
    # and only the province grants 名特优新 and (with the cities) marks 三型
    for form_page in ("honors", "tier-mark"):
        assert f'href="/entities/{entity.pk}/{form_page}/"' not in staff_page
        assert f'href="/entities/{entity.pk}/{form_page}/"' in province_page
        assert f'href="/entities/{entity.pk}/{form_page}/"' not in bank_page


# --- 名特优新 -------------------------------------------------------------------------------


def test_the_province_grants_an_honour_with_its_validity_period_被省市场监管局认定为名特优新(province, entity):
    """001 附件 三(二): "被省市场监管局认定为'名特优新'的个体工商户, 且在有效期内"."""
    staff = province
    # when the provincial regulator grants 优质 from 2025-01-01 to 2027-12-31
    response = staff.post(
        f"/entities/{entity.pk}/honors/", {"kind": "quality", "valid_from": "2025-01-01", "valid_until": "2027-12-31"}
    )

    # then it is stored with its period, audited, listed on the entity page and found by the honour filter
    assert response.status_code == 302 and response["Location"] == f"/entities/{entity.pk}/#classification"
    honor = Honor.objects.get(entity=entity)
    assert (honor.kind, honor.valid_from, honor.valid_until, honor.source) == (
        "quality",
        dt.date(2025, 1, 1),
        dt.date(2027, 12, 31),
        "regulator",
    )
    event = AuditEvent.objects.get(action="entity.honor_grant", object_id=str(entity.pk))
    assert (
        event.after["label"] == "优质" and event.after["valid_until"] == "2027-12-31" and event.ip_address is not None
    )
    page = staff.get(f"/entities/{entity.pk}/").content.decode()
    assert "优质: 有效期 2025-01-01 起至 2027-12-31" in page and "已认定「优质」, 有效期至 2027-12-31" in page
    assert "名特优新认定 空 → 优质(2025-01-01 至 2027-12-31)" in page  # in the change history too
    if TODAY <= dt.date(2027, 12, 31):
        assert entity.name in staff.get("/entities/?honor=quality").content.decode()


def test_the_province_revokes_an_honour_with_a_reason_and_the_history_keeps_it(province, entity):
    staff = province
    # given a 优质 title granted by mistake
    staff.post(
        f"/entities/{entity.pk}/honors/", {"kind": "quality", "valid_from": "2025-01-01", "valid_until": "2027-12-31"}
    )
    honor = Honor.objects.get(entity=entity)
    assert 'data-testid="honor-revoke-form"' in staff.get(f"/entities/{entity.pk}/honors/").content.decode()

    # when it is revoked without a reason, then it stays, with a Chinese message next to the reason
    refused = staff.post(f"/entities/{entity.pk}/honors/revoke/", {"honor": honor.pk, "reason": " "})
    assert refused.status_code == 400 and "请填写撤销原因" in refused.content.decode()
    assert Honor.objects.filter(pk=honor.pk).exists()

    # when it is revoked with a reason
    response = staff.post(f"/entities/{entity.pk}/honors/revoke/", {"honor": honor.pk, "reason": "认定有误"})

    # then it is gone, audited with what it was, and the change history says why
    assert response.status_code == 302 and response["Location"] == f"/entities/{entity.pk}/honors/"
    assert not Honor.objects.filter(pk=honor.pk).exists()
    event = AuditEvent.objects.get(action="entity.honor_revoke", object_id=str(entity.pk))
    assert event.before["label"] == "优质" and event.after["reason"] == "认定有误"
    page = staff.get(f"/entities/{entity.pk}/").content.decode()
    assert "优质(2025-01-01 至 2027-12-31) → 撤销: 认定有误" in page

    # and a second keeper revoking the same title from a stale page is told so, nothing else changes
    again = staff.post(f"/entities/{entity.pk}/honors/revoke/", {"honor": honor.pk, "reason": "认定有误"})
    assert again.status_code == 404 and "该称号不存在或已被撤销" in again.content.decode()
    assert AuditEvent.objects.filter(action="entity.honor_revoke").count() == 1


@pytest.mark.parametrize("role", [Role.ENTERPRISE_USER, Role.BANK_ADMIN])
def test_only_register_keepers_revoke_an_honour(entity, role):
    # given a valid title
    honor = Honor.objects.create(entity=entity, kind="quality", valid_until=dt.date(2030, 1, 1), source="regulator")
    # when the entity's own enterprise user or a bank tries to revoke it
    user = user_with_role(role)
    if role == Role.ENTERPRISE_USER:
        entity.organisation = user.memberships.first().organisation
        entity.save(update_fields=["organisation"])
    response = logged_in(user).post(f"/entities/{entity.pk}/honors/revoke/", {"honor": honor.pk, "reason": "x"})
    # then it is refused and the title stays
    assert response.status_code in (403, 404)
    assert Honor.objects.filter(pk=honor.pk).exists()


def test_the_list_marks_entities_whose_honour_is_valid_today(province):
    staff = province
    # given one entity with a valid honour (granted on the page, not in the register) and one whose honour expired
    valid = MarketEntityFactory(name="有效称号店")
    expired = MarketEntityFactory(name="过期称号店", honors_imported="quality")
    Honor.objects.create(entity=expired, kind="quality", valid_until=TODAY - dt.timedelta(days=1))
    staff.post(
        f"/entities/{valid.pk}/honors/",
        {"kind": "distinctive", "valid_until": (TODAY + dt.timedelta(days=30)).isoformat()},
    )

    # when the list is shown
    body = staff.get("/entities/").content.decode()

    # then only the entity with the valid honour carries the 名特优新 badge
    rows = {name: body.split(name, 1)[1].split("</tr>", 1)[0] for name in ("有效称号店", "过期称号店")}
    assert 'data-testid="honour-badge"' in rows["有效称号店"] and 'data-testid="honour-badge"' not in rows["过期称号店"]


@pytest.mark.parametrize("role", [Role.CITY_REGULATOR, Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD])
def test_a_city_or_county_cannot_grant_or_revoke_名特优新_only_the_province(entity, role):
    """001 附件 三(二) "被省市场监管局认定为'名特优新'": a city regulator or a county task force
    may not grant or revoke the title (it proposes), and nothing is written."""
    honor = Honor.objects.create(entity=entity, kind="quality", valid_until=dt.date(2030, 1, 1), source="import")
    client = logged_in(user_with_role(role))
    granted = client.post(f"/entities/{entity.pk}/honors/", {"kind": "renowned", "valid_until": "2028-06-30"})
    revoked = client.post(f"/entities/{entity.pk}/honors/revoke/", {"honor": honor.pk, "reason": "不再符合"})
    assert granted.status_code == 403 and revoked.status_code == 403
    assert "没有权限" in granted.content.decode()
    assert list(Honor.objects.values_list("kind", flat=True)) == ["quality"]
    assert not AuditEvent.objects.filter(action__in=["entity.honor_grant", "entity.honor_revoke"]).exists()


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"kind": "", "valid_until": "2027-12-31"}, "kind", "该字段是必填项"),
        ({"kind": "gold", "valid_until": "2027-12-31"}, "kind", "选择一个有效的选项"),
        ({"kind": "quality", "valid_until": ""}, "valid_until", "该字段是必填项"),
        ({"kind": "quality", "valid_until": "2027-13-45"}, "valid_until", "应为日期, 格式 YYYY-MM-DD"),
        (
            {"kind": "quality", "valid_from": "2026-01-01", "valid_until": "2025-12-31"},
            "valid_until",
            "有效期至不能早于有效期自",
        ),
    ],
)
def test_a_bad_honour_is_refused_with_a_chinese_message_next_to_its_field(province, entity, data, field, message):
    # when the province posts a bad honour
    response = province.post(f"/entities/{entity.pk}/honors/", data)

    # then the form comes back (400) with the message under the field, and nothing is stored
    body = response.content.decode()
    assert response.status_code == 400
    assert f'data-testid="error-{field}">{message}' in body
    assert not Honor.objects.exists()


# --- 年度财务 -------------------------------------------------------------------------------


def financial(year, **values):
    data = {
        "year": str(year),
        "annual_revenue": "",
        "total_assets": "",
        "net_assets": "",
        "employees": "",
        "social_insurance_headcount": "",
        "tax_status": "",
        "has_tax_record": "",
    }
    data.update({k: str(v) for k, v in values.items()})
    return data


def test_the_latest_year_updates_the_entity_and_reclassifies_it(staff, entity):
    # given a survival-tier entity without financial years
    assert entity.tier == "survival"

    # when the task force enters a year with revenue 85 万, a tax record and 2 insured people
    year = TODAY.year - 1
    response = staff.post(
        f"/entities/{entity.pk}/financials/",
        financial(
            year,
            annual_revenue=850_000,
            total_assets=400_000,
            net_assets=250_000,
            employees=3,
            social_insurance_headcount=2,
            tax_status="small_scale_taxpayer",
            has_tax_record="true",
        ),
    )

    # then the year is stored, copied onto the entity, the tier recomputed, the change in the history and audited
    assert response.status_code == 302 and response["Location"] == f"/entities/{entity.pk}/#financials"
    record = FinancialYear.objects.get(entity=entity, year=year)
    assert (record.annual_revenue, record.net_assets, record.has_tax_record, record.source) == (
        850_000,
        250_000,
        True,
        "regulator",
    )
    entity.refresh_from_db()
    # the platform's estimate follows the financials; the 名录库 mark (生存型) stays the mark
    assert (entity.financial_year, entity.annual_revenue, entity.tier_computed, entity.tier) == (
        year,
        850_000,
        "growth",
        "survival",
    )
    change = EntityChange.objects.filter(entity=entity).latest("changed_at")
    assert change.changes["annual_revenue"] == [300_000, 850_000]
    history = staff.get(f"/entities/{entity.pk}/").content.decode().split('data-testid="change-history"', 1)[1]
    assert (
        "三型预估(平台测算) 生存型 → 成长型" in history
        and "有纳税记录 否 → 是" in history
        and "纳税人类型 无 → 小规模纳税人" in history
    )
    event = AuditEvent.objects.get(action="entity.financial_year", object_id=str(entity.pk))
    assert event.before is None and event.after["year"] == year and event.after["annual_revenue"] == 850_000
    page = staff.get(f"/entities/{entity.pk}/").content.decode()
    assert "成长型: 有纳税记录, 年营业收入 85 万元, 参保 2 人" in page


def test_an_older_year_is_kept_and_audited_without_changing_the_entity(staff, entity):
    # given the entity's latest year on record
    FinancialYear.objects.create(entity=entity, year=TODAY.year - 1, annual_revenue=300_000)
    MarketEntity.objects.filter(pk=entity.pk).update(financial_year=TODAY.year - 1)

    # when an older year is entered
    response = staff.post(
        f"/entities/{entity.pk}/financials/", financial(TODAY.year - 3, annual_revenue=120_000, employees=1)
    )

    # then it is stored and audited, and the entity keeps the latest year's figures
    assert response.status_code == 302
    assert FinancialYear.objects.get(entity=entity, year=TODAY.year - 3).annual_revenue == 120_000
    entity.refresh_from_db()
    assert entity.financial_year == TODAY.year - 1 and entity.annual_revenue == 300_000
    assert AuditEvent.objects.filter(action="entity.financial_year", object_id=str(entity.pk)).count() == 1


def test_a_year_is_corrected_from_its_prefilled_form(staff, entity):
    # given a year with revenue and an unknown tax record
    FinancialYear.objects.create(entity=entity, year=2023, annual_revenue=410_000, employees=4, tax_status="none")

    # when the task force opens it (?year=2023), empties the employees and saves
    form = staff.get(f"/entities/{entity.pk}/financials/?year=2023").content.decode()
    response = staff.post(
        f"/entities/{entity.pk}/financials/", financial(2023, annual_revenue=410_000, tax_status="none")
    )

    # then the form was prefilled; one row per year remains, the emptied box is now unknown (not zero)
    assert 'value="410000"' in form and "正在更正 2023 年度的数据" in form
    assert response.status_code == 302
    record = FinancialYear.objects.get(entity=entity, year=2023)
    assert record.employees is None and record.annual_revenue == 410_000
    event = AuditEvent.objects.get(action="entity.financial_year")
    assert event.before["employees"] == 4 and event.after["employees"] is None


def test_an_older_year_through_the_api_is_audited_too(entity):
    # given the entity's latest year on record
    FinancialYear.objects.create(entity=entity, year=TODAY.year - 1, annual_revenue=300_000)
    MarketEntity.objects.filter(pk=entity.pk).update(financial_year=TODAY.year - 1)
    client = logged_in(user_with_role(Role.TASK_FORCE_STAFF))

    # when an older year is sent to the API (the entity itself does not change)
    response = client.patch(
        f"/api/v1/entities/{entity.pk}/",
        {"financial_year": TODAY.year - 4, "annual_revenue": 90_000},
        content_type="application/json",
    )

    # then the year is kept and the write is in the audit log
    assert response.status_code == 200
    assert FinancialYear.objects.get(entity=entity, year=TODAY.year - 4).annual_revenue == 90_000
    assert (
        AuditEvent.objects.get(action="entity.financial_year", object_id=str(entity.pk)).after["annual_revenue"]
        == 90_000
    )


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (financial("", annual_revenue=1), "year", "该字段是必填项"),
        (financial(TODAY.year + 1, annual_revenue=1), "year", f"年度不能晚于 {TODAY.year} 年"),
        (financial(1980, annual_revenue=1), "year", "确保该值大于或等于1990"),
        (financial(2024, annual_revenue="八十五万"), "annual_revenue", "输入整数"),
        (financial(2024, annual_revenue=-5), "annual_revenue", "确保该值大于或等于0"),
        (financial(2024, total_assets=10**20), "total_assets", "确保该值小于或等于"),
        (financial(2024, tax_status="vip"), "tax_status", "选择一个有效的选项"),
        (financial(2024), "annual_revenue", "请至少填写一项财务数据"),
    ],
)
def test_bad_financials_are_refused_with_a_chinese_message(staff, entity, data, field, message):
    response = staff.post(f"/entities/{entity.pk}/financials/", data)
    body = response.content.decode()
    assert response.status_code == 400
    assert f'data-testid="error-{field}">{message}' in body
    assert not FinancialYear.objects.exists()


# --- 信用信息 -------------------------------------------------------------------------------


def credit(**values):
    data = {
        "source": "人民银行征信报告",
        "observed_on": TODAY.isoformat(),
        "dishonest_debtor": "false",
        "joint_punishment": "",
        "consumption_restricted": "",
        "major_bad_record": "",
        "pending_litigation": "",
        "overdue_consecutive_24m": "0",
        "overdue_total_24m": "0",
        "overdue_12m": "",
    }
    data.update({k: str(v) for k, v in values.items()})
    return data


def test_credit_facts_are_recorded_with_their_source_and_date(staff, entity):
    # when the task force records overdue instalments seen in the credit report of 2025-03-01
    response = staff.post(
        f"/entities/{entity.pk}/credit/",
        credit(overdue_total_24m=3, overdue_consecutive_24m=2, pending_litigation="true", observed_on="2025-03-01"),
    )

    # then the flags changed, every known flag has a record with that source and date, and it is audited
    assert response.status_code == 302 and response["Location"] == f"/entities/{entity.pk}/#credit"
    entity.refresh_from_db()
    assert (entity.overdue_total_24m, entity.overdue_consecutive_24m, entity.pending_litigation) == (3, 2, True)
    records = {r.flag: r for r in CreditFlagRecord.objects.filter(entity=entity)}
    assert set(records) == {"dishonest_debtor", "overdue_consecutive_24m", "overdue_total_24m", "pending_litigation"}
    assert {(r.source, r.observed_on) for r in records.values()} == {("人民银行征信报告", dt.date(2025, 3, 1))}
    event = AuditEvent.objects.get(action="entity.credit_flags", object_id=str(entity.pk))
    assert event.after["overdue_total_24m"] == 3 and event.after["source"] == "人民银行征信报告"
    page = staff.get(f"/entities/{entity.pk}/").content.decode()
    assert "2025-03-01 未决诉讼: 是 (人民银行征信报告)" in page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (credit(source=""), "source", "该字段是必填项"),
        (credit(observed_on=(TODAY + dt.timedelta(days=1)).isoformat()), "observed_on", "日期不能晚于今天"),
        (credit(observed_on="昨天"), "observed_on", "应为日期, 格式 YYYY-MM-DD"),
        (
            credit(overdue_consecutive_24m=4, overdue_total_24m=2),
            "overdue_consecutive_24m",
            "连续逾期期数不能大于累计逾期期数",
        ),
        (credit(overdue_12m=-1), "overdue_12m", "确保该值大于或等于0"),
        (credit(dishonest_debtor="maybe"), "dishonest_debtor", "选择一个有效的选项"),
    ],
)
def test_bad_credit_facts_are_refused_with_a_chinese_message(staff, entity, data, field, message):
    response = staff.post(f"/entities/{entity.pk}/credit/", data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}">{message}' in response.content.decode()
    assert not CreditFlagRecord.objects.exists()


# --- 信用修复 -------------------------------------------------------------------------------


def test_a_credit_repair_entered_on_its_page_clears_the_flag_and_banks_see_it(staff):
    # given a dishonest debtor
    entity = MarketEntityFactory(dishonest_debtor=True)

    # when the task force records the repair on the page
    response = staff.post(
        f"/entities/{entity.pk}/credit-repairs/",
        {
            "item": "移出失信被执行人名单",
            "flag": "dishonest_debtor",
            "repaired_on": TODAY.isoformat(),
            "repaired_by": "泽州县人民法院",
            "note": "",
        },
    )

    # then the flag is cleared, the repair is audited, and a bank of the county sees what, when and by whom
    assert response.status_code == 302
    entity.refresh_from_db()
    assert entity.dishonest_debtor is False
    assert AuditEvent.objects.filter(action="entity.credit_repair", object_id=str(entity.pk)).exists()
    bank_page = logged_in(user_with_role(Role.ACCOUNT_MANAGER)).get(f"/entities/{entity.pk}/").content.decode()
    assert f"{TODAY:%Y-%m-%d} 移出失信被执行人名单(失信被执行人) — 泽州县人民法院" in bank_page


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"item": "", "repaired_on": "2025-01-01", "repaired_by": "法院"}, "item", "该字段是必填项"),
        (
            {"item": "修复", "repaired_on": (TODAY + dt.timedelta(days=3)).isoformat(), "repaired_by": "法院"},
            "repaired_on",
            "日期不能晚于今天",
        ),
        (
            {"item": "修复", "repaired_on": "2025-02-30", "repaired_by": "法院"},
            "repaired_on",
            "应为日期, 格式 YYYY-MM-DD",
        ),
        (
            {"item": "修复", "repaired_on": "2025-01-01", "repaired_by": "", "flag": "nonsense"},
            "flag",
            "选择一个有效的选项",
        ),
    ],
)
def test_a_bad_credit_repair_is_shown_again_with_its_errors(staff, entity, data, field, message):
    response = staff.post(f"/entities/{entity.pk}/credit-repairs/", data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}">{message}' in response.content.decode()
    assert not CreditRepair.objects.exists()


# --- bad input elsewhere on the entity pages ------------------------------------------------


def test_an_out_of_range_number_on_the_edit_page_is_an_error_not_a_500(staff, entity):
    response = staff.post(
        f"/entities/{entity.pk}/edit/",
        {
            "name": entity.name,
            "entity_type": entity.entity_type,
            "register_status": "active",
            "region": "140525",
            "registered_capital": str(10**20),
            "data_shared_with_banks": "on",
        },
    )
    assert response.status_code == 400 and "确保该值小于或等于" in response.content.decode()


def test_the_edit_page_leaves_credit_facts_to_their_own_page(staff, entity):
    form = staff.get(f"/entities/{entity.pk}/edit/").content.decode()
    assert 'name="name"' in form and 'name="dishonest_debtor"' not in form


def test_bad_search_filters_are_named_in_chinese(staff):
    body = staff.get("/entities/?revenue_min=很多&tier=gold").content.decode()
    assert "年营业收入下限: 应为数字" in body and "分型: 不是允许的值" in body
