"""Who may do what to a 千企万户大走访 campaign in which state: the one table of the campaigns app, in
the style of coordination/policy.py (seed 004 二(四)).

* The city mechanism (市级协调机制: "市级协调工作机制指导 … 梳理汇总 … 名录") opens a campaign (OPEN:
  name, deadline, the counties of its city it covers) as a draft, edits it (EDIT), starts it
  (START: visits count from then on) and ends it (END).
* The county task force (专班工作人员, 专班组长) of a covered county builds its 走访目标企业清单 from
  the register (BUILD_TARGETS) and imports the lists of 税务/统计 and other departments
  (IMPORT_TARGETS) while the campaign is a draft or running, and makes its 走访计划 (ASSIGN: targets
  to visitors) while it runs.
* Visits are the workflow's VISIT (matching/workflow.py): the visitor records them through the
  same service; the VISIT restriction lets him visit only the entities assigned to him.
* The overdue scan (campaigns/scan.py) reminds visitors and the task force; no role.

Each row: the roles, the states it acts in, the state it leads to (None: the campaign stays), the
event it records. A county row applies only to a county the campaign covers, a city row only to
the city that opened it. Refusals: a role the row never allows → 403; a state it does not allow →
409 with the current state; another city or an uncovered county → 403 (not visible: 404).
Tests: tests/test_policy_tables.py checks the table, campaigns/tests/test_policy.py its refusals."""

from __future__ import annotations

from enum import StrEnum

from campaigns.models import Campaign, CampaignEventKind, CampaignState
from portal.models import Role
from portal.policy_table import PolicyTable, Refusal, Rule
from portal.tenancy import Scope

S = CampaignState
K = CampaignEventKind


class Action(StrEnum):
    OPEN = "campaign.open"
    EDIT = "campaign.edit"
    START = "campaign.start"
    END = "campaign.end"
    BUILD_TARGETS = "campaign.build_targets"
    IMPORT_TARGETS = "campaign.import_targets"
    ASSIGN = "campaign.assign"


CITY = frozenset({Role.CITY_REGULATOR})
COUNTY = frozenset({Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD})
# who may be given visits (走访人员): the task force itself, 委办局, 乡镇/街道, 村组/社区, 工商联 and
# the banks' account managers ("组织委办局、乡镇、街道、村组、社区、工商联和银行机构")
VISITOR_ROLES = frozenset(
    {Role.TASK_FORCE_STAFF, Role.TASK_FORCE_LEAD, Role.VISITOR, Role.DEPARTMENT_STAFF, Role.ACCOUNT_MANAGER}
)


def county_of(scope: Scope | None) -> str | None:
    """The county a county worker works for (a task force's region code)."""
    if scope is None or scope.role not in COUNTY or not scope.region_code:
        return None
    return scope.region_code[:6]


def _own_city(scope: Scope, campaign: Campaign) -> Refusal | None:
    if not scope.region_prefix or not campaign.region_id.startswith(scope.region_prefix):
        return Refusal("该活动不是本市协调机制开展的")
    return None


def _covered_county(scope: Scope, campaign: Campaign) -> Refusal | None:
    county = county_of(scope)
    if county is None or not campaign.counties.filter(code=county).exists():
        return Refusal("该活动未覆盖本县区")
    return None


TABLE = PolicyTable(
    Campaign,
    (
        Rule(
            Action.OPEN,
            "开展大走访活动",
            CITY,
            (),
            S.DRAFT,
            K.OPENED,
            (),
            "市级协调机制创建活动(名称、截止日期、覆盖县区)",
        ),
        Rule(
            Action.EDIT,
            "修改活动",
            CITY,
            (S.DRAFT, S.RUNNING),
            None,
            K.UPDATED,
            (_own_city,),
            "修改活动名称、截止日期、要求",
        ),
        Rule(Action.START, "启动活动", CITY, (S.DRAFT,), S.RUNNING, K.STARTED, (_own_city,), "启动后各县区开始走访"),
        Rule(Action.END, "结束活动", CITY, (S.RUNNING,), S.ENDED, K.ENDED, (_own_city,), "结束后不再分配走访任务"),
        Rule(
            Action.BUILD_TARGETS,
            "生成走访目标企业清单",
            COUNTY,
            (S.DRAFT, S.RUNNING),
            None,
            K.TARGETS_BUILT,
            (_covered_county,),
            "县区专班从名录库生成本县区走访目标企业清单, 剔除非正常经营等不符合基本准入条件的经营主体并列明原因",
        ),
        Rule(
            Action.IMPORT_TARGETS,
            "导入部门名单",
            COUNTY,
            (S.DRAFT, S.RUNNING),
            None,
            K.TARGETS_IMPORTED,
            (_covered_county,),
            "县区专班导入税务、统计等部门提供的企业名单(统一社会信用代码), 同样剔除不符合基本准入条件的主体",
        ),
        Rule(
            Action.ASSIGN,
            "分配走访任务",
            COUNTY,
            (S.RUNNING,),
            None,
            K.ASSIGNED,
            (_covered_county,),
            "县区专班依据走访目标企业清单制定走访计划, 把目标企业分配给走访人员",
        ),
    ),
    states=CampaignState,
    scan_events=(K.OVERDUE,),
    field="campaign_id",
)
