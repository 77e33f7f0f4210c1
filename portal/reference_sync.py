"""Load the shipped reference data (administrative divisions, GB/T 4754-2017) into the
database. Idempotent: rows are upserted by code. Used by a data migration (a fresh
database knows them) and by `manage.py load_reference`."""

from django.apps import apps as global_apps

from portal import reference

_LEVEL_ORDER = {
    "province": 0,
    "city": 1,
    "county": 2,
    "township": 3,
    "section": 0,
    "division": 1,
    "group": 2,
    "class": 3,
}


def _upsert(model, rows):
    rows = sorted(rows, key=lambda r: (_LEVEL_ORDER[r["level"]], r["code"]))
    objs = [model(code=r["code"], name=r["name"], level=r["level"], parent_id=r.get("parent")) for r in rows]
    model.objects.bulk_create(
        objs, batch_size=1000, update_conflicts=True, unique_fields=["code"], update_fields=["name", "level", "parent"]
    )
    return len(objs)


def sync_reference_data(apps=None) -> dict[str, int]:
    registry = apps or global_apps  # a migration's historical models, or today's
    Region = registry.get_model("portal", "Region")
    Industry = registry.get_model("portal", "Industry")
    return {
        "regions": _upsert(Region, reference.load_regions()),
        "industries": _upsert(Industry, reference.load_industries()),
    }
