"""Stored results agree with the engine: for every entity and active product of a world of
synthetic and hand-made entities, the row a full run stored in PostgreSQL (or its absence)
says what ``evaluate_entity`` says — verdict, offer, binding cap, failed and unknown rules —
and the Python path (``rows``) writes the very same rows, near misses included. 信息不全
pairs are not stored: the run counts them per product as the engine finds them, and the
Python path (what the pages that show them evaluate live) gives them as the engine does."""

from collections import Counter

import pytest

from batch_matching import plan, services
from batch_matching.models import MatchResult, RunProduct
from batch_matching.rows import rows_for
from eligibility.rules import iter_leaves, leaf_id, node_kind
from entities.models import MarketEntity
from products.eligibility import evaluate_entity
from products.models import LoanProductVersion

pytestmark = pytest.mark.django_db
BATCH_ENTITIES, BATCH_CHUNK_SIZE = 300, 70

VERDICTS = {"eligible": plan.ELIGIBLE, "incomplete": plan.INCOMPLETE, "ineligible": plan.INELIGIBLE}


def test_every_stored_row_is_what_the_engine_says(matched):
    # given a full run over 300 synthetic entities and the edge cases, 16 products
    world, run = matched
    versions = services.run_versions(run)
    objects = LoanProductVersion.objects.select_related("product__bank").in_bulk([v.version_id for v in versions])
    stored = {(r.entity_id, r.product_id): r for r in MatchResult.objects.filter(generation=run.generation)}
    entities = list(MarketEntity.objects.prefetch_related("honors").order_by("id"))
    assert len(entities) > 300 and len(versions) >= 15
    python_rows = {
        (r.entity_id, r.product_id): r for r in rows_for(entities, versions, as_of=run.as_of, with_incomplete=True)
    }
    seen = {"eligible": 0, "incomplete": 0, "near_miss": 0, "ineligible": 0}
    incomplete = Counter()

    for entity in entities:
        for spec in versions:
            # when the engine evaluates the pair
            evaluation = evaluate_entity(entity, objects[spec.version_id], as_of=run.as_of).evaluation
            row = stored.get((entity.pk, spec.product_id))
            python = python_rows.get((entity.pk, spec.product_id))
            ids = plan.reason_ids(spec.definition)
            expected = (
                VERDICTS[evaluation.verdict.value],
                evaluation.max_amount,
                evaluation.binding_cap,
                sorted({r.rule for r in evaluation.reasons if r.outcome.value == "fail"}),
                sorted({r.rule for r in evaluation.reasons if r.outcome.value == "unknown"}),
            )
            if evaluation.verdict.value == "incomplete":
                # then an incomplete pair is not stored, but counted, and computed as the engine says
                assert row is None, (entity.name, spec.definition["code"])
                assert _decoded(python, spec.definition, ids) == expected, (entity.name, spec.definition["code"])
                incomplete[spec.product_id] += 1
                seen["incomplete"] += 1
                continue
            # then a plainly ineligible pair has no row, any other pair its verdict and offer
            assert (row is None) == (python is None), (entity.pk, spec.product_id)
            if row is None:
                assert evaluation.verdict.value == "ineligible", (entity.name, spec.definition["code"])
                seen["ineligible"] += 1
                continue
            got = (
                row.verdict,
                row.max_amount,
                plan.decode_cap(spec.definition, row.binding_cap),
                sorted(plan.decode_reasons(row.failed_mask, ids)),
                sorted(plan.decode_reasons(row.unknown_mask, ids)),
            )
            assert got == expected, (entity.name, spec.definition["code"])
            # and the Python path wrote the same row
            assert python == python.__class__(
                entity_id=row.entity_id,
                product_id=row.product_id,
                version_id=row.version_id,
                verdict=row.verdict,
                max_amount=row.max_amount,
                binding_cap=row.binding_cap,
                failed_mask=row.failed_mask,
                unknown_mask=row.unknown_mask,
                county=row.county,
                shared=row.shared,
                near_miss=row.near_miss,
            )
            assert row.near_miss == (row.verdict == plan.INELIGIBLE)
            seen["near_miss" if row.near_miss else evaluation.verdict.value] += 1
    # every kind of outcome was exercised
    assert all(seen.values()), seen
    # and the run counted, per product, the incomplete pairs it did not store
    counted = dict(RunProduct.objects.filter(run=run).values_list("product_id", "incomplete"))
    assert counted == {spec.product_id: incomplete[spec.product_id] for spec in versions}
    run.refresh_from_db()
    assert (
        run.incomplete == sum(incomplete.values())
        and run.results == MatchResult.objects.filter(generation=run.generation).count()
    )


def _decoded(row, definition, ids) -> tuple:
    return (
        row.verdict,
        row.max_amount,
        plan.decode_cap(definition, row.binding_cap),
        sorted(plan.decode_reasons(row.failed_mask, ids)),
        sorted(plan.decode_reasons(row.unknown_mask, ids)),
    )


def _alternatives(node, inside_any=False) -> set[str]:
    """The ids of the leaves that are alternatives of an `any` group."""
    kind = node_kind(node)
    if kind == "leaf":
        return {leaf_id(node)} if inside_any else set()
    if kind == "not":
        return _alternatives(node["not"], inside_any)
    if kind == "switch":
        return set().union(*(_alternatives(case, inside_any) for case in node["cases"].values()))
    return set().union(*(_alternatives(child, inside_any or kind == "any") for child in node[kind]))


def test_near_misses_fail_only_on_rules_time_or_a_fix_cures(matched):
    # given the stored near misses
    world, run = matched
    versions = {v.product_id: v for v in services.run_versions(run)}
    near = list(MatchResult.objects.filter(generation=run.generation, near_miss=True))
    assert near
    for row in near:
        definition = versions[row.product_id].definition
        curable_ids = {leaf_id(leaf) for leaf in iter_leaves(definition["rules"]) if plan.curable(leaf)}
        failed = plan.decode_reasons(row.failed_mask, plan.reason_ids(definition))
        # then each fails on some rule time or a fix can cure, and on no other rule that decides
        # alone (an alternative of an `any` is shown failed beside an unknown one — 惠商贷's
        # "标记为三型或持有名特优新" for an entity with no mark yet — without deciding it)
        alternatives = _alternatives(definition["rules"])
        assert set(failed) & curable_ids, (row.entity_id, definition["code"], failed)
        assert set(failed) - alternatives <= curable_ids, (row.entity_id, definition["code"], failed)
    # the young entity misses on time, the abnormal one on its register status
    for name in ("young", "abnormal"):
        assert MatchResult.objects.filter(
            generation=run.generation, entity_id=world.special[name].pk, near_miss=True
        ).exists()
