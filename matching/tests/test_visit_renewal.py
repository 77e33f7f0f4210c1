"""走访登记 hands a renewal need found on a visit to the renewal form (004 二(八): "及时摸排掌握企业
续贷需求"): the need is recorded as 走访摸排 and appears in the bank's 应续尽续 list."""

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from entities.models import Renewal

pytestmark = pytest.mark.django_db


def test_走访发现续贷需求_登记为走访摸排_银行可见(world):
    # given an entity of 泽州 and the task force's staff
    entity, _ = world.entity(name="泽州县走访续贷测试店")
    staff = Client()
    staff.force_login(world.users["staff"])
    # when the visit is recorded with 发现续贷需求 ticked
    response = staff.post(
        "/matching/visits/",
        {
            "uscc": entity.uscc,
            "visited_on": timezone.localdate().isoformat(),
            "people": "周干事",
            "renewal_found": "on",
        },
    )
    # then the staff member is taken to the renewal form of that entity, marked as from the visit
    assert response.status_code == 302 and response["Location"] == f"/entities/renewals/new/?entity={entity.pk}&visit=1"
    due = timezone.localdate() + dt.timedelta(days=40)
    bad = staff.post(response["Location"], {"bank_code": "boc", "amount_wan": "0", "due_date": due.isoformat()})
    assert bad.status_code == 400 and 'data-testid="error-amount_wan"' in bad.content.decode()
    done = staff.post(
        response["Location"],
        {"bank_code": "boc", "amount_wan": "80", "due_date": due.isoformat(), "wants_no_repayment": "true"},
    )
    assert done.status_code == 302
    renewal = Renewal.objects.get(entity=entity)
    assert (renewal.get_source_display(), renewal.amount, renewal.bank.code) == ("走访摸排", 800_000, "bank-boc")
    # and 中国银行's manager finds it in 应续尽续, 60 天内到期
    bank = Client()
    bank.force_login(world.users["boc_manager"])
    assert entity.name in bank.get("/entities/renewals/?window=60").content.decode()
    assert entity.name not in bank.get("/entities/renewals/?window=30").content.decode()
