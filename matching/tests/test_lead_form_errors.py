"""Issue 16 item 7: a form shows all its errors at once, each naming its field in Chinese (the
lead page's 授信 form: a wrong amount and a wrong rate are both reported, by their labels)."""

import pytest
from django.contrib.messages import get_messages
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

    # then nothing is recorded, and both errors are said, each with its field's Chinese name
    assert response.status_code == 302
    said = " ".join(str(m) for m in get_messages(response.wsgi_request))
    assert "授信金额" in said and "利率" in said and "请修改后重新提交" in said
    assert lead.__class__.objects.get(pk=lead.pk).credit_amount is None
