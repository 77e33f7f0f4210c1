import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from coordination import services as problem_services
from coordination.factories import departments, open_problem
from entities import services as entity_services
from reporting import selectors
from reporting.factories import build_history, build_overdue, build_two_banks, travel


@pytest.fixture
def history(db, committed):
    """The hand-built history of 泽州县 in March 2026 (reporting.factories.build_history),
    written through the services and committed: the writes sync the statistics index."""
    with committed():
        return build_history()


@pytest.fixture
def march():
    """The query of March 2026 as of its last day, as the system sees it."""
    return selectors.parse_query({"period": "2026-03", "as_of": "2026-03-31"})


@pytest.fixture
def read_xlsx():
    """The first sheet of an exported workbook (values, not formulas): `read_xlsx(content)`."""

    def read(content: bytes):
        return load_workbook(io.BytesIO(content), data_only=True).active

    return read


@pytest.fixture
def two_banks(db, committed):
    """The case of an entity pushed to two banks and re-recommended to a third, beside an
    entity with two needs at one bank (reporting.factories.build_two_banks), written through
    the services and committed: the writes sync the statistics index."""
    with committed():
        return build_two_banks()


@pytest.fixture
def overdue_world(world):
    """The 泽州 world with what 逾期督办 counts (reporting.factories.build_overdue): two leads of
    中国银行泽州支行 whose 5-working-day feedback ran out unanswered and one 批分单 of the county's
    自然资源局 past its due date; the departments' users in `world.users` (coordination.factories)."""
    return build_overdue(world)


@pytest.fixture
def hand_renewals(history):
    """中国银行's customer 泽州县续贷甲厂, hand-counted:
    R1 50 万 due 03-20, R2 70 万 due 04-15, R3 90 万 due 05-20, R4 30 万 due 06-25, all recorded
    03-02; R5 20 万 due 04-01 recorded 03-25. On 03-25 the bank records R1 renewed without repayment
    on 03-18 (a date before it recorded it); on 04-05 it records R2 refused."""
    world = history.world
    entity, owner = world.entity(name="泽州县续贷甲厂")
    manager = world.users["boc_manager"]
    found = {}
    with travel("2026-03-02"):
        for name, amount, due in (
            ("R1", 500_000, "2026-03-20"),
            ("R2", 700_000, "2026-04-15"),
            ("R3", 900_000, "2026-05-20"),
            ("R4", 300_000, "2026-06-25"),
        ):
            found[name] = entity_services.renewal_record(
                actor=owner, entity_id=entity.pk, amount=amount, due_date=dt.date.fromisoformat(due), bank_code="boc"
            )
    with travel("2026-03-25"):
        found["R5"] = entity_services.renewal_record(
            actor=owner, entity_id=entity.pk, amount=200_000, due_date=dt.date(2026, 4, 1), bank_code="boc"
        )
        entity_services.renewal_outcome(
            actor=manager, renewal_id=found["R1"].pk, action="renew", outcome_on=dt.date(2026, 3, 18)
        )
    with travel("2026-04-05"):
        entity_services.renewal_outcome(
            actor=manager, renewal_id=found["R2"].pk, action="refuse", refusal_reason="credit"
        )
    return found


@pytest.fixture
def hand_problems(history):
    """批分单 of 泽州, hand-counted: P1 (抵质押登记) filled in 03-02, accepted 03-03, answered 03-06,
    closed 03-09; P2 (行政许可) filled in 03-05 with 5 working days (due 03-12), never answered;
    P3 (补充要素) filled in 04-03."""
    world = history.world
    found = departments(world)
    dept = found.users["department"]
    staff = world.users["staff"]
    with travel("2026-03-02"):
        p1 = open_problem(world, found)
    with travel("2026-03-03"):
        problem_services.problem_accept(actor=dept, problem_id=p1.pk)
    with travel("2026-03-05"):
        entity, p2_owner = world.entity(name="泽州县批分单乙厂")
        p2 = open_problem(world, found, entity=entity, kind="permit")
    with travel("2026-03-06"):
        problem_services.problem_answer(actor=dept, problem_id=p1.pk, answer="已开辟绿色通道办结抵押登记")
    with travel("2026-03-09"):
        problem_services.problem_close(actor=staff, problem_id=p1.pk)
    with travel("2026-04-03"):
        entity, _ = world.entity(name="泽州县批分单丙厂")
        p3 = open_problem(world, found, entity=entity, kind="supplement")
    return {"P1": p1, "P2": p2, "P3": p3, "P2_owner": p2_owner}
