"""Issue 16 item 20: "After a full matching run, the pages that read stored results show the
new run's results as soon as it is swapped in (today they were empty or all 不符合 for about
two minutes)".

Each reader is opened once before a second full run, as a user does, and the responses are
kept (a served request's objects live on until the collector reaches them). The second run
swaps its generation in and drops the previous one; right after it is finished, every page
that reads stored results shows the new generation's results, not the dropped one's
(nothing, or an absent row read as 不符合)."""

import pytest
from django.test import Client

from batch_matching import selectors
from batch_matching.factories import run_inline
from batch_matching.models import MatchingRun, MatchResult, RunState
from matching import services as workflow
from matching import verdicts
from matching.models import BASIC_CRITERIA
from products.models import LoanProduct

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 120


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _declare(world):
    criteria = {key: {"met": True, "evidence": "走访核实"} for key in BASIC_CRITERIA}
    return workflow.declaration_create(
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


def test_新一轮全量匹配切换后_各页面立即显示新结果_而不是空的或全部不符合(matched):
    """ "the pages that read stored results show the new run's results as soon as it is swapped
    in (today they were empty or all 不符合 for about two minutes)" (issue 16, item 20)."""
    # given a full run in force, a declaration, and every reader opened once by its user
    world, first = matched
    declaration = _declare(world)
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    bank, staff, enterprise = (
        client_for(world.users["boc_admin"]),
        client_for(world.users["staff"]),
        client_for(world.special["enterprise_user"]),
    )
    pages = {
        "潜在客户": (bank, f"/matching-batch/potential-customers/?product={product.pk}"),
        "银行首页": (bank, "/"),
        "差一点符合": (staff, "/matching-batch/near-misses/"),
        "专班首页": (staff, "/"),
        "申报的产品结论": (staff, f"/matching/declarations/{declaration.pk}/"),
        "匹配产品": (enterprise, "/matching-batch/mine/"),
        "企业首页": (enterprise, "/"),
    }
    served = [client.get(url) for client, url in pages.values()]
    assert all(response.status_code == 200 for response in served)
    assert 'data-testid="lead-row"' in served[0].content.decode()

    # when a second full run is swapped in (the first generation is dropped)
    second = run_inline(chunk_size=50)
    assert MatchingRun.objects.get(pk=first.pk).state == RunState.SUCCEEDED and second.generation != first.generation
    assert not MatchResult.objects.filter(generation=first.generation).exists()

    # then right after it is observed finished, every reader shows the new generation's results
    html = {name: client.get(url).content.decode() for name, (client, url) in pages.items()}
    eligible = MatchResult.objects.filter(
        generation=second.generation,
        product_id=product.pk,
        verdict=2,
        shared=True,
        county__gte=140500,
        county__lt=140600,
    ).count()
    assert eligible
    assert f'data-testid="count-{product.code}">{eligible}<' in html["潜在客户"]
    assert html["潜在客户"].count('data-testid="lead-row"') == min(50, eligible)
    assert f"{product.name}</a> · {eligible} 户" in html["银行首页"]
    assert 'data-testid="near-miss-row"' in html["差一点符合"]
    assert 'data-testid="home-near-misses"' in html["专班首页"]
    assert 'data-testid="match"' in html["匹配产品"] and 'data-testid="home-matches"' in html["企业首页"]
    # the declaration's products are judged beside the new run's stored results, not "不符合" for all
    assert f"全量匹配 #{second.pk}" in html["申报的产品结论"]
    rows = verdicts.declaration_verdicts(user=world.users["staff"], declaration=declaration)["rows"]
    assert any(row.stored is not None for row in rows)
    assert {row.stored_verdict for row in rows} != {verdicts.UNSTORED}


def test_同一用户对象跨越切换_读到的是新代次(matched):
    """A reader that keeps its user object (a worker, a long request, a test) still reads the
    generation in force at each read, never one remembered from before the swap."""
    world, first = matched
    user = world.users["boc_admin"]
    assert selectors.current_generation() == first.generation
    before = selectors.results(user=user).count()
    assert before
    second = run_inline(chunk_size=50)
    assert selectors.current_generation() == second.generation
    assert selectors.last_full_run(user).pk == second.pk
    assert selectors.results(user=user).count() == before
