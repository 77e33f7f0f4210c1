"""Celery tasks of the entities app: thin, take ids, call a service. The services enqueue
them by their registered names (``services.RUN_IMPORT_TASK``), so this module imports the
services and not the other way round."""

from celery import shared_task

from entities.register_file import RegisterFileError
from entities.services import entity_import_run, renewal_remind_due, tier_policy_recompute


@shared_task(name="entities.tasks.run_entity_import", acks_late=True)
def run_entity_import(entity_import_id: int) -> dict:
    """Runs a stored register import; a redelivered task finds it claimed and does nothing."""
    try:
        return entity_import_run(entity_import_id=entity_import_id)
    except RegisterFileError as exc:
        return {"error": str(exc)}


@shared_task(name="entities.tasks.recompute_tiers")
def recompute_tiers(province_code: str) -> int:
    return tier_policy_recompute(province_code=province_code)


@shared_task(name="entities.tasks.remind_renewals")
def remind_renewals() -> int:
    """Daily: remind each bank of its customers' renewals due within 30 days (idempotent)."""
    return renewal_remind_due()
