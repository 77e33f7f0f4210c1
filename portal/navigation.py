"""Navigation per role: (label, url name) pairs."""

from portal.models import Role

_COMMON_TAIL = [("通知", "matching:notification_list"), ("修改密码", "password_change")]

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    Role.ENTERPRISE_USER: [
        ("首页", "home"),
        ("我要融资", "matching:declare"),
        ("我的申报", "matching:declaration_list"),
        ("我的企业", "entities:my_entity"),
        ("产品超市", "products:market"),
        ("资格自测", "products:self_test"),
    ],
    Role.TASK_FORCE_STAFF: [
        ("工作台", "home"),
        ("逾期督办", "matching:overdue"),
        ("走访登记", "matching:visit_list"),
        ("差一点符合", "matching_batch:near_misses"),
        ("代为申报", "matching:staff_declare"),
        ("批量申报", "matching:declaration_import"),
        ("审核队列", "matching:review_queue"),
        ("申报清单", "matching:declaration_list"),
        ("经营主体", "entities:entity_list"),
        ("名录库导入", "entities:import_list"),
        ("名特优新申请", "entities:honor_proposals"),
        ("推荐清单", "matching:batch_list"),
        ("台账", "reporting:ledger"),
    ],
    Role.TASK_FORCE_BANK_REVIEWER: [
        ("工作台", "home"),
        ("审核队列", "matching:review_queue"),
        ("申报清单", "matching:declaration_list"),
        ("差一点符合", "matching_batch:near_misses"),
        ("经营主体", "entities:entity_list"),
    ],
    Role.TASK_FORCE_LEAD: [
        ("工作台", "home"),
        ("逾期督办", "matching:overdue"),
        ("审核队列", "matching:review_queue"),
        ("走访登记", "matching:visit_list"),
        ("差一点符合", "matching_batch:near_misses"),
        ("申报清单", "matching:declaration_list"),
        ("推荐清单", "matching:batch_list"),
        ("经营主体", "entities:entity_list"),
        ("名录库导入", "entities:import_list"),
        ("名特优新申请", "entities:honor_proposals"),
        ("台账", "reporting:ledger"),
        ("用户管理", "user_list"),
    ],
    Role.CONVENER: [
        ("工作台", "home"),
        ("逾期督办", "matching:overdue"),
        ("推荐清单", "matching:batch_list"),
        ("申报清单", "matching:declaration_list"),
        ("台账", "reporting:ledger"),
        ("统计", "reporting:dashboard"),
        ("机构", "organisation_list"),
    ],
    Role.CITY_REGULATOR: [
        ("驾驶舱", "home"),
        ("统计分析", "reporting:dashboard"),
        ("报表", "reporting:reports"),
        ("逾期督办", "matching:overdue"),
        ("申报清单", "matching:declaration_list"),
        ("台账", "reporting:ledger"),
        ("经营主体", "entities:entity_list"),
        ("名录库导入", "entities:import_list"),
        ("差一点符合", "matching_batch:near_misses"),
        ("名特优新申请", "entities:honor_proposals"),
        ("机构", "organisation_list"),
        ("用户管理", "user_list"),
        ("审计日志", "audit_event_list"),
    ],
    Role.PROVINCE_REGULATOR: [
        ("驾驶舱", "home"),
        ("统计分析", "reporting:dashboard"),
        ("报表", "reporting:reports"),
        ("逾期督办", "matching:overdue"),
        ("申报清单", "matching:declaration_list"),
        ("台账", "reporting:ledger"),
        ("经营主体", "entities:entity_list"),
        ("名录库导入", "entities:import_list"),
        ("差一点符合", "matching_batch:near_misses"),
        ("名特优新申请", "entities:honor_proposals"),
        ("机构", "organisation_list"),
        ("用户管理", "user_list"),
        ("审计日志", "audit_event_list"),
    ],
    Role.BANK_ADMIN: [
        ("线索收件箱", "matching:lead_inbox"),
        ("推荐企业", "matching:bank_recommend"),
        ("潜在客户", "matching_batch:potential_customers"),
        ("首页", "home"),
        ("台账", "reporting:ledger"),
        ("驾驶舱", "reporting:dashboard"),
        ("报送", "reporting:bank_reports"),
        ("报表", "reporting:reports"),
        ("我行产品", "products:bank_products"),
        ("机构", "organisation_list"),
        ("用户管理", "user_list"),
        ("API 令牌", "api_token_list"),
        ("审计日志", "audit_event_list"),
    ],
    Role.ACCOUNT_MANAGER: [
        ("线索收件箱", "matching:lead_inbox"),
        ("推荐企业", "matching:bank_recommend"),
        ("潜在客户", "matching_batch:potential_customers"),
        ("首页", "home"),
    ],
    Role.PLATFORM_ADMIN: [
        ("管理首页", "home"),
        ("驾驶舱", "reporting:dashboard"),
        ("报表", "reporting:reports"),
        ("台账", "reporting:ledger"),
        ("逾期督办", "matching:overdue"),
        ("经营主体", "entities:entity_list"),
        ("名录库导入", "entities:import_list"),
        ("目标", "reporting:targets"),
        ("机构", "organisation_list"),
        ("用户管理", "user_list"),
        ("工作日历", "workdays:year_list"),
        ("产品目录", "products:bank_products"),
        ("批量匹配", "matching_batch:run_list"),
        ("审计日志", "audit_event_list"),
        ("API 令牌", "api_token_list"),
        ("API 文档", "api-docs"),
    ],
}


# the product supermarket is open to everyone (anonymous visitors included)
_PRODUCTS = ("产品超市", "products:market")


def items_for(role: str | None) -> list[tuple[str, str]]:
    items = NAVIGATION.get(role, [("首页", "home")])
    return items + ([] if _PRODUCTS in items else [_PRODUCTS]) + _COMMON_TAIL
