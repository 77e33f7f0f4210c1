"""Issue 16 item 15: "The declare form shows, per bank, the products the entity qualifies for and
why, not every product of the bank." The form judges each bank's products with the engine for
the need typed so far (matching.verdicts.form_verdicts, the one place a declaration's banks'
products are judged), on load and after a validation error, on 我要融资 and on 代为申报."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from entities.models import MarketEntity
from matching.verdicts import form_need, form_verdicts
from products.selectors import banks_serving

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bank_block(html: str, code: str) -> tuple[str, str]:
    """(what the bank's card lists as qualifying, what it folds away as 不符合)."""
    block = html[html.index(f'data-testid="bank-verdicts-{code}"') :]
    block = block[: block.index("</div>\n</div>") if "</div>\n</div>" in block else len(block)]
    others_at = block.find(f'data-testid="bank-others-{code}"')
    return (block, "") if others_at < 0 else (block[:others_at], block[others_at:])


def test_我要融资_每家银行只列出符合或信息不全的产品及原因(world):
    # given an unmarked snack shop that holds no tobacco licence, and its user
    entity, user = world.entity()
    MarketEntity.objects.filter(pk=entity.pk).update(tobacco_licence_held=False)
    entity.refresh_from_db()
    # when it opens 我要融资
    html = _client(user).get("/matching/declare/").content.decode()
    # then 中国银行's card lists 惠如愿·商E贷 as qualifying with its offer and reasons
    fits, others = _bank_block(html, "boc")
    assert 'data-testid="form-verdict-shang-e-dai"' in fits and "符合" in fits
    # and 烟商E贷 (仅限持有烟草专卖零售许可证的零售户) only among the folded 不符合, with its first failed condition
    assert "yanshang-e-dai" not in fits
    assert "烟商E贷: 未持有有效期内的名特优新称号" in others
    # the same verdicts as the engine function gives (one place)
    expected = form_verdicts(entity=entity, banks=banks_serving(entity.region_id), need=form_need(term_months=12))
    boc = next(bv for bv in expected if bv.code == "boc")
    assert [row.product.code for row in boc.fits] == re.findall(r'data-testid="form-verdict-([\w-]+)"><summary>', fits)


def test_我要融资_校验出错后按所填需求重新评估(world):
    """惠商贷: "贷款期限不超过 12 个月" (seeds: 中国银行惠商贷): a 24-month need moves it out of the qualifying list."""
    entity, user = world.entity()
    client = _client(user)
    # given at 12 months 惠商贷 is listed (信息不全: the 三型 mark is unknown)
    fits, _ = _bank_block(client.get("/matching/declare/").content.decode(), "boc")
    assert 'data-testid="form-verdict-huishangdai"' in fits
    # when the enterprise types a 24-month need of 20 万 and submits without a purpose (an error)
    response = client.post("/matching/declare/", {"amount_wan": "20", "term_months": "24", "banks": ["boc"]})
    html = response.content.decode()
    # then the form comes back with the error and 惠商贷 is judged for 24 months: 不符合, with the reason
    assert response.status_code == 400 and "is-invalid" in html
    fits, others = _bank_block(html, "boc")
    assert "huishangdai" not in fits and "惠商贷" in others and "12 个月" in others


def test_代为申报_出错后显示该主体在各银行可能符合的产品(world):
    # given a snack shop of 泽州
    entity, _ = world.entity()
    staff = _client(world.users["staff"])
    # when the staff member opens 代为申报 for it by its code
    html = staff.get(f"/matching/declarations/new/?uscc={entity.uscc}").content.decode()
    # then the products it qualifies for are shown per serving bank
    assert 'data-testid="staff-bank-verdicts"' in html and 'data-testid="form-verdict-shang-e-dai"' in html
    # and after a validation error too, for the typed need
    html = staff.post(
        "/matching/declarations/new/", {"uscc": entity.uscc, "amount_wan": "20", "term_months": "24"}
    ).content.decode()
    fits, others = _bank_block(html, "boc")
    assert "huishangdai" not in fits and "惠商贷" in others
    # an entity outside the staff member's county shows nothing (restrict)
    assert (
        'data-testid="staff-bank-verdicts"'
        not in staff.get("/matching/declarations/new/?uscc=91110000000000000X").content.decode()
    )
