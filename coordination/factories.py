"""Builders of 批分单 worlds for tests and demos: the departments of the 泽州 world's county, city
and province mechanisms with one staff user each, the city's convener and a provincial regulator."""

from __future__ import annotations

from dataclasses import dataclass, field

from coordination.models import Problem
from coordination.services import problem_open
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import Organisation, OrganisationKind, Role


@dataclass
class Departments:
    county: Organisation  # 泽州县自然资源局
    county_other: Organisation  # 泽州县市场监督管理局
    city: Organisation  # 晋城市自然资源和规划局
    province: Organisation  # 山西省自然资源厅
    users: dict = field(default_factory=dict)


def departments(world) -> Departments:
    """Departments and their staff for the 泽州 world (products.factories.build_world), with a
    city convener and a provincial regulator; the users are in the result's `users`
    ("department" is 泽州县自然资源局's staff)."""
    city_mechanism = world.county.parent
    province_mechanism = city_mechanism.parent
    found = Departments(
        county=OrganisationFactory(
            kind=OrganisationKind.DEPARTMENT, region=region("140525"), parent=world.county, name="泽州县自然资源局"
        ),
        county_other=OrganisationFactory(
            kind=OrganisationKind.DEPARTMENT, region=region("140525"), parent=world.county, name="泽州县市场监督管理局"
        ),
        city=OrganisationFactory(
            kind=OrganisationKind.DEPARTMENT,
            region=region("140500"),
            parent=city_mechanism,
            name="晋城市自然资源和规划局",
        ),
        province=OrganisationFactory(
            kind=OrganisationKind.DEPARTMENT,
            region=region("140000"),
            parent=province_mechanism,
            name="山西省自然资源厅",
        ),
    )
    u = found.users
    u["department"] = user_with_role(Role.DEPARTMENT_STAFF, organisation=found.county, username="pf-dept")
    u["department_other"] = user_with_role(
        Role.DEPARTMENT_STAFF, organisation=found.county_other, username="pf-dept-other"
    )
    u["city_department"] = user_with_role(Role.DEPARTMENT_STAFF, organisation=found.city, username="pf-city-dept")
    u["province_department"] = user_with_role(
        Role.DEPARTMENT_STAFF, organisation=found.province, username="pf-province-dept"
    )
    u["city_convener"] = user_with_role(Role.CONVENER, organisation=city_mechanism, username="pf-city-convener")
    u["province"] = user_with_role(Role.PROVINCE_REGULATOR, organisation=province_mechanism, username="pf-province")
    return found


def open_problem(world, found: Departments, *, entity=None, **overrides) -> Problem:
    """A 批分单 filled in by the world's task-force staff for an entity of 泽州, routed to the
    county's 自然资源局 (5 working days), unless told otherwise."""
    actor = overrides.pop("actor", None) or world.users["staff"]
    if entity is None:
        entity, _ = world.entity(name="泽州县批分单测试厂")
    values = {
        "entity_id": entity.pk,
        "kind": "collateral",
        "source": "bank",
        "description": "厂房抵押登记需加快办理",
        "department_id": found.county.pk,
        "due_working_days": 5,
    }
    values.update(overrides)
    return problem_open(actor=actor, **values)
