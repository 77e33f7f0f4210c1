"""申报 counts a declaration from its first submission, whichever path filed it; a bank's
recommendation is a draft awaiting the enterprise's consent and is not declared until it is
submitted (reporting.kpis.DECLARED).

Counted by hand (泽州县, March 2026): 中国银行 recommends 丙 (20 万) on 03-02 — 0 申报; the
enterprise consents and submits on 03-03 — 1 户, 20 万; the 初审 returns it on 03-04 and it is
submitted again on 03-05 — still 1 户, 20 万 (one declaration, counted at its first submission).
"""

import pytest
from django.test import Client

from matching import services as s
from matching.factories import CRITERIA
from products.factories import build_world
from reporting import exports, selectors
from reporting.factories import at, travel
from reporting.models import DeclarationFact

pytestmark = pytest.mark.django_db

MARCH = {"period": "2026-03", "as_of": "2026-03-31"}
NEED = {"amount": 200_000, "term_months": 12, "purpose": "进货周转"}


def _declared_everywhere(user, read_xlsx) -> set[tuple]:
    """(户, 申报金额) of March as the figures, the KPI API and the 成效统计表 (xlsx, csv) give it."""
    q = selectors.parse_query(MARCH)
    result = selectors.figures_with_activity(user, q, ["county"])
    total = result["total"][""]
    county = result["county"].get("140525")  # no row while the county has nothing to count
    client = Client()
    client.force_login(user)
    body = client.get("/api/v1/kpis/?period=2026-03&as_of=2026-03-31&by=county").json()
    names = [(g, h) for g, h, _, _ in exports.EFFECTIVENESS_COLUMNS]
    count, amount = 2 + names.index(("申报清单", "企业(户)")), 2 + names.index(("申报清单", "申报金额"))
    sheet = read_xlsx(exports.effectiveness_xlsx(user, q, by="county").content)
    xlsx = next(row for row in sheet.iter_rows(values_only=True) if row and len(row) > 1 and row[1] == "合计")
    csv = exports.effectiveness_csv(user, q, by="county").content.decode("utf-8-sig").splitlines()
    csv_total = next(line for line in csv if ",合计," in line).split(",")
    return {
        (total.declared, total.declared_amount),
        (county.declared, county.declared_amount) if county else (0, 0),
        (body["total"]["declared"], body["total"]["declared_amount"]),
        *((group["declared"], group["declared_amount"]) for group in body["groups"]["county"]),
        (xlsx[count], int(xlsx[amount] * 10000)),
        (int(csv_total[count]), int(float(csv_total[amount]) * 10000)),
    }


def test_申报清单_银行推荐待企业同意时不计入_提交后计一次(db, committed, read_xlsx):
    """004 三(五) "辖区内银行机构也可向工作专班推荐小微企业" and 三(四) "按照 … 5 项基本标准，指导企业
    填报信息，明确 1-2 家意向对接银行 … 初筛形成“申报清单”": a bank's recommendation enters the
    申报清单 when the enterprise has agreed and it is submitted, not before; the figures, the KPI
    API and the 成效统计表 (004 (十六)) count it once, at its first submission."""
    # given an individual business of 泽州县 that 中国银行 recommends to the task force on 03-02
    with committed():
        with travel("2026-02-20"):
            world = build_world()
            entity, user = world.entity(name="泽州县丙商店")
        u = world.users
        with travel("2026-03-02"):
            draft = s.declaration_recommend_by_bank(actor=u["boc_admin"], entity_id=entity.pk, **NEED)

    # then, while it waits for the enterprise's consent, March has no 申报 anywhere
    assert DeclarationFact.objects.get(pk=draft.pk).submitted_at is None
    assert _declared_everywhere(u["city"], read_xlsx) == {(0, 0)}

    # when the enterprise consents and submits it on 03-03
    with committed():
        with travel("2026-03-03"):
            s.declaration_consent_record(actor=user, declaration_id=draft.pk)
            s.declaration_update(
                actor=user, declaration_id=draft.pk, bank_codes=["boc"], basic_criteria=CRITERIA, **NEED
            )
            s.declaration_submit(actor=user, declaration_id=draft.pk)

    # then it is one 申报 of 20 万, dated by its submission, in every report
    assert DeclarationFact.objects.get(pk=draft.pk).submitted_at == at("2026-03-03")
    assert _declared_everywhere(u["city"], read_xlsx) == {(1, 200_000)}

    # when the 初审 returns it on 03-04 and the enterprise submits it again on 03-05
    with committed():
        with travel("2026-03-04"):
            s.declaration_review(actor=u["staff"], declaration_id=draft.pk, decision="return", comment="补充经营流水")
        with travel("2026-03-05"):
            s.declaration_submit(actor=user, declaration_id=draft.pk)

    # then it is still one 申报, counted at its first submission
    assert DeclarationFact.objects.get(pk=draft.pk).submitted_at == at("2026-03-03")
    assert _declared_everywhere(u["city"], read_xlsx) == {(1, 200_000)}
