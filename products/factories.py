"""Test factories of the products app: the 泽州 world most tests and the deadlines benchmark
build on (the 泽州县 task force and mechanism, two banks with branches serving 泽州, their
staff, and enterprises with register rows).

It lives here, not in `matching`, because it needs only portal, entities and products:
batch matching (below matching) builds its own world on top of it. The workflow steps
(declare, review, push) are in `matching.factories`; the `world` fixture of the root
conftest.py returns `build_world()`."""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass, field

from stdnum.cn import uscc

from entities.models import MarketEntity
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import Organisation, OrganisationKind, Role
from products.models import Bank, BankBranch, BranchLevel
from products.services import branch_ensure, catalog_load

_serial = itertools.count(1)


def valid_uscc() -> str:
    body = f"92140525MA{next(_serial):07d}"[:17]
    return body + uscc.calc_check_digit(body)


@dataclass
class World:
    county: Organisation
    task_force: Organisation
    users: dict = field(default_factory=dict)
    branches: dict = field(default_factory=dict)

    def entity(self, name: str = "泽州县测试小吃店", with_user: bool = True) -> tuple[MarketEntity, object | None]:
        org = OrganisationFactory(kind=OrganisationKind.ENTERPRISE, region=region("140525"), name=name)
        entity = MarketEntity.objects.create(
            uscc=valid_uscc(),
            name=name,
            entity_type="individual_business",
            register_status="active",
            established_on=dt.date(2020, 5, 1),
            region_id="140525",
            industry_id="6210",
            annual_revenue=900_000,
            employees=3,
            social_insurance_headcount=2,
            has_tax_record=True,
            tax_status="small_scale_taxpayer",
            organisation=org,
        )
        user = user_with_role(Role.ENTERPRISE_USER, organisation=org) if with_user else None
        return entity, user


def build_world() -> World:
    catalog_load()
    province = Organisation.objects.filter(kind=OrganisationKind.PROVINCE_MECHANISM).first() or OrganisationFactory(
        kind=OrganisationKind.PROVINCE_MECHANISM, region=region("140000"), name="山西省机制"
    )
    city = OrganisationFactory(
        kind=OrganisationKind.CITY_MECHANISM, region=region("140500"), parent=province, name="晋城市机制"
    )
    county = OrganisationFactory(
        kind=OrganisationKind.COUNTY_MECHANISM, region=region("140525"), parent=city, name="泽州县机制"
    )
    task_force = OrganisationFactory(
        kind=OrganisationKind.TASK_FORCE, region=region("140525"), parent=county, name="泽州县专班"
    )
    world = World(county=county, task_force=task_force)
    u = world.users
    u["staff"] = user_with_role(Role.TASK_FORCE_STAFF, organisation=task_force, username="wf-staff")
    u["reviewer"] = user_with_role(Role.TASK_FORCE_BANK_REVIEWER, organisation=task_force, username="wf-reviewer")
    u["lead"] = user_with_role(Role.TASK_FORCE_LEAD, organisation=task_force, username="wf-lead")
    u["convener"] = user_with_role(Role.CONVENER, organisation=county, username="wf-convener")
    u["city"] = user_with_role(Role.CITY_REGULATOR, organisation=city, username="wf-city")
    for code in ("boc", "ccb"):
        bank = Bank.objects.get(code=code)
        jincheng = BankBranch.objects.get(bank=bank, level=BranchLevel.CITY, region_id="140500")
        sub = branch_ensure(
            bank=bank,
            parent=jincheng,
            region=region("140525"),
            name=f"{bank.name}泽州支行",
            level=BranchLevel.COUNTY,
            service_prefixes=["140525"],
        )
        world.branches[code] = sub
        u[f"{code}_admin"] = user_with_role(
            Role.BANK_ADMIN, organisation=jincheng.organisation, username=f"wf-{code}-admin"
        )
        u[f"{code}_manager"] = user_with_role(
            Role.ACCOUNT_MANAGER, organisation=sub.organisation, username=f"wf-{code}-manager"
        )
    return world
