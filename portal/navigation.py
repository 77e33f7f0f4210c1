"""Navigation per role: (label, url name) pairs; later issues add their pages here."""
from portal.models import Role

_COMMON_TAIL = [("修改密码", "password_change")]

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    Role.ENTERPRISE_USER: [("首页", "home")],
    Role.TASK_FORCE_STAFF: [("工作台", "home")],
    Role.TASK_FORCE_BANK_REVIEWER: [("工作台", "home")],
    Role.TASK_FORCE_LEAD: [("工作台", "home")],
    Role.CONVENER: [("工作台", "home"), ("机构", "organisation_list")],
    Role.CITY_REGULATOR: [("驾驶舱", "home"), ("机构", "organisation_list"), ("审计日志", "audit_event_list")],
    Role.PROVINCE_REGULATOR: [("驾驶舱", "home"), ("机构", "organisation_list"), ("审计日志", "audit_event_list")],
    Role.BANK_ADMIN: [("线索收件箱", "home"), ("机构", "organisation_list"), ("审计日志", "audit_event_list")],
    Role.ACCOUNT_MANAGER: [("线索收件箱", "home")],
    Role.PLATFORM_ADMIN: [
        ("管理首页", "home"),
        ("机构", "organisation_list"),
        ("审计日志", "audit_event_list"),
        ("API 文档", "api-docs"),
    ],
}


def items_for(role: str | None) -> list[tuple[str, str]]:
    return NAVIGATION.get(role, [("首页", "home")]) + _COMMON_TAIL
