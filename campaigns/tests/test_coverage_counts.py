"""The coverage counts (`coverage.compute`, one statement over the targets, their latest open
assignment, visits and declarations read once each) mean what the per-target flags of
`coverage.annotated` say — the definition the target lists show. Checked on a campaign with
every case the flags distinguish (excluded, given then given again, a visit before the campaign
started, a visit with a need, a declaration, a due date passed), at several moments."""

import datetime as dt

import pytest
from django.utils import timezone

from campaigns import coverage, services
from campaigns.models import Assignment, Target
from matching import services as matching_services
from matching.models import Declaration, Visit

pytestmark = pytest.mark.django_db


def _by_hand(targets, as_of=None) -> coverage.Coverage:
    """The coverage from each target's own flags (`annotated`), added one target at a time."""
    today = timezone.localdate() if as_of is None else timezone.localtime(as_of).date()
    result = coverage.Coverage()
    rows = coverage.annotated(targets, as_of=as_of).select_related("campaign").order_by("pk")
    for t in rows:
        counted = not t.excluded
        overdue = (
            counted and not t.visited and (t.campaign.deadline < today or (t.due_on is not None and t.due_on < today))
        )
        group = {
            "visitor_id": t.visitor_id,
            "excluded_n": int(t.excluded),
            "targets_n": int(counted),
            "visited_n": int(counted and t.visited),
            "with_need_n": int(counted and t.with_need),
            "declared_n": int(counted and t.declared),
            "overdue_n": int(overdue),
        }
        for figures in (
            result.total,
            result.by_county[t.region_id],
            result.by_township[(t.region_id, t.township_id)],
            result.by_visitor[t.visitor_id],
        ):
            figures.add(group)
    return result


def _same(computed: coverage.Coverage, expected: coverage.Coverage) -> None:
    assert computed.total == expected.total
    assert dict(computed.by_county) == dict(expected.by_county)
    assert dict(computed.by_township) == dict(expected.by_township)
    assert dict(computed.by_visitor) == dict(expected.by_visitor)


def _visit(actor, entity, **extra):
    return matching_services.visit_record(
        actor=actor, entity_id=entity.pk, visited_on=timezone.localdate(), people="刘干事", **extra
    )


def test_the_counts_equal_the_flags_of_every_target_at_every_moment(world):
    """Given 6 targets of a running campaign (one revoked, so excluded), two given to a visitor and
    one of them given again to the 工商联's, a visit with a need and one without, a visit dated
    before the campaign started, a declaration, and a due date passed; when the coverage is
    counted now, before the second visit and before the campaign started, then each count per
    county, township and visitor is the sum of the targets' own flags."""
    from campaigns.factories import campaign_world

    cw = campaign_world(world, entities=5)
    staff, visitor, federation = world.users["staff"], cw.users["visitor"], cw.users["federation_visitor"]
    a, b, c, d, e = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk")
    services.assignments_make(actor=staff, campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[a.pk, b.pk])
    services.assignments_make(actor=staff, campaign_id=cw.campaign.pk, visitor_id=federation.pk, target_ids=[b.pk])
    services.assignments_make(actor=staff, campaign_id=cw.campaign.pk, visitor_id=visitor.pk, target_ids=[d.pk])
    # d's visit is due yesterday (the service refuses a past date: arranged directly)
    Assignment.objects.filter(target=d, ended_at__isnull=True).update(due_on=timezone.localdate() - dt.timedelta(1))
    _visit(visitor, a.entity)
    before_second = timezone.now()
    _visit(federation, b.entity, need_found=True, need_amount=300_000, loan_purpose="进货")
    # c was visited, but before the campaign started: not a visit of the campaign
    early = _visit(staff, c.entity)
    Visit.objects.filter(pk=early.pk).update(created_at=cw.campaign.started_at - dt.timedelta(days=2))
    matching_services.declaration_create(
        actor=staff, entity_id=e.entity_id, amount=200_000, term_months=12, purpose="购置设备", bank_codes=["boc"]
    )
    assert Declaration.objects.filter(entity_id=e.entity_id).exists()

    targets = Target.objects.filter(campaign=cw.campaign)
    now = coverage.compute(targets)
    # by hand: 5 counted and 1 excluded; a and b visited (b with a need); e declared; d overdue
    assert (now.total.targets, now.total.excluded, now.total.visited, now.total.with_need) == (5, 1, 2, 1)
    assert (now.total.declared, now.total.overdue, now.total.assigned) == (1, 1, 3)
    assert now.by_visitor[federation.pk].visited == 1 and now.by_visitor[visitor.pk].targets == 2
    for moment in (None, before_second, cw.campaign.started_at - dt.timedelta(days=1)):
        _same(coverage.compute(targets, as_of=moment), _by_hand(targets, as_of=moment))
    assert coverage.compute(targets, as_of=before_second).total.visited == 1
