"""Out-of-range numbers in query strings and forms are bad input, never a 500."""

import pytest
from django.test import Client

from entities.models import Honor
from portal.factories import user_with_role
from portal.models import Role
from products.models import LoanProduct

pytestmark = pytest.mark.django_db
BATCH_ENTITIES = 200

HUGE = "9" * 25


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_huge_numbers_in_the_matching_pages_are_ignored_not_a_500(matched):
    # given a full run, a task force and a branch
    world, run = matched
    staff, bank = client_for(world.users["staff"]), client_for(world.users["boc_admin"])
    product = LoanProduct.objects.get(code="yanshang-e-dai")
    # when they send numbers beyond any column's range
    responses = [
        staff.get(f"/matching-batch/near-misses/?after={HUGE}.{HUGE}"),
        staff.get(f"/matching-batch/near-misses/?product={HUGE}&county=140525"),
        bank.get(f"/matching-batch/potential-customers/?product={product.pk}&after={HUGE}.{HUGE}"),
        bank.get(f"/matching-batch/potential-customers/?product={HUGE}"),
        bank.get(f"/matching-batch/potential-customers/?product={product.pk}&min_amount={HUGE}"),
    ]
    # then each page answers, as for an unknown value
    assert [r.status_code for r in responses] == [200] * len(responses)


def test_revoking_an_honour_with_a_huge_id_is_told_it_does_not_exist(matched):
    world, run = matched
    entity = world.special["model"]
    Honor.objects.create(entity=entity, kind="quality", valid_until="2030-01-01", source="regulator")
    province = user_with_role(Role.PROVINCE_REGULATOR)  # 名特优新 is revoked by the province
    response = client_for(province).post(f"/entities/{entity.pk}/honors/revoke/", {"honor": HUGE, "reason": "认定有误"})
    assert response.status_code == 404 and "该称号不存在或已被撤销" in response.content.decode()
    assert Honor.objects.filter(entity=entity).count() == 1
