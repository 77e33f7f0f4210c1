"""The 中国银行 惠商贷 programme in stored results and on the pages that read them (seeds/
001_f5b176863b765510.txt, 晋市监发〔2024〕80号 附件): 益农快贷's cap by kind on 潜在客户, 烟商E贷 for
licensed tobacco retailers only in the demo, and a 商E贷 scenario change re-matched."""

import datetime as dt
from io import BytesIO

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.utils.module_loading import import_string
from openpyxl import load_workbook

from batch_matching import selectors, services
from batch_matching.factories import make_entity, run_inline
from batch_matching.models import MatchResult
from batch_matching.plan import decode_cap
from entities.models import MarketEntity
from products.models import LoanProduct, LoanProductVersion
from products.services import product_scenarios_update

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 20


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _farm(name: str, industry: str) -> MarketEntity:
    return make_entity(
        name=name,
        industry_id=industry,
        register_status="active",
        established_on=dt.date(2019, 4, 1),
        tier="development",
        annual_revenue=2_400_000,
        overdue_consecutive_24m=0,
        overdue_total_24m=0,
        operator_birth_date=dt.date(1980, 6, 1),
    )


def _row_of(html: str, name: str) -> str:
    (row,) = [part for part in html.split('data-testid="lead-row"')[1:] if name in part.split("</tr>")[0]]
    return row.split("</tr>")[0]


def test_益农快贷_潜在客户_labels_the_cap_of_a_livestock_and_a_fish_farm_养殖类(batch_world):
    """seeds/001 附件 四(一)1 益农快贷: "种植类客户最高50万元，养殖类客户最高100万元". A cattle farm (GB/T
    4754 0311, 03 畜牧业) and a fish farm (0412, 041 水产养殖) are 养殖类: 100 万元 labelled 养殖类;
    a grain farm (0111) is 种植类: 50 万元."""
    # given three farms in 泽州县 and a full run
    cattle = _farm("泽州县福旺肉牛养殖场", "0311")
    fish = _farm("泽州县金鳞水产养殖场", "0412")
    grain = _farm("泽州县丰收谷物种植园", "0111")
    run_inline()
    product = LoanProduct.objects.get(code="yinong-kuaidai")
    # when the 中国银行 branch opens its potential customers for 益农快贷
    client = client_for(batch_world.users["boc_admin"])
    html = client.get(f"/matching-batch/potential-customers/?product={product.pk}").content.decode()
    # then each farm's offer is labelled by its kind
    for entity, amount, label in ((cattle, "100.00", "养殖类客户最高额度"), (fish, "100.00", "养殖类客户最高额度")):
        row = _row_of(html, entity.name)
        assert amount in row and label in row and "种植类" not in row
    row = _row_of(html, grain.name)
    assert "50.00" in row and "种植类客户最高额度" in row
    # and the export says the same
    sheet = load_workbook(
        BytesIO(client.get(f"/matching-batch/potential-customers/export.xlsx?product={product.pk}").content)
    ).active
    rows = {row[1]: row for row in sheet.iter_rows(values_only=True)}
    assert "养殖类客户最高额度" in rows[fish.name] and "养殖类客户最高额度" in rows[cattle.name]
    assert "种植类客户最高额度" in rows[grain.name]


def test_商E贷_scenario_change_is_rematched_into_the_stored_results(batch_world):
    # given a 粮油店 (5221) after a full run: 商E贷 is "信息不全" (not in the known scenarios:
    # not stored, counted by the run, shown on the shop's own page)
    shop = make_entity(
        name="泽州县丰泽粮油店",
        industry_id="5221",
        established_on=dt.date(2019, 4, 1),
        tier="growth",
        overdue_consecutive_24m=0,
        overdue_total_24m=0,
    )
    run = run_inline()
    product = LoanProduct.objects.get(code="shang-e-dai")
    assert not MatchResult.objects.filter(generation=run.generation, entity_id=shop.pk, product_id=product.pk).exists()
    admin = get_user_model().objects.create_superuser("boc-admin", password="x")
    (live,) = [m for m in selectors.entity_matches(user=admin, entity=shop) if m.product.pk == product.pk]
    assert live.verdict == 1 and live.verdict_label == "信息不全"
    # when the head office adds 粮油商 to the list (a new published version) and it is re-matched
    version = product_scenarios_update(
        actor=None,
        product=product,
        scenarios=[
            {"name": "药商", "industry_codes": ["5151", "5152", "5251", "5252"]},
            {"name": "酒商", "industry_codes": ["5127", "5226"]},
            {"name": "粮油商", "industry_codes": ["5221"]},
        ],
        complete=False,
    )
    services.product_rematch(product_id=product.pk)
    # then the stored result is the new version's, and the shop is a 商E贷 customer
    stored = MatchResult.objects.get(generation=run.generation, entity_id=shop.pk, product_id=product.pk)
    assert (stored.version_id, stored.verdict, stored.max_amount) == (version.pk, 2, 1_000_000)


def test_the_demo_shows_烟商E贷_to_licensed_tobacco_retailers_only(settings):
    """ "“烟商E贷”……为全省烟草零售商借款人提供" (seeds/001 附件 四(一)1): in the demo the snack shop
    and the fish farm hold no tobacco licence and no longer see it; tobacco retailers holding a
    valid licence do, and one whose licence has expired does not."""
    if connection.vendor != "postgresql":
        pytest.skip("the stored results' layout is PostgreSQL's")
    # given the demo (catalogue, users, register) matched once
    loaded = {}
    for dotted in settings.PORTAL_DEMO_LOADERS[: settings.PORTAL_DEMO_LOADERS.index("entities.demo.load") + 1]:
        loaded[dotted] = import_string(dotted)()
    import_string("batch_matching.demo.load")()
    fish, cattle, retailer, expired = loaded["entities.demo.load"]["showcase_entities"]
    snack_shop = loaded["entities.demo.load"]["demo_enterprise_entity"]
    yanshang = LoanProduct.objects.get(code="yanshang-e-dai")
    yinong = LoanProduct.objects.get(code="yinong-kuaidai")
    generation = selectors.current_generation()

    def stored(uscc: str, product: LoanProduct) -> MatchResult | None:
        entity = MarketEntity.objects.get(uscc=uscc)
        return MatchResult.objects.filter(generation=generation, entity_id=entity.pk, product_id=product.pk).first()

    # the snack shop's home page does not list 烟商E贷 (it has no stored 烟商E贷 result)
    home = client_for(get_user_model().objects.get(username="enterprise")).get("/").content.decode()
    assert 'data-testid="home-matches"' in home and "烟商E贷" not in home
    assert stored(snack_shop, yanshang) is None
    # the fish farm and the cattle farm: no 烟商E贷; 益农快贷 up to 100 万元 as 养殖类
    for code in (fish, cattle):
        assert stored(code, yanshang) is None
        result = stored(code, yinong)
        assert (result.verdict, result.max_amount) == (2, 1_000_000)
        version = LoanProductVersion.objects.get(pk=result.version_id)
        assert selectors.version_labels(version)[decode_cap(version.definition, result.binding_cap)] == (
            "养殖类客户最高额度"
        )
    # the licensed tobacco shop is a 烟商E贷 customer; the one whose licence expired is not
    assert stored(retailer, yanshang).verdict == 2
    assert stored(expired, yanshang) is None
    # and among the synthetic entities other licence holders are too
    assert MatchResult.objects.filter(generation=generation, product_id=yanshang.pk, verdict=2).count() > 1
