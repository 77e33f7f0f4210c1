"""无还本续贷: renewal needs per entity, the bank's 应续尽续 list and its outcomes.

004 二(八): "将无还本续贷政策落实嵌入协调机制统筹推进，及时摸排掌握企业续贷需求，推动银行机构将续贷
对象由原来的部分小微企业扩展到所有小微企业 … 对符合条件的小微企业'应续尽续'"."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import timezone

from entities import renewals as policy
from entities import selectors, services
from entities.models import MarketEntity, Renewal
from matching.models import Notification
from portal.errors import ApplicationError
from portal.factories import OrganisationFactory, region, user_with_role
from portal.models import AuditEvent, OrganisationKind, Role

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()


@pytest.fixture
def xinrong(world):
    """Another county (新荣区, 大同): its task force's staff and an entity of its own."""
    task_force = OrganisationFactory(kind=OrganisationKind.TASK_FORCE, region=region("140212"), name="新荣区专班")
    staff = user_with_role(Role.TASK_FORCE_STAFF, organisation=task_force, username="xr-staff")
    entity, _ = world.entity(name="新荣区续贷测试店")
    MarketEntity.objects.filter(pk=entity.pk).update(region_id="140212")
    entity.refresh_from_db()
    return staff, entity


def _record(world, actor, entity, *, days=20, amount=500_000, bank_code="ccb", **extra):
    return services.renewal_record(
        actor=actor,
        entity_id=entity.pk,
        amount=amount,
        due_date=TODAY + dt.timedelta(days=days),
        bank_code=bank_code,
        **extra,
    )


def test_企业_及时摸排掌握企业续贷需求_三方均可登记(world):
    """004 二(八) "及时摸排掌握企业续贷需求": the enterprise records its own, the task force from a
    visit, the bank for its own customer at its own bank (a code naming another bank is refused)."""
    # given an entity of 泽州 and its user
    entity, owner = world.entity()
    # when the enterprise, the visiting staff and 建设银行's manager each record a loan coming due
    mine = _record(world, owner, entity, days=10)
    visit = _record(world, world.users["staff"], entity, days=40, amount=800_000, bank_code="boc", from_visit=True)
    bank = _record(world, world.users["ccb_manager"], entity, days=70, amount=300_000, bank_code=None)
    # then each is 待续贷, from its source, at its bank, audited
    assert [r.get_source_display() for r in (mine, visit, bank)] == ["企业填报", "走访摸排", "银行填报"]
    assert mine.bank.code == "bank-ccb" and visit.bank.code == "bank-boc" and bank.bank.code == "bank-ccb"
    assert {r.status for r in (mine, visit, bank)} == {policy.RenewalStatus.PENDING}
    assert AuditEvent.objects.filter(action="renewal.record").count() == 3
    # and a bank may not record a loan at another bank
    with pytest.raises(ApplicationError) as refused:
        _record(world, world.users["ccb_manager"], entity, bank_code="boc")
    assert refused.value.field_errors == {"bank_code": ["银行只能登记本行客户在本行的续贷需求"]}


def test_登记_错误输入_中文字段错误(world):
    # given an entity
    entity, owner = world.entity()
    # when the amount is zero and the due date more than five years away
    with pytest.raises(ApplicationError) as bad:
        services.renewal_record(
            actor=owner, entity_id=entity.pk, amount=0, due_date=TODAY.replace(year=TODAY.year + 6), bank_code="ccb"
        )
    # then both fields are named in Chinese and nothing is stored
    assert bad.value.field_errors["amount"] == ["到期贷款金额应大于 0 且不超过 100000000000 万元"]
    assert bad.value.field_errors["due_date"] == ["到期日不能晚于 5 年后"]
    with pytest.raises(ApplicationError) as no_bank:
        services.renewal_record(actor=owner, entity_id=entity.pk, amount=10_000, due_date=TODAY, bank_code="")
    assert no_bank.value.field_errors == {"bank_code": ["请选择贷款银行"]}
    assert not Renewal.objects.exists()


def test_登记_他人的经营主体_与另一县_视为不存在(world, xinrong):
    # given 泽州's entity, another enterprise's user and 大同's entity
    entity, _ = world.entity()
    _, stranger = world.entity(name="泽州县另一家店")
    # when a stranger records for 泽州's entity, or 泽州's staff for 大同's
    for actor, target in ((stranger, entity), (world.users["staff"], xinrong[1])):
        with pytest.raises(ApplicationError) as refused:
            _record(world, actor, target)
        # then it does not exist for them
        assert refused.value.code == "not_found"
    # and roles outside the table (the reviewer, the city regulator) may not record at all
    for role in ("reviewer", "city"):
        with pytest.raises(ApplicationError) as denied:
            _record(world, world.users[role], entity)
        assert denied.value.code == "permission_denied"
    assert not Renewal.objects.exists()


def test_应续尽续_银行登记结果_拒绝须有编码原因(world):
    """004 二(八) "对符合条件的小微企业'应续尽续'": only the lending bank records the outcome —
    无还本续贷已续, 其他方式续贷, 已还款, 拒绝续贷 with a coded reason — once."""
    # given two needs at 建设银行
    entity, owner = world.entity()
    first = _record(world, owner, entity, days=10)
    second = _record(world, owner, entity, days=50, amount=200_000)
    manager = world.users["ccb_manager"]
    # when 中国银行 (another bank), the enterprise or the task force try to record an outcome
    for actor in (world.users["boc_manager"], owner, world.users["staff"]):
        with pytest.raises(ApplicationError) as refused:
            services.renewal_outcome(actor=actor, renewal_id=first.pk, action="renew")
        assert refused.value.code in ("not_found", "permission_denied")
    # and the bank refuses without a reason
    with pytest.raises(ApplicationError) as no_reason:
        services.renewal_outcome(actor=manager, renewal_id=second.pk, action="refuse")
    assert no_reason.value.field_errors == {"refusal_reason": ["拒绝续贷须选择拒绝原因"]}
    # then the bank renews one without repayment and refuses the other with a coded reason
    done = services.renewal_outcome(actor=manager, renewal_id=first.pk, action="renew")
    refused = services.renewal_outcome(actor=manager, renewal_id=second.pk, action="refuse", refusal_reason="credit")
    assert done.get_status_display() == "无还本续贷已续" and done.outcome_on == TODAY
    assert refused.get_refusal_reason_display() == "存在逾期、欠息或不良等不良信用记录"
    # and a closed need cannot be answered again, nor withdrawn
    with pytest.raises(ApplicationError) as closed:
        services.renewal_outcome(actor=manager, renewal_id=first.pk, action="repaid")
    assert closed.value.message == services.RENEWAL_CLOSED
    with pytest.raises(ApplicationError):
        services.renewal_withdraw(actor=owner, renewal_id=first.pk)
    assert AuditEvent.objects.filter(action__in=["renewal.renew", "renewal.refuse"]).count() == 2


def test_应续尽续清单_按30_60_90天到期分组_各方只看各自的(world, xinrong):
    """The bank's 应续尽续 list: its customers' open needs due in the next 30/60/90 days; the
    enterprise sees its own; another bank and another county see none."""
    # given needs due in 10, 45, 80 and 200 days at 建设银行, one already renewed, one at 中国银行
    entity, owner = world.entity()
    for days in (10, 45, 80, 200):
        _record(world, owner, entity, days=days)
    closed = _record(world, owner, entity, days=5, amount=123_000)
    services.renewal_outcome(actor=world.users["ccb_admin"], renewal_id=closed.pk, action="repaid")
    _record(world, owner, entity, days=15, bank_code="boc")
    manager = world.users["ccb_manager"]
    # when the windows are read
    counts = selectors.renewal_window_counts(user=manager)
    # then they count the open needs due by then
    assert counts == {30: 1, 60: 2, 90: 3}
    assert selectors.renewal_list(user=manager, params={"window": "60"}).count() == 2
    assert selectors.renewal_list(user=manager).count() == 5
    assert selectors.renewal_list(user=world.users["boc_manager"]).count() == 1
    assert selectors.renewal_list(user=owner).count() == 6
    assert selectors.renewal_list(user=world.users["city"]).count() == 6
    assert selectors.renewal_list(user=xinrong[0]).count() == 0
    assert selectors.renewal_list(user=user_with_role(Role.ENTERPRISE_USER)).count() == 0


def test_到期前30天提醒银行_只提醒一次(world):
    # given a need due in 25 days and one due in 45
    entity, owner = world.entity()
    soon = _record(world, owner, entity, days=25)
    _record(world, owner, entity, days=45)
    # when the daily scan runs twice
    assert services.renewal_remind_due() == 1
    assert services.renewal_remind_due() == 0
    # then 建设银行's staff serving 泽州 are told once, 中国银行's not
    soon.refresh_from_db()
    assert soon.reminded_on == TODAY
    told = set(
        Notification.objects.filter(title__startswith="续贷到期提醒").values_list("recipient__username", flat=True)
    )
    assert told == {"wf-ccb-admin", "wf-ccb-manager"}


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_两位客户经理同时登记结果_只有一个生效(world, run_together):
    # given one need at 建设银行 and its two bank users
    entity, owner = world.entity()
    need = _record(world, owner, entity)
    # when the administrator renews it and the manager refuses it at the same moment
    outcomes = run_together(
        lambda: services.renewal_outcome(actor=world.users["ccb_admin"], renewal_id=need.pk, action="renew"),
        lambda: services.renewal_outcome(
            actor=world.users["ccb_manager"], renewal_id=need.pk, action="refuse", refusal_reason="operation"
        ),
    )
    # then one stands and the other is told in Chinese
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert [m for kind, m in outcomes if kind == "refused"] == [services.RENEWAL_CLOSED]
    assert AuditEvent.objects.filter(action__in=["renewal.renew", "renewal.refuse"]).count() == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_同一笔续贷需求同时登记两次_只存一条(world, run_together):
    entity, owner = world.entity()
    call = lambda: _record(world, owner, entity)  # noqa: E731
    outcomes = run_together(call, call)
    assert sorted(kind for kind, _ in outcomes) == ["ok", "refused"]
    assert Renewal.objects.count() == 1


def test_状态表_只有银行办结_模板不比较字面值():
    assert policy.actions_for(Role.BANK_ADMIN, policy.RenewalStatus.PENDING) == [
        policy.RenewalAction.RENEW,
        policy.RenewalAction.RENEW_OTHER,
        policy.RenewalAction.REPAID,
        policy.RenewalAction.REFUSE,
        policy.RenewalAction.WITHDRAW,
    ]
    assert policy.actions_for(Role.ENTERPRISE_USER, policy.RenewalStatus.PENDING) == [policy.RenewalAction.WITHDRAW]
    assert policy.actions_for(Role.CITY_REGULATOR, policy.RenewalStatus.PENDING) == []
    assert policy.actions_for(Role.BANK_ADMIN, policy.RenewalStatus.RENEWED) == []
