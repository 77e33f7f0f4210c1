"""Who sees which stored results: a bank branch its bank's products in its service area,
eligible and shared only; an enterprise its own; a task force its county; runs the
platform administrators only. Pages answer 403 to the other roles."""

from io import BytesIO
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils.html import escape
from openpyxl import load_workbook

from batch_matching import selectors
from batch_matching.models import MatchResult
from batch_matching.templatetags.near_miss_format import near_miss_products
from portal.factories import user_with_role
from portal.models import Role
from portal.templatetags.portal_format import yuan_text
from products.models import LoanProduct
from products.presentation import fit_key

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 200


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_branch_sees_its_banks_eligible_shared_results_in_its_service_area_only(matched):
    world, run = matched
    boc = set(LoanProduct.objects.filter(bank__code="boc").values_list("id", flat=True))
    for user, prefix in ((world.users["boc_admin"], "1405"), (world.users["boc_manager"], "140525")):
        rows = list(selectors.results(user=user).values("product_id", "county", "verdict", "shared", "entity_id"))
        # then: only boc products, only its area, only eligible and shared
        assert rows
        assert {r["product_id"] for r in rows} <= boc
        assert all(str(r["county"]).startswith(prefix) and r["verdict"] == 2 and r["shared"] for r in rows)
        assert world.special["hidden"].pk not in {r["entity_id"] for r in rows}
        assert world.special["datong"].pk not in {r["entity_id"] for r in rows}
    # the city branch sees more than the county branch
    assert (
        selectors.results(user=world.users["boc_admin"]).count()
        > selectors.results(user=world.users["boc_manager"]).count()
    )


def test_an_enterprise_sees_its_own_results_and_a_task_force_its_county(matched):
    world, run = matched
    mine = selectors.results(user=world.special["enterprise_user"])
    assert set(mine.values_list("entity_id", flat=True)) == {world.special["model"].pk}
    county = selectors.results(user=world.users["staff"])
    assert county.exists() and set(county.values_list("county", flat=True)) == {140525}
    assert not selectors.results(user=user_with_role(Role.BANK_ADMIN)).exists()  # a bank organisation without a branch


def test_potential_customers_page_counts_lists_by_offer_and_exports(matched):
    world, run = matched
    client = client_for(world.users["boc_admin"])
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    # when the branch opens 潜在客户 for a product
    page = client.get(f"/matching-batch/potential-customers/?product={product.pk}")
    assert page.status_code == 200
    html = page.content.decode()
    expected = MatchResult.objects.filter(
        generation=run.generation, product_id=product.pk, verdict=2, shared=True, county__gte=140500, county__lt=140600
    ).count()
    # then the counts come from the counts table, the page lists the first 50 by offer
    assert f'data-testid="count-{product.code}">{expected}<' in html
    assert html.count('data-testid="lead-row"') == min(50, expected)
    assert world.special["datong"].name not in html
    # filtered by county
    city = client.get(f"/matching-batch/potential-customers/?product={product.pk}&county=140502").content.decode()
    in_city = MatchResult.objects.filter(
        generation=run.generation, product_id=product.pk, verdict=2, shared=True, county=140502
    ).count()
    assert city.count('data-testid="lead-row"') == min(50, in_city) and world.special["model"].name not in city
    # and the xlsx holds every row: the eligible shared entities of its area
    sheet = load_workbook(
        BytesIO(client.get(f"/matching-batch/potential-customers/export.xlsx?product={product.pk}").content)
    ).active
    rows = list(sheet.iter_rows(values_only=True))
    names = {row[1] for row in rows[1:]}
    assert rows[0][1] == "名称" and len(rows) - 1 == expected
    assert world.special["model"].name in names and world.special["jincheng"].name in names
    assert world.special["hidden"].name not in names and world.special["datong"].name not in names


def test_the_list_is_sorted_by_offer_and_pages_follow(matched):
    world, run = matched
    scope = selectors.lead_scope(user=world.users["boc_admin"])
    product = next(p for p in scope.products if p.code == "huishangdai")
    seen, after = [], None
    while True:
        page = selectors.potential_customers(
            user=world.users["boc_admin"], scope=scope, product_id=product.pk, after=after, limit=7
        )
        seen += [(row["max_amount"], row["entity"].pk) for row in page.rows]
        if not page.next_after:
            break
        after = selectors.parse_cursor(page.next_after)
    assert seen == sorted(seen, key=lambda r: (r[0] is None, -(r[0] or 0), r[1]))
    assert (
        len(seen)
        == len(set(seen))
        == selectors.results(user=world.users["boc_admin"]).filter(product_id=product.pk).count()
    )


@pytest.mark.parametrize(
    "url,allowed",
    [
        ("/matching-batch/runs/", {Role.PLATFORM_ADMIN}),
        ("/matching-batch/potential-customers/", {Role.BANK_ADMIN, Role.ACCOUNT_MANAGER, Role.PLATFORM_ADMIN}),
        (
            "/matching-batch/near-misses/",
            {
                Role.TASK_FORCE_STAFF,
                Role.TASK_FORCE_BANK_REVIEWER,
                Role.TASK_FORCE_LEAD,
                Role.CONVENER,
                Role.CITY_REGULATOR,
                Role.PROVINCE_REGULATOR,
                Role.PLATFORM_ADMIN,
            },
        ),
        ("/matching-batch/mine/", {Role.ENTERPRISE_USER, Role.PLATFORM_ADMIN}),
    ],
)
def test_pages_refuse_other_roles(url, allowed):
    for role in Role:
        response = client_for(user_with_role(role)).get(url)
        assert response.status_code == (200 if role in allowed else 403), (url, role)


def test_the_near_miss_page_says_what_is_missing(matched):
    world, run = matched
    html = client_for(world.users["staff"]).get("/matching-batch/near-misses/?county=140525").content.decode()
    assert world.special["young"].name in html and "还差" in html
    assert world.special["abnormal"].name in html and "可申请信用修复" in html
    assert world.special["datong"].name not in html


def test_the_near_miss_page_lists_each_products_bank_and_cures_under_its_entity(matched):
    # given the task force's near misses, as the selector gives them
    world, run = matched
    staff = world.users["staff"]
    rows, _ = selectors.near_misses(user=staff, county="140525", limit=50)
    # when the page shows them
    html = client_for(staff).get("/matching-batch/near-misses/?county=140525").content.decode()
    # then each entity's products are named in its summary and listed with their bank and cures
    for row in rows:
        names = [item["result"].product.name for item in row["products"]]
        summary = f"{len(names)} 个产品: {'、'.join(names[:3])}{' 等' if len(names) > 3 else ''}</summary>"
        assert escape(summary).replace("&lt;/summary&gt;", "</summary>") in html
        for item in row["products"]:
            product = item["result"].product
            bank = f'<span class="text-muted">{escape(product.bank.name)}</span>'
            cures = escape(yuan_text("; ".join(item["cures"])))
            assert f"<li><strong>{escape(product.name)}</strong> {bank}: {cures}</li>" in html


def test_a_cures_text_reads_as_written_escaped_once_with_its_amounts_in_wan():
    # given an entry's products whose cures quote the register and name an amount in 元
    product = SimpleNamespace(name="惠商贷", bank=SimpleNamespace(name="中国银行"))
    cures = ['在"全省个体工商户名录库"中被标记为<三型>', "产品最高额度 100000 元"]
    products = [{"result": SimpleNamespace(product=product), "cures": cures}] * 4
    # when the page writes them
    html = near_miss_products(products)
    # then the summary names three of four, and the text is escaped once (no "&amp;quot;")
    assert '<summary data-testid="near-miss-products">4 个产品: 惠商贷、惠商贷、惠商贷 等</summary>' in html
    assert "在&quot;全省个体工商户名录库&quot;中被标记为&lt;三型&gt;; 产品最高额度 10 万元</li>" in html
    assert "&amp;" not in html


def test_near_misses_are_one_entry_per_entity_with_every_product_it_narrowly_misses(matched):
    # given the stored near misses of the task force's county
    world, run = matched
    staff = world.users["staff"]
    stored = {}
    for entity_id, product_id in MatchResult.objects.filter(
        generation=run.generation, near_miss=True, county=140525
    ).values_list("entity_id", "product_id"):
        stored.setdefault(entity_id, set()).add(product_id)
    assert len(stored) > 3

    # when the task force pages through them three entities at a time
    seen, after, pages = [], None, 0
    while True:
        rows, after = selectors.near_misses(user=staff, county="140525", after=after, limit=3)
        seen.extend(rows)
        pages += 1
        if after is None:
            break

    # then every entity comes once, with each product it narrowly misses and what to fix
    assert pages >= 2
    assert [r["entity"].pk for r in seen] == sorted(stored)
    for row in seen:
        assert {item["result"].product.pk for item in row["products"]} == stored[row["entity"].pk]
        assert row["fixes"] and all(item["cures"] for item in row["products"])
    # and the page offers the task force's counties, not free text
    html = client_for(staff).get("/matching-batch/near-misses/").content.decode()
    assert 'name="county"' in html and ">泽州县<" in html


def test_near_miss_reasons_are_evaluated_once_per_version_and_facts_and_again_when_the_entity_changes(
    matched, monkeypatch
):
    """The live reasons of a (version, facts) pair are evaluated once per process: the regulators
    of a county open the same near misses again and again. An entity edited has other facts, so
    its products are evaluated again: a cure never outlives the fact it names."""
    from batch_matching import selectors as batch_selectors
    from entities.models import MarketEntity, RegisterStatus

    world, run = matched
    staff, abnormal = world.users["staff"], world.special["abnormal"]
    evaluated = []
    real = batch_selectors.evaluate_product

    def counting(definition, facts, **kwargs):
        evaluated.append(facts["register_status"])
        return real(definition, facts, **kwargs)

    monkeypatch.setattr(batch_selectors, "evaluate_product", counting)
    monkeypatch.setattr(batch_selectors, "_LIVE_REASONS", {})

    def cures_of_abnormal() -> list[str]:
        rows, _ = selectors.near_misses(user=staff, county="140525", limit=500)
        (row,) = [r for r in rows if r["entity"].pk == abnormal.pk]
        return row["fixes"]

    # given the near misses read once (each product of each entity evaluated)
    first = cures_of_abnormal()
    assert any("可申请信用修复" in cure for cure in first) and evaluated
    # when they are read again: the same cures, nothing evaluated again
    evaluated.clear()
    assert cures_of_abnormal() == first and evaluated == []
    # when the entity's status is repaired (信用修复): its products are evaluated on its new facts
    MarketEntity.objects.filter(pk=abnormal.pk).update(register_status=RegisterStatus.ACTIVE)
    after = cures_of_abnormal()
    assert evaluated and set(evaluated) == {RegisterStatus.ACTIVE}
    assert not any("可申请信用修复" in cure for cure in after)


def test_an_entity_read_with_its_related_rows_is_not_read_again_for_the_reasons(matched):
    """The enterprise's home reads its entity with ``related_rows()`` (and lists its stored
    matches): the products' live reasons use those rows, the same reasons as from an entity read
    without them (then read again)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from entities.models import MarketEntity
    from products.eligibility import related_rows

    world, run = matched
    user, model = world.special["enterprise_user"], world.special["model"]
    bare = selectors.entity_matches(user=user, entity=MarketEntity.objects.get(pk=model.pk), include_incomplete=False)
    entity = MarketEntity.objects.prefetch_related(*related_rows()).get(pk=model.pk)
    with CaptureQueriesContext(connection) as queries:
        carried = selectors.entity_matches(user=user, entity=entity, include_incomplete=False)
    assert carried and [(m.product.pk, m.reasons) for m in carried] == [(m.product.pk, m.reasons) for m in bare]
    assert not [q for q in queries.captured_queries if 'FROM "entities_marketentity"' in q["sql"].split(" WHERE ")[0]]


def test_the_enterprise_sees_its_products_best_fit_first_with_reasons(matched):
    world, run = matched
    matches = selectors.entity_matches(user=world.special["enterprise_user"], entity=world.special["model"])
    eligible = [m for m in matches if m.verdict == 2]
    # the best fit first: offers computed from its own data, then the amount
    keys = [fit_key("eligible", m.offer_basis, m.max_amount) for m in eligible]
    assert eligible and keys == sorted(keys)
    assert all(m.reasons for m in matches)
    # the reasons are those of the live preview of the same entity and version
    from products.eligibility import evaluate_entity

    assert all(m.reasons == evaluate_entity(world.special["model"], m.version).result["reasons"] for m in matches)
    html = client_for(world.special["enterprise_user"]).get("/matching-batch/mine/").content.decode()
    assert eligible[0].product.name in html and "为什么符合" in html


def test_a_snack_shop_sees_offers_from_its_own_data_before_a_products_bare_maximum(matched):
    """Offers: "预授信额度原则上不超 20 万元, 具体根据单个客户资信和经营情况进行预授信, 最终以银行审批结果为准"
    (001 附件1): a product whose only cap is its own maximum (兴旺贷 "最高授信1000万元", 000) is not
    an offer to this snack shop: it reads 产品最高额度 1,000 万元（以银行审批为准） and comes after
    the offers computed from the shop's own tier and revenue."""
    # given the demo snack shop (growth tier, revenue 90 万) after a full run
    world, run = matched
    user, shop = world.special["enterprise_user"], world.special["model"]
    # when its products are listed
    matches = [m for m in selectors.entity_matches(user=user, entity=shop) if m.verdict == 2]
    by_code = {m.product.code: m for m in matches}
    # then the 1,000 万 of 兴旺贷 is the product's maximum, not an offer, and it is not first
    xingwang = by_code["xingwangdai"]
    assert (xingwang.max_amount, xingwang.offer_basis) == (10_000_000, "product_max")
    assert xingwang.offer_text == "产品最高额度 1,000 万元（以银行审批为准）"
    assert matches[0].offer_basis == "entity_data" and matches[0].max_amount < 10_000_000
    assert by_code["huishangdai"].offer_text == "最高可贷 18 万元"  # 20% of 90 万 营业收入
    assert matches.index(by_code["huishangdai"]) < matches.index(xingwang)
    # and the pages say so: 匹配产品 lists them all, the home page the first five
    html = client_for(user).get("/matching-batch/mine/").content.decode()
    assert "产品最高额度 1,000 万元（以银行审批为准）" in html and "1000</strong> 万元" not in html
    assert html.index("惠商贷") < html.index("兴旺贷")
    home = client_for(user).get("/").content.decode()
    assert matches[0].product.name in home and "最高 1000 万元" not in home
    if "兴旺贷" in home:
        assert home.index(matches[0].product.name) < home.index("兴旺贷")
        assert "产品最高额度 1,000 万元（以银行审批为准）" in home


def test_home_pages_show_the_stored_results_to_each_role(matched):
    # given a full run
    world, run = matched
    # when the enterprise opens its home page
    html = client_for(world.special["enterprise_user"]).get("/").content.decode()
    best = selectors.entity_matches(
        user=world.special["enterprise_user"], entity=world.special["model"], include_incomplete=False, limit=5
    )
    # then it sees its best offers first, with why
    assert best and 'data-testid="home-matches"' in html and "为什么符合" in html
    positions = [html.index(m.product.name) for m in best]
    assert positions == sorted(positions)
    # the task force sees near misses worth a visit
    html = client_for(world.users["staff"]).get("/").content.decode()
    first, _ = selectors.near_misses(user=world.users["staff"], limit=5)
    assert 'data-testid="home-near-misses"' in html
    assert first and all(row["entity"].name in html for row in first)
    # and the branch its potential customers per product, as the counts say
    html = client_for(world.users["boc_admin"]).get("/").content.decode()
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    scope = selectors.lead_scope(user=world.users["boc_admin"])
    expected = selectors.potential_counts(user=world.users["boc_admin"], scope=scope)["per_product"].get(product.pk, 0)
    assert 'data-testid="home-potential"' in html and f"{product.name}</a> · {expected} 户" in html


def test_reviewers_see_the_verdicts_and_the_stored_results_on_a_declaration(matched):
    # given the model entity declares to 中国银行 after a full run
    from matching import services as workflow
    from matching import verdicts
    from matching.models import BASIC_CRITERIA

    world, run = matched
    criteria = {key: {"met": True, "evidence": "走访核实"} for key in BASIC_CRITERIA}
    declaration = workflow.declaration_create(
        actor=world.special["enterprise_user"],
        entity_id=world.special["model"].pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=criteria,
        consent=True,
        submit=True,
    )
    stored = verdicts.declaration_verdicts(user=world.users["staff"], declaration=declaration)
    assert stored["rows"] and stored["run"].pk == run.pk
    assert any(row.stored is not None for row in stored["rows"]) and all(row.note for row in stored["rows"])

    # when the task force opens it
    html = client_for(world.users["staff"]).get(f"/matching/declarations/{declaration.pk}/").content.decode()

    # then each of the bank's products shows one verdict (for the declared need, with its trace)
    # and, beside it, how the stored result of the run relates to it
    assert 'data-testid="declaration-verdicts"' in html and f"全量匹配 #{run.pk}" in html
    for row in stored["rows"]:
        assert f'data-testid="verdict-{row.product.code}"' in html
        assert f'data-testid="stored-note-{row.product.code}"' in html
    # and the enterprise itself does not get the reviewers' table
    own = client_for(world.special["enterprise_user"]).get(f"/matching/declarations/{declaration.pk}/").content.decode()
    assert 'data-testid="declaration-verdicts"' not in own


def test_an_administrator_starts_a_run_and_watches_it(matched):
    world, run = matched
    client = client_for(user_with_role(Role.PLATFORM_ADMIN))
    page = client.get("/matching-batch/runs/").content.decode()
    assert f"#{run.pk}" in page and "符合 / 信息不全 / 差一点" in page
    detail = client.get(f"/matching-batch/runs/detail/?run={run.pk}").content.decode()
    assert "各产品结果" in detail and "已完成" in detail
    progress = client.get(f"/matching-batch/runs/progress/?run={run.pk}").json()
    assert progress["finished"] and "data-run-poll" not in detail  # finished: polling stops
    response = client.post("/matching-batch/runs/")
    assert response.status_code == 302
    started = client.get(response["Location"]).content.decode()
    assert "data-run-poll=" in started and "匹配中" in started
