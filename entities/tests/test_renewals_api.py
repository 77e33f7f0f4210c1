"""The banks' systems keep 应续尽续 through the API with an API token (004 二(八): "对符合条件的
小微企业'应续尽续'"): they list their customers' needs due in 30 days, record one of their own
and its outcome; bad input is answered in Chinese per field; another bank's need does not exist."""

import datetime as dt

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from entities import services
from portal.tokens import api_token_issue

pytestmark = pytest.mark.django_db


def _bank_system(world, code):
    client = APIClient()
    key = api_token_issue(actor=world.users[f"{code}_admin"], name=f"{code} 信贷系统")[1]
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_银行系统_应续尽续_登记需求与结果(world):
    # given an entity of 泽州 whose loan at 中国银行 falls due in 20 days, recorded by the enterprise
    entity, owner = world.entity(name="泽州县接口续贷测试店")
    due = timezone.localdate() + dt.timedelta(days=20)
    mine = services.renewal_record(actor=owner, entity_id=entity.pk, amount=400_000, due_date=due, bank_code="boc")
    boc, ccb = _bank_system(world, "boc"), _bank_system(world, "ccb")
    # when 中国银行's system lists the needs due in 30 days
    listed = boc.get("/api/v1/renewals/?window=30").json()["results"]
    # then it finds the enterprise's need, in 万元, 待续贷; 建设银行's system finds none
    assert [(r["id"], r["amount_wan"], r["status_label"], r["bank_code"]) for r in listed] == [
        (mine.pk, "40.00", "待续贷", "boc")
    ]
    assert ccb.get("/api/v1/renewals/").json()["results"] == []
    # when it records another loan of its own customer with bad input
    bad = boc.post("/api/v1/renewals/", {"entity_id": entity.pk, "amount_wan": "-1", "due_date": "明天"}, format="json")
    # then each field is named in Chinese
    assert bad.status_code == 400
    assert set(bad.json()["errors"]) == {"amount_wan", "due_date"}
    # and with good input the need is recorded at its own bank
    made = boc.post(
        "/api/v1/renewals/",
        {"entity_id": entity.pk, "amount_wan": "25.5", "due_date": (due + dt.timedelta(days=50)).isoformat()},
        format="json",
    )
    assert made.status_code == 201 and made.json()["source_label"] == "银行填报" and made.json()["amount"] == 255_000
    # when 建设银行's system tries to answer 中国银行's need, it does not exist
    assert ccb.post(f"/api/v1/renewals/{mine.pk}/outcome/", {"action": "renew"}, format="json").status_code == 404
    # and 中国银行 refusing without a reason is told why; with one it stands
    no_reason = boc.post(f"/api/v1/renewals/{mine.pk}/outcome/", {"action": "refuse"}, format="json")
    assert no_reason.status_code == 400
    assert no_reason.json()["errors"] == {"refusal_reason": ["拒绝续贷须选择拒绝原因"]}
    done = boc.post(f"/api/v1/renewals/{mine.pk}/outcome/", {"action": "renew"}, format="json")
    assert done.status_code == 200 and done.json()["status_label"] == "无还本续贷已续"
    again = boc.post(f"/api/v1/renewals/{mine.pk}/outcome/", {"action": "repaid"}, format="json")
    assert again.status_code == 409 and again.json()["message"] == services.RENEWAL_CLOSED
