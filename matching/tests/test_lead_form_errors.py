"""Issue 16 item 7: a form shows all its errors at once, each naming its field in Chinese (the
lead page's 授信 form: a wrong amount and a wrong rate are both reported, by their labels, on the
lead page drawn again with what was typed; tests/test_form_errors.py checks each form's errors
sit beside their fields)."""

import pytest
from django.test import Client

from matching import services as s
from matching.factories import pushed

pytestmark = pytest.mark.django_db


def test_every_error_of_the_approval_form_names_its_field(world):
    # given a contacted lead of 中国银行 with complete materials, assigned to its account manager
    _, _, recs = pushed(world, ("boc",))
    lead, manager = recs["boc"], world.users["boc_manager"]
    s.recommendations_assign(actor=world.users["boc_admin"], recommendation_ids=[lead.pk], manager_id=manager.pk)
    s.recommendation_contact(actor=manager, recommendation_id=lead.pk)
    s.recommendation_materials_complete(actor=manager, recommendation_id=lead.pk)
    client = Client()
    client.force_login(manager)

    # when the manager submits an amount and a rate that are not numbers
    response = client.post(
        f"/matching/leads/{lead.pk}/act/approve/",
        {"credit_amount_wan": "三十", "rate_percent": "abc", "term_months": "12", "guarantee": "credit"},
    )

    # then nothing is recorded, and the lead page says both errors, naming the fields in Chinese
    assert response.status_code == 400
    said = response.content.decode()
    assert "请修改标出的字段: 授信金额(万元)、年利率(%)" in said
    assert 'id="approve-credit_amount_wan_error"' in said and 'id="approve-rate_percent_error"' in said
    assert 'value="三十"' in said and 'value="abc"' in said
    assert lead.__class__.objects.get(pk=lead.pk).credit_amount is None
