"""Demo organisations and one user per role, in 晋城市泽州县 (Shanxi). Idempotent."""

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from portal.models import Membership, Organisation, OrganisationKind, Region, Role


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    organisation: str  # key into the organisations built below
    role: str


DEMO_USERS = [
    DemoUser("admin", "平台管理员", "platform", Role.PLATFORM_ADMIN),
    DemoUser("province", "省机制 王处长", "province", Role.PROVINCE_REGULATOR),
    DemoUser("city", "晋城市机制 李科长", "city", Role.CITY_REGULATOR),
    DemoUser("convener", "泽州县召集人 赵县长", "county", Role.CONVENER),
    DemoUser("lead", "泽州专班组长 孙组长", "task_force", Role.TASK_FORCE_LEAD),
    DemoUser("staff", "泽州专班 周干事", "task_force", Role.TASK_FORCE_STAFF),
    # a second staff member: the 初审 of what 周干事 files on an enterprise's behalf (filer ≠ first reviewer)
    DemoUser("staff2", "泽州专班 郑干事", "task_force", Role.TASK_FORCE_STAFF),
    DemoUser("reviewer", "泽州专班银行审核 吴经理", "task_force", Role.TASK_FORCE_BANK_REVIEWER),
    DemoUser("bankadmin", "中行晋城分行 郑行长", "boc_jincheng", Role.BANK_ADMIN),
    DemoUser("manager", "中行泽州支行 冯经理", "boc_zezhou", Role.ACCOUNT_MANAGER),
    DemoUser("enterprise", "泽州县金辉小吃店 陈老板", "enterprise", Role.ENTERPRISE_USER),
    # the member departments that receive 批分单 (seed 004 二(七)): the county's and the city's
    DemoUser("department", "泽州县自然资源局 钱科长", "department", Role.DEPARTMENT_STAFF),
    DemoUser("citydept", "晋城市自然资源和规划局 何科长", "city_department", Role.DEPARTMENT_STAFF),
    # a 千企万户大走访 visitor of a town (seed 004 二(四)): records the visits the task force gives him
    DemoUser("visitor", "巴公镇便民服务中心 刘干事", "township", Role.VISITOR),
]


def _org(key: str, name: str, kind: str, region_code: str | None, parent: Organisation | None) -> Organisation:
    region = Region.objects.get(code=region_code) if region_code else None
    org, created = Organisation.objects.get_or_create(
        code=f"demo-{key}".replace("_", "-"),
        defaults={"name": name, "kind": kind, "region": region, "parent": parent},
    )
    return org


@transaction.atomic
def load_organisations_and_users() -> dict[str, int]:
    orgs: dict[str, Organisation] = {}
    orgs["platform"] = _org("platform", "政银企融资对接平台运营中心", OrganisationKind.PLATFORM, None, None)
    orgs["province"] = _org(
        "province", "山西省支持小微企业融资协调工作机制", OrganisationKind.PROVINCE_MECHANISM, "140000", None
    )
    orgs["city"] = _org(
        "city", "晋城市支持小微企业融资协调工作机制", OrganisationKind.CITY_MECHANISM, "140500", orgs["province"]
    )
    orgs["county"] = _org(
        "county", "泽州县支持小微企业融资协调工作机制", OrganisationKind.COUNTY_MECHANISM, "140525", orgs["city"]
    )
    orgs["task_force"] = _org(
        "task_force", "泽州县融资协调工作专班", OrganisationKind.TASK_FORCE, "140525", orgs["county"]
    )
    orgs["department"] = _org("department", "泽州县自然资源局", OrganisationKind.DEPARTMENT, "140525", orgs["county"])
    orgs["department_market"] = _org(
        "department-market", "泽州县市场监督管理局", OrganisationKind.DEPARTMENT, "140525", orgs["county"]
    )
    orgs["city_department"] = _org(
        "city-department", "晋城市自然资源和规划局", OrganisationKind.DEPARTMENT, "140500", orgs["city"]
    )
    # the town, village and 工商联 the county task force sends on 大走访 visits (campaigns app)
    orgs["township"] = _org("township", "泽州县巴公镇人民政府", OrganisationKind.TOWNSHIP, "140525", orgs["county"])
    orgs["village"] = _org("village", "巴公镇西街社区", OrganisationKind.VILLAGE, "140525", orgs["township"])
    orgs["federation"] = _org("federation", "泽州县工商业联合会", OrganisationKind.FEDERATION, "140525", orgs["county"])
    # bank branches come from the seed catalogue (products.demo.load runs first)
    orgs["boc_jincheng"] = Organisation.objects.get(code="branch-boc-140500-city")
    orgs["boc_zezhou"] = Organisation.objects.get(code="branch-boc-140525-county")
    orgs["enterprise"] = _org("enterprise", "泽州县金辉小吃店", OrganisationKind.ENTERPRISE, "140525", None)

    User = get_user_model()
    created = 0
    for demo in DEMO_USERS:
        user, was_created = User.objects.get_or_create(username=demo.username, defaults={"first_name": demo.full_name})
        if was_created:
            user.set_password(settings.PORTAL_DEMO_PASSWORD)
            user.is_staff = demo.role == Role.PLATFORM_ADMIN
            user.is_superuser = demo.role == Role.PLATFORM_ADMIN
            user.save()
            created += 1
        Membership.objects.get_or_create(
            user=user, organisation=orgs[demo.organisation], role=demo.role, defaults={"is_primary": True}
        )
    return {"organisations": len(orgs), "users_created": created}
