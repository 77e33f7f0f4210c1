"""A world for batch matching tests: the seed catalogue, the workflow world (泽州 task force,
boc and ccb branches in 晋城 and 泽州), synthetic entities in three counties and a few
hand-made edge cases (abnormal status, young, not shared, missing data, honours)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone

from entities.models import Honor, MarketEntity
from entities.synthetic import Generator, insert_entities
from batch_matching import services
from batch_matching.models import MatchResult, RunChunk
from matching.tests.workflow_world import World, build_world, valid_uscc
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import OrganisationKind, Role

COUNTIES = ["140525", "140502", "140212"]  # 泽州县, 晋城城区, 大同新荣区


@dataclass
class BatchWorld:
    world: World
    entities: list[int] = field(default_factory=list)
    special: dict[str, MarketEntity] = field(default_factory=dict)

    @property
    def users(self):
        return self.world.users


def build(count: int = 240, seed: int = 7) -> BatchWorld:
    world = build_world()
    today = timezone.localdate()
    insert_entities(Generator(seed=seed, today=today, counties=COUNTIES).entities(count), chunk=1000)
    batch = BatchWorld(world)
    batch.special = _special(today)
    batch.entities = list(MarketEntity.objects.order_by("id").values_list("id", flat=True))
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE entities_marketentity")
    return batch


def _entity(name: str, **values) -> MarketEntity:
    base = dict(uscc=valid_uscc(), name=name, entity_type="individual_business", register_status="active",
                established_on=dt.date(2019, 3, 1), region_id="140525", industry_id="5211", annual_revenue=900_000,
                net_assets=400_000, total_assets=600_000, employees=3, social_insurance_headcount=2, has_tax_record=True,
                tax_status="small_scale_taxpayer", tier="growth", size_class="micro", operator_nationality="CN",
                operator_local_residence=True, operator_birth_date=dt.date(1985, 5, 5), dishonest_debtor=False,
                joint_punishment=False, consumption_restricted=False, major_bad_record=False, pending_litigation=False,
                overdue_consecutive_24m=0, overdue_total_24m=0, overdue_12m=0)
    base.update(values)
    return MarketEntity.objects.create(**base)


def _special(today: dt.date) -> dict[str, MarketEntity]:
    org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140525"), name="泽州县金辉小吃店")
    special = {
        "model": _entity("泽州县金辉小吃店", organisation=org, industry_id="6210"),
        "young": _entity("泽州县新开张便利店", established_on=today - dt.timedelta(days=600)),
        "abnormal": _entity("泽州县经营异常商行", register_status="abnormal"),
        "hidden": _entity("泽州县不共享超市", data_shared_with_banks=False),
        "unknown": MarketEntity.objects.create(uscc=valid_uscc(), name="泽州县信息不全门店", entity_type="individual_business",
                                              register_status="active", region_id="140525"),
        "honoured": _entity("泽州县特色面馆", industry_id="6211", tier="development", annual_revenue=2_500_000),
        "datong": _entity("大同新荣区面馆", region_id="140212", industry_id="6210"),
        "jincheng": _entity("晋城城区小吃店", region_id="140502", industry_id="6210"),
    }
    Honor.objects.create(entity=special["honoured"], kind="distinctive", valid_until=today + dt.timedelta(days=400))
    Honor.objects.create(entity=special["honoured"], kind="quality", valid_until=None)  # open validity
    special["enterprise_user"] = user_with_role(Role.ENTERPRISE_USER, organisation=org, username="batch-enterprise")
    return special


def run_inline(*, as_of: dt.date | None = None, chunk_size: int = 60):
    """A full run processed in this process (chunks in order), swapped in."""
    run = services.run_start(as_of=as_of, chunk_size=chunk_size, dispatch=False)
    for chunk_id in RunChunk.objects.filter(run=run).order_by("number").values_list("pk", flat=True):
        assert services.chunk_process(run_id=run.pk, chunk_id=chunk_id, finalize=False)
    assert services.run_finalize(run_id=run.pk)
    run.refresh_from_db()
    return run


def rows_of(generation: int) -> set[tuple]:
    """A generation's rows without the generation and run columns (to compare two runs)."""
    columns = ("entity_id", "product_id", "version_id", "verdict", "max_amount", "binding_cap", "failed_mask",
               "unknown_mask", "county", "shared", "near_miss")
    return set(MatchResult.objects.filter(generation=generation).values_list(*columns))
