"""The 三型 mark and the platform's estimate in batch matching (issue 15 item 1).

001 附件 三(二): "经营实体在'全省个体工商户名录库'中被标记为'三型'的个体工商户". Before, a tier the
platform computed stood in for a missing mark (in the demo 323 individual businesses passed
"标记为三型" with no mark). The stored results, the compiled SQL and the engine agree that an
estimate never satisfies the rule; the 差一点符合 page's 待标记三型 lists these entities as worth
asking the regulator to mark."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import BooleanField, CharField
from django.test import Client
from django.utils import timezone
from django.utils.module_loading import import_string
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from batch_matching import selectors, services
from batch_matching.compile import compile_product, compile_rules, expression
from batch_matching.factories import _entity, as_of_dates, entity_rows, rule_trees, run_inline, save_rows
from batch_matching.models import MatchResult
from batch_matching.plan import ELIGIBLE
from eligibility import Outcome, trace_rules
from eligibility.fields import product_facts
from entities.models import HonorProposal, MarketEntity
from entities.services import recompute_classification, tier_mark_set
from matching.models import EventKind, WorkflowEvent
from portal.models import Role
from portal.tenancy import scope_for
from products.eligibility import entity_facts, evaluate_entity
from products.models import LoanProduct

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 60
TIER_RULE = {"field": "tier", "op": "in", "value": ["survival", "growth", "development"]}  # 惠商贷 (boc.json)
SQL_OUTCOME = {True: Outcome.PASS, False: Outcome.FAIL, None: Outcome.UNKNOWN}


def _huishangdai():
    return LoanProduct.objects.select_related("current_version", "bank").get(code="huishangdai")


def _unmarked(name="泽州县只有预估的面馆"):
    """A 泽州 individual business the platform estimates 成长型, not marked in the 名录库."""
    entity = _entity(name, tier=None, tier_imported=None)
    recompute_classification(entity)
    entity.save()
    assert (entity.tier, entity.tier_computed) == (None, "growth")
    return entity


def test_an_unmarked_entity_no_longer_satisfies_惠商贷_标记为三型(batch_world):
    """001 附件 三(二): "在'全省个体工商户名录库'中被标记为'三型'的个体工商户"."""
    product = _huishangdai()
    definition = product.current_version.definition
    today = timezone.localdate()
    entity = _unmarked()

    # the engine: incomplete (not eligible), the reason names the estimate
    evaluation = evaluate_entity(entity, product.current_version, today)
    assert evaluation.result["verdict"] == "incomplete"
    assert "尚无市场监管部门的三型标记（平台预估：成长型），请联系市场监管部门标记" in [
        r["message"] for r in evaluation.result["reasons"]
    ]
    # the compiled SQL agrees: the tier rule is NULL (unknown), the verdict NULL (incomplete)
    rows = dict(
        MarketEntity.objects.filter(pk=entity.pk)
        .annotate(rule=expression(compile_rules(TIER_RULE, as_of=today), BooleanField()))
        .values_list("pk", "rule")
    )
    assert rows[entity.pk] is None
    verdict = (
        MarketEntity.objects.filter(pk=entity.pk)
        .annotate(v=expression(compile_product(definition, as_of=today).verdict_label, CharField()))
        .values_list("v", flat=True)
        .get()
    )
    assert verdict == "incomplete"

    # after a full run: incomplete (not stored), and listed as 待标记三型 with its estimate
    run = run_inline()
    assert not MatchResult.objects.filter(generation=run.generation, entity_id=entity.pk, product_id=product.pk)
    staff = batch_world.users["staff"]
    rows, _ = selectors.awaiting_mark(user=staff, limit=500)
    (entry,) = [row for row in rows if row["entity"].pk == entity.pk]
    assert entry["estimate"] == "成长型"
    (item,) = [i for i in entry["products"] if i["result"].product.pk == product.pk]
    assert item["if_marked"]["verdict"] == "eligible"
    page = Client()
    page.force_login(staff)
    body = page.get("/matching-batch/near-misses/?view=mark").content.decode()
    assert entity.name in body and "成长型(预估)" in body and "标记为成长型后符合" in body

    # when the city regulator marks it 成长型, it is eligible, stored and live, and leaves the list
    tier_mark_set(actor=batch_world.users["city"], entity=entity.pk, tier="growth")
    services.entities_rematch(ids=[entity.pk])
    stored = MatchResult.objects.get(generation=run.generation, entity_id=entity.pk, product_id=product.pk)
    assert stored.verdict == ELIGIBLE
    assert (
        evaluate_entity(MarketEntity.objects.get(pk=entity.pk), product.current_version, today).result["verdict"]
        == "eligible"
    )
    rows, _ = selectors.awaiting_mark(user=staff, limit=500)
    assert entity.pk not in {row["entity"].pk for row in rows}


class _Rollback(Exception):
    pass


@hypothesis_settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    scenario=as_of_dates.flatmap(
        lambda as_of: st.fixed_dictionaries(
            {
                "as_of": st.just(as_of),
                "rows": st.lists(entity_rows(as_of), min_size=1, max_size=4),
                "tree": rule_trees,
                "estimate": st.sampled_from(["survival", "growth", "development"]),
            }
        )
    )
)
def test_the_estimate_never_decides_a_rule_in_the_engine_or_the_sql(scenario):
    """The new fact (`tier_estimate`, stored as `tier_computed`) beside every random rule tree
    and entity: the compiled SQL and the engine agree, and replacing the estimate by any other
    changes no outcome in either."""
    as_of, tree = scenario["as_of"], scenario["tree"]

    def check():
        entities = save_rows(scenario["rows"])
        sql = compile_rules(tree, as_of=as_of)
        values = dict(
            MarketEntity.objects.filter(pk__in=[e.pk for e in entities])
            .annotate(v=expression(sql, BooleanField()))
            .values_list("pk", "v")
        )
        for entity in entities:
            facts = product_facts(entity_facts(entity, as_of), None)
            expected = trace_rules(tree, facts).outcome
            assert SQL_OUTCOME[values[entity.pk]] is expected
            assert trace_rules(tree, {**facts, "tier_estimate": scenario["estimate"]}).outcome is expected
        MarketEntity.objects.filter(pk__in=[e.pk for e in entities]).update(tier_computed=scenario["estimate"])
        again = dict(
            MarketEntity.objects.filter(pk__in=[e.pk for e in entities])
            .annotate(v=expression(sql, BooleanField()))
            .values_list("pk", "v")
        )
        assert again == values

    try:
        with transaction.atomic():
            check()
            raise _Rollback
    except _Rollback:
        pass


def test_the_demo_has_marked_and_only_estimated_businesses_and_no_estimate_passes_标记为三型(batch_world):
    """The demo: some individual businesses marked in the 名录库, some with only the estimate;
    none passes "标记为三型" without a mark (before: 323 of 2,269 did), the 待标记三型 list is
    alive, a loan shows a 授信依据变化, and a 名特优新 proposal waits for the province."""
    loaders = settings.PORTAL_DEMO_LOADERS
    for dotted in loaders[: loaders.index("batch_matching.demo.load") + 1]:
        import_string(dotted)()
    individual = MarketEntity.objects.filter(entity_type="individual_business")
    marked = individual.filter(tier_imported__isnull=False)
    estimated = individual.filter(tier_imported__isnull=True, tier_computed__isnull=False)
    assert marked.count() > 100 and estimated.count() > 100
    assert not marked.exclude(tier_mark_source="").filter(tier_marked_on__isnull=True).exists()
    # the mark column is the mark: no row carries a tier without a mark
    assert not MarketEntity.objects.filter(tier__isnull=False, tier_imported__isnull=True).exists()
    today = timezone.localdate()
    passing = (
        individual.annotate(rule=expression(compile_rules(TIER_RULE, as_of=today), BooleanField()))
        .filter(rule=True)
        .values_list("tier_imported", flat=True)
    )
    assert passing and None not in set(passing)
    unknown = individual.annotate(rule=expression(compile_rules(TIER_RULE, as_of=today), BooleanField())).filter(
        rule__isnull=True, tier_computed__isnull=False
    )
    assert unknown.count() == estimated.count()
    staff = get_user_model().objects.get(username="staff")
    assert scope_for(staff).role == Role.TASK_FORCE_STAFF
    rows, _ = selectors.awaiting_mark(user=staff, limit=10)
    assert rows and all(row["entity"].tier is None and row["estimate"] for row in rows)
    assert WorkflowEvent.objects.filter(kind=EventKind.RECOMMENDATION_BASIS_CHANGED).exists()
    assert HonorProposal.objects.filter(state="pending").exists()
