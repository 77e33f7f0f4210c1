import pytest

from portal.factories import user_with_role
from portal.models import Region, Role
from portal.services import ApplicationError
from portal.tenancy import restrict
from products.models import Bank, BranchLevel, BranchRoute, LoanProduct, LoanProductVersion, ProductStatus
from products.selectors import branch_for
from products.services import catalog_load, product_edit, product_publish, product_retire

pytestmark = pytest.mark.django_db

SHANXI_CITIES = {
    "140100",
    "140200",
    "140300",
    "140400",
    "140500",
    "140600",
    "140700",
    "140800",
    "140900",
    "141000",
    "141100",
}


def test_load_catalog_ships_five_banks_each_with_a_provincial_branch_and_one_branch_per_city(catalogue):
    assert set(Bank.objects.values_list("code", flat=True)) == {"sxrcc", "boc", "shanxibank", "jshb", "ccb"}
    for bank in Bank.objects.all():
        assert bank.branches.filter(level=BranchLevel.PROVINCIAL).count() == 1
        assert set(bank.branches.filter(level=BranchLevel.CITY).values_list("region_id", flat=True)) == SHANXI_CITIES


def test_load_catalog_is_idempotent(catalogue):
    versions = LoanProductVersion.objects.count()
    # when it runs a second time
    counts = catalog_load()
    # then nothing changes
    assert counts["versions_created"] == 0 and counts["products_created"] == 0 and counts["banks_created"] == 0
    assert LoanProductVersion.objects.count() == versions


def test_every_product_of_the_seeds_is_active_with_a_published_version(catalogue):
    codes = set(LoanProduct.objects.values_list("code", flat=True))
    assert {"huishangdai", "ccb-precredit", "jinxiangdai", "mashangdai", "shui-e-dai"} <= codes
    for product in LoanProduct.objects.filter(status=ProductStatus.ACTIVE):
        assert product.current_version.is_published and product.current_version.number == 1


def test_routing_picks_the_deepest_branch_serving_the_county_and_an_explicit_route_wins(catalogue):
    boc = Bank.objects.get(code="boc")
    # given only city branches, a Zezhou entity goes to the Jincheng branch
    assert branch_for(bank=boc, county_code="140525").region_id == "140500"
    # given an explicit route to the provincial branch, that wins
    provincial = boc.branches.get(level=BranchLevel.PROVINCIAL)
    BranchRoute.objects.create(bank=boc, county=Region.objects.get(code="140525"), branch=provincial)
    assert branch_for(bank=boc, county_code="140525") == provincial
    # and a county outside every service area has no branch
    assert branch_for(bank=boc, county_code="411502") is None


def test_editing_an_active_product_creates_a_new_version_published_separately(catalogue):
    # given the active 惠商贷 v1 and its bank's administrator
    product = LoanProduct.objects.get(code="huishangdai")
    admin = user_with_role(Role.BANK_ADMIN, organisation=product.bank.organisation)
    definition = dict(product.current_version.definition, max_amount=900000)
    # when he edits it
    draft = product_edit(
        actor=admin, product=product, definition=definition, effective_from=product.current_version.effective_from
    )
    product.refresh_from_db()
    # then v1 stays current until v2 is published
    assert draft.number == 2 and not draft.is_published and product.current_version.number == 1
    published = product_publish(actor=admin, product=product)
    product.refresh_from_db()
    assert product.current_version == published and published.max_amount == 900000
    assert product.versions.get(number=1).definition["max_amount"] == 1000000


def test_an_invalid_rule_is_refused_with_a_chinese_message_naming_the_node(catalogue):
    product = LoanProduct.objects.get(code="huishangdai")
    definition = dict(
        product.current_version.definition, rules={"all": [{"field": "no_such_field", "op": ">=", "value": 1}]}
    )
    with pytest.raises(ApplicationError) as error:
        product_edit(
            actor=None, product=product, definition=definition, effective_from=product.current_version.effective_from
        )
    assert "all[0]" in error.value.message and "no_such_field" in error.value.message


def test_retired_products_are_hidden_from_other_banks_but_visible_to_their_own(catalogue):
    product = LoanProduct.objects.get(code="mashangdai")
    product_retire(actor=None, product=product)
    own_admin = user_with_role(Role.BANK_ADMIN, organisation=product.bank.organisation)
    other = user_with_role(Role.ENTERPRISE_USER)
    assert restrict(LoanProduct.objects.all(), own_admin).filter(code="mashangdai").exists()
    assert not restrict(LoanProduct.objects.all(), other).filter(code="mashangdai").exists()


def test_only_the_banks_own_administrator_may_change_its_products(catalogue):
    boc_admin = user_with_role(Role.BANK_ADMIN, organisation=Bank.objects.get(code="boc").organisation)
    changeable = set(restrict(LoanProduct.objects.all(), boc_admin, "change").values_list("bank__code", flat=True))
    assert changeable == {"boc"}
    staff = user_with_role(Role.TASK_FORCE_STAFF)
    assert not restrict(LoanProduct.objects.all(), staff, "change").exists()
