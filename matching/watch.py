"""Post-loan watch of the regulator's marks (贷后: 授信压退).

中国银行's programme (001 附件 九(四)): "加强与当地市场监管局对接, 关注其对'名特优新'清单动态调整
情况; 若我行存量客户被调整出清单的, 应及时调查、核实原因, 并采取授信压退策略". The same holds for
the 三型 mark, which 惠商贷, 建设银行's and 山西银行's products lend on.

Lifecycle:
1. At approval (``services.recommendation_approve``) the lead's APPROVE event records the
   *basis* (``credit_basis``): the regulator's marks the entity held that day and that the
   lending bank's programme reads — the 三型 mark if one of the bank's active products tests
   it, the valid 名特优新 titles (kind, end date) if one tests them.
2. Whenever an entity changes (``entities.changes.ENTITY_CHANGED_HOOKS``, registered by
   ``matching.apps``: an import, a regulator's mark, a 名特优新 grant or revocation) and once a
   day for expiries (beat: ``matching.tasks.watch_credit_basis``), ``watch_recommendations``
   compares each approved or drawn lead's basis with the entity now: a title revoked,
   expired or of unknown validity, a mark removed or lowered (成长型 → 生存型) is a change.
3. When the set of changes differs from the one last recorded on the lead, it records the
   workflow table's 授信依据变化 event (``workflow.Action.BASIS_CHANGE``: what changed, or that
   the basis is back) and notifies the lending branch — the assigned account manager and the
   bank administrators of the branch and the branches above it — naming the loan (entity,
   product, amount, date) and what changed; the ledger shows the latest change of each lead.

Idempotent: each lead is row-locked while it is compared, an unchanged set records nothing,
and a notification's key is its event, so the hook, the daily scan and their retries never
record or notify twice. Leads approved before the watch existed carry no basis and are not
watched.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from eligibility.rules import fields_used
from entities import classification as cls
from entities.models import Honor, MarketEntity
from matching import workflow
from matching.models import EventKind, Notification, Recommendation, RecommendationState, WorkflowEvent
from matching.selectors import LEAD_ROW_JOINS, LEAD_ROW_LOOKUPS
from matching.workflow import Action
from portal.celery import app as celery_app
from portal.models import Organisation, Role
from products.models import LoanProduct, ProductStatus

log = logging.getLogger(__name__)

WATCHED_STATES = (RecommendationState.APPROVED, RecommendationState.DISBURSED)
TIER_ORDER = {"survival": 0, "growth": 1, "development": 2}
HONOR_FIELDS = {"has_valid_honor", "honors_valid"}
# notifications are e-mailed by the task's registered name (matching/tasks.py imports this module)
SEND_EMAILS_TASK = "matching.tasks.send_notification_emails"
SCAN_BATCH = 500


# --- the basis, at approval ------------------------------------------------------------------


def _reads(definition: dict) -> tuple[bool, bool]:
    """(reads the 三型 mark, reads 名特优新) of one product version."""
    caps = definition.get("caps", [])
    trees = [definition.get("rules") or {"all": []}] + [cap["when"] for cap in caps if "when" in cap]
    used = set().union(*(fields_used(tree) for tree in trees))
    kinds = {cap.get("kind") for cap in caps}
    return "tier" in used or "tier_cap" in kinds, bool(used & HONOR_FIELDS) or "honor_cap" in kinds


def bank_reads(bank_id: int) -> tuple[bool, bool]:
    """Whether some active product of the bank tests the 三型 mark, and 名特优新."""
    tier = honors = False
    for product in LoanProduct.objects.filter(
        bank_id=bank_id, status=ProductStatus.ACTIVE, current_version__isnull=False
    ).select_related("current_version"):
        reads_tier, reads_honors = _reads(product.current_version.definition or {})
        tier, honors = tier or reads_tier, honors or reads_honors
    return tier, honors


def _valid_honors(entity_id: int, as_of: dt.date) -> list[dict]:
    honors = []
    for honor in Honor.objects.filter(entity_id=entity_id).order_by("kind", "-valid_until"):
        if cls.honor_validity(honor.valid_until, as_of, honor.valid_from) and honor.kind not in {
            h["kind"] for h in honors
        }:
            honors.append({"kind": honor.kind, "valid_until": honor.valid_until.isoformat()})
    return honors


def credit_basis(recommendation: Recommendation, *, as_of: dt.date | None = None) -> dict:
    """What the approval relies on among the regulator's marks, as JSON for its event."""
    as_of = as_of or timezone.localdate()
    reads_tier, reads_honors = bank_reads(recommendation.bank_id)
    entity = MarketEntity.objects.only("tier").get(pk=recommendation.entity_id)
    basis: dict = {"as_of": as_of.isoformat()}
    if reads_tier:
        basis["tier"] = entity.tier
    if reads_honors:
        basis["honors"] = _valid_honors(recommendation.entity_id, as_of)
    return basis


# --- comparing -------------------------------------------------------------------------------


def _tier_label(tier: str | None) -> str:
    return cls.TIER_LABELS.get(tier, "无标记") if tier else "无标记"


def changes_since(basis: dict, entity: MarketEntity, honors: list[Honor], as_of: dt.date) -> list[dict]:
    """What the basis lost: [{"key", "text"}], in a fixed order (the mark, then titles)."""
    changes = []
    was = basis.get("tier")
    if "tier" in basis and was:
        now = entity.tier
        if now is None:
            changes.append(
                {"key": "tier", "text": f"名录库三型标记已撤销(授信时为{_tier_label(was)}, 现仅有平台预估或无标记)"}
            )
        elif TIER_ORDER.get(now, 0) < TIER_ORDER.get(was, 0):
            changes.append({"key": "tier", "text": f"名录库三型标记由{_tier_label(was)}降为{_tier_label(now)}"})
    for held in basis.get("honors", []):
        kind = held["kind"]
        label = cls.HONOR_LABELS.get(kind, kind)
        same = [h for h in honors if h.kind == kind]
        validity = [cls.honor_validity(h.valid_until, as_of, h.valid_from) for h in same]
        if any(v is True for v in validity):
            continue
        if not same:
            text = f"名特优新「{label}」已被调整出名单(撤销)"
        elif any(v is None for v in validity):
            text = f"名特优新「{label}」有效期待确认(名单中缺少有效期至)"
        else:
            ended = max(h.valid_until for h in same if h.valid_until is not None)
            text = f"名特优新「{label}」已于 {ended.isoformat()} 到期"
        changes.append({"key": f"honor:{kind}", "text": text})
    return changes


def _basis_of(recommendation: Recommendation) -> dict | None:
    event = (
        WorkflowEvent.objects.filter(recommendation=recommendation, kind=EventKind.RECOMMENDATION_APPROVED)
        .order_by("-created_at", "-id")
        .first()
    )
    return (event.data or {}).get("basis") if event is not None else None


def _last_changes(recommendation: Recommendation) -> list[dict]:
    event = (
        WorkflowEvent.objects.filter(recommendation=recommendation, kind=EventKind.RECOMMENDATION_BASIS_CHANGED)
        .order_by("-created_at", "-id")
        .first()
    )
    return list((event.data or {}).get("changes", [])) if event is not None else []


# --- recording and notifying -----------------------------------------------------------------


def _wan(yuan: int | None) -> str:
    return "—" if yuan is None else f"{(Decimal(yuan) / 10000):.2f}"


def _loan_text(rec: Recommendation) -> str:
    version = rec.product_version
    product = version.product.name if version is not None else rec.bank.name
    decided = timezone.localtime(rec.decided_at).date().isoformat() if rec.decided_at else "—"
    drawn = f", 已放款 {_wan(rec.disbursed_total)} 万元" if rec.disbursed_total else ""
    return f"{rec.entity.name} · {product} · 授信 {_wan(rec.credit_amount)} 万元({decided}){drawn}"


def _recipients(rec: Recommendation) -> set[int]:
    """The assigned account manager and the bank administrators of the lending branch and
    the branches above it (they oversee its leads)."""
    organisation = Organisation.objects.get(pk=rec.branch.organisation_id)
    ancestors = [int(p) for p in organisation.path.strip("/").split("/") if p] or [organisation.pk]
    users = set(
        get_user_model()
        .objects.filter(memberships__organisation_id__in=ancestors, memberships__role=Role.BANK_ADMIN, is_active=True)
        .values_list("pk", flat=True)
    )
    if rec.assigned_to_id and rec.assigned_to.is_active:
        users.add(rec.assigned_to_id)
    return users


def _notify(rec: Recommendation, event: WorkflowEvent, changes: list[dict]) -> list[int]:
    loan = _loan_text(rec)
    if changes:
        title = f"授信依据变化: {loan}"
        body = (
            "; ".join(c["text"] for c in changes)
            + "。请及时调查、核实原因, 按贷后管理要求采取授信压退等措施(中国银行“三型四类”方案 九(四))。"
        )
    else:
        title = f"授信依据已恢复: {loan}"
        body = "此前变化的三型标记或名特优新称号已恢复。"
    url = f"/matching/leads/{rec.pk}/"
    ids = []
    for user_id in sorted(_recipients(rec)):
        notification, created = Notification.objects.get_or_create(
            dedupe_key=f"basis-{event.pk}:{user_id}",
            defaults={"recipient_id": user_id, "title": title[:200], "body": body, "url": url},
        )
        if created:
            ids.append(notification.pk)
    return ids


def _enqueue_emails(ids: list[int]) -> None:
    try:
        celery_app.send_task(SEND_EMAILS_TASK, args=(ids,))
    except Exception:  # broker down: the periodic sweep sends them later
        log.warning("could not enqueue %s basis-change e-mails; the sweep will send them", len(ids))


@transaction.atomic
def watch_recommendation(recommendation_id: int, *, as_of: dt.date | None = None) -> WorkflowEvent | None:
    """Compare one approved or drawn lead's basis with its entity now; record 授信依据变化 and
    notify when the changes differ from those last recorded. Returns the event, or None."""
    as_of = as_of or timezone.localdate()
    rec = (
        Recommendation.objects.select_for_update(of=("self",))
        # a lead's row as matching.selectors.lead_rows reads it (spread here, so the lookup stays
        # visible to portal/unrestricted_lookups.py)
        .select_related(*LEAD_ROW_JOINS)
        .prefetch_related(*LEAD_ROW_LOOKUPS, "product_version__product")
        .filter(pk=recommendation_id, state__in=WATCHED_STATES)
        .first()
    )
    if rec is None:
        return None
    basis = _basis_of(rec)
    if not basis:
        return None
    honors = list(Honor.objects.filter(entity_id=rec.entity_id))
    changes = changes_since(basis, rec.entity, honors, as_of)
    last = _last_changes(rec)
    if changes == last:
        return None
    lost = [c for c in changes if c not in last]
    restored = [c for c in last if c["key"] not in {n["key"] for n in changes}]
    event = workflow.record(
        Action.BASIS_CHANGE,
        declaration=rec.declaration,
        recommendation=rec,
        changes=changes,
        new=lost,
        restored=restored,
        basis=basis,
        as_of=as_of.isoformat(),
        credit_amount=rec.credit_amount,
        disbursed_total=rec.disbursed_total,
    )
    ids = _notify(rec, event, lost or changes)
    if ids:
        transaction.on_commit(lambda: _enqueue_emails(ids))
    return event


def watch_recommendations(ids: Iterable[int], *, as_of: dt.date | None = None) -> int:
    """``watch_recommendation`` for each lead; returns the events recorded."""
    return sum(1 for pk in ids if watch_recommendation(pk, as_of=as_of) is not None)


def watch_entities(entity_ids: Iterable[int], *, as_of: dt.date | None = None) -> int:
    """The approved or drawn leads of these entities, compared (the entity-change hook)."""
    wanted = set(entity_ids)
    if not wanted:
        return 0
    watched = Recommendation.objects.filter(state__in=WATCHED_STATES).values_list("pk", "entity_id")
    return watch_recommendations(sorted(pk for pk, entity_id in watched if entity_id in wanted), as_of=as_of)


def watch_scan(*, as_of: dt.date | None = None) -> int:
    """Every approved or drawn lead compared (daily, for titles that expire with no change of
    the entity); idempotent. Returns the events recorded."""
    ids = list(Recommendation.objects.filter(state__in=WATCHED_STATES).order_by("pk").values_list("pk", flat=True))
    return sum(watch_recommendations(ids[i : i + SCAN_BATCH], as_of=as_of) for i in range(0, len(ids), SCAN_BATCH))


def on_entities_changed(ids: list[int]) -> None:
    """The entity-change hook (after commit): compare now; a failure is logged and left to
    the daily scan rather than surfacing in the request that changed the entity."""
    try:
        watch_entities(ids)
    except Exception:
        log.exception("post-loan watch failed for %s entities; the daily scan will retry", len(ids))


def basis_change_text(event: WorkflowEvent) -> str:
    """One line for the ledger and the timeline: the date and what changed (or restored)."""
    day = timezone.localtime(event.created_at).date().isoformat()
    changes = (event.data or {}).get("changes") or []
    if changes:
        return f"{day} " + "; ".join(c["text"] for c in changes)
    return f"{day} 授信依据已恢复"
