"""Organisation writes across the tenant boundary (issue 13, finding 4): creating a branch
never matches an existing organisation; a bank administrator writes branches and
memberships only inside his own subtree; products only a head-office (行级) administrator;
moving a branch rewrites every descendant's path, so every restriction follows the move.
The API and the pages go through the same services."""

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from matching.factories import pushed
from matching.models import Recommendation
from portal.factories import UserFactory, region, user_with_role
from portal.models import AuditEvent, Membership, Organisation, Role
from portal.services import ApplicationError, membership_grant
from portal.tenancy import CHANGE, VIEW, restrict
from products.factories import build_world
from products.models import Bank, BankBranch, BranchLevel, LoanProduct
from products.services import branch_ensure, catalog_load, product_create
from reporting import facts
from reporting.models import LedgerFact

pytestmark = pytest.mark.django_db


@pytest.fixture
def boc():
    catalog_load()
    return Bank.objects.get(code="boc")


def city_branch(bank, code) -> BankBranch:
    return BankBranch.objects.select_related("organisation").get(bank=bank, level=BranchLevel.CITY, region_id=code)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def fresh(user):
    # a user as the next request loads him (his scope is read anew)
    return type(user).objects.get(pk=user.pk)


def org_row(org: Organisation) -> dict:
    return (
        Organisation.objects.filter(pk=org.pk)
        .values("name", "kind", "code", "parent_id", "path", "region_id", "is_active")
        .get()
    )


def branch_row(branch: BankBranch) -> dict:
    return (
        BankBranch.objects.filter(pk=branch.pk)
        .values("name", "parent_id", "level", "region_id", "organisation_id", "bank_id")
        .get()
    )


def counts() -> tuple[int, int, int]:
    return (
        Organisation.objects.count(),
        BankBranch.objects.count(),
        AuditEvent.objects.filter(action="branch.create").count(),
    )


# --- creating never matches an existing organisation ------------------------------------------


def test_a_city_branch_admin_cannot_take_over_the_taiyuan_branch_by_its_code(boc):
    # given the 晋城 city branch's administrator and the 太原 branch of the same bank
    jincheng, taiyuan = city_branch(boc, "140500"), city_branch(boc, "140100")
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)
    org_before, branch_before, before = org_row(taiyuan.organisation), branch_row(taiyuan), counts()

    # when he posts a branch below his own with the 太原 branch's organisation code
    response = api(admin).post(
        "/api/v1/branches/",
        {
            "parent": jincheng.pk,
            "name": "晋城市分行接管",
            "level": "county",
            "region_code": "140525",
            "service_prefixes": ["140525"],
            "code": taiyuan.organisation.code,
        },
        format="json",
    )

    # then it is a Chinese field error on the code, and nothing is written
    assert response.status_code == 400, response.content
    assert "code" in response.json()["errors"] and "已被使用" in response.json()["message"]
    assert org_row(taiyuan.organisation) == org_before and branch_row(taiyuan) == branch_before
    assert counts() == before


def test_the_old_takeover_request_changes_nothing(boc):
    # given the 晋城 administrator and the request that used to re-parent 太原 under him
    # (the code derived from bank, region and level was the 太原 branch's)
    jincheng, taiyuan = city_branch(boc, "140500"), city_branch(boc, "140100")
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)
    org_before, branch_before, before = org_row(taiyuan.organisation), branch_row(taiyuan), counts()

    # when he sends it
    response = api(admin).post(
        "/api/v1/branches/",
        {
            "parent": jincheng.pk,
            "name": "太原市分行(已归晋城)",
            "level": "city",
            "region_code": "140100",
            "service_prefixes": ["1401"],
        },
        format="json",
    )

    # then it is refused and the 太原 rows are unchanged; he cannot read 太原's organisation
    assert response.status_code == 400
    assert org_row(taiyuan.organisation) == org_before and branch_row(taiyuan) == branch_before
    assert counts() == before
    assert not restrict(Organisation.objects.all(), fresh(admin), VIEW).filter(pk=taiyuan.organisation_id).exists()


def test_a_head_office_admin_creating_a_branch_with_a_used_code_gets_a_field_error(boc):
    # given a head-office administrator and the 太原 branch
    provincial, taiyuan = boc.branches.get(level=BranchLevel.PROVINCIAL), city_branch(boc, "140100")
    head = user_with_role(Role.BANK_ADMIN, organisation=boc.organisation)
    org_before, before = org_row(taiyuan.organisation), counts()

    # when he creates a city branch in 太原 without a code (the derived code is 太原's)
    response = api(head).post(
        "/api/v1/branches/",
        {
            "parent": provincial.pk,
            "name": "中国银行太原第二分行",
            "level": "city",
            "region_code": "140100",
            "service_prefixes": ["1401"],
        },
        format="json",
    )

    # then the code is a field error naming it, and nothing is written
    assert response.status_code == 400 and response.json()["errors"]["code"] == [
        f"机构代码 {taiyuan.organisation.code} 已被使用, 请填写其他机构代码"
    ]
    assert org_row(taiyuan.organisation) == org_before and counts() == before

    # when he gives a new code, a new organisation is created below the provincial branch
    created = api(head).post(
        "/api/v1/branches/",
        {
            "parent": provincial.pk,
            "name": "中国银行太原第二分行",
            "level": "city",
            "region_code": "140100",
            "service_prefixes": ["1401"],
            "code": "boc-taiyuan-2",
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    org = Organisation.objects.get(code="boc-taiyuan-2")
    assert org.parent_id == boc.organisation_id and org.path == f"{boc.organisation.path}{org.pk}/"
    assert org_row(taiyuan.organisation) == org_before


# --- a bank administrator writes only his own subtree ---------------------------------------------


def test_a_bank_admin_naming_a_parent_outside_his_subtree_is_refused_like_an_unknown_id(boc):
    # given the 晋城 administrator, the 太原 branch and his own parent (the provincial branch)
    jincheng, taiyuan = city_branch(boc, "140500"), city_branch(boc, "140100")
    provincial = boc.branches.get(level=BranchLevel.PROVINCIAL)
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)
    before = counts()

    def create_below(parent_id):
        return api(admin).post(
            "/api/v1/branches/",
            {
                "parent": parent_id,
                "name": "中国银行某支行",
                "level": "county",
                "region_code": "140525",
                "service_prefixes": ["140525"],
                "code": f"boc-test-{parent_id}",
            },
            format="json",
        )

    # when he creates a branch below each of them, and below an id that does not exist
    unknown = create_below(BankBranch.objects.order_by("-pk").first().pk + 1000)
    outside = [create_below(taiyuan.pk), create_below(provincial.pk)]

    # then each is answered like the unknown id, and nothing is written
    assert [r.status_code for r in outside] == [404, 404]
    assert all(r.json() == unknown.json() for r in outside)
    assert unknown.status_code == 404 and set(unknown.json()["errors"]) == {"parent"}
    assert counts() == before


def test_a_bank_admin_creates_branches_inside_his_subtree_region_and_service_area_only(boc):
    # given the 晋城 administrator
    jincheng = city_branch(boc, "140500")
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)

    def create(**changes):
        return api(admin).post(
            "/api/v1/branches/",
            {
                "parent": jincheng.pk,
                "name": "中国银行泽州支行",
                "level": "county",
                "region_code": "140525",
                "service_prefixes": ["140525"],
                **changes,
            },
            format="json",
        )

    before = counts()
    # when the branch would serve or sit in 太原, or sit at his own level, it is refused
    refused = {
        "service_prefixes": create(service_prefixes=["140105"], code="boc-t1"),
        "region_code": create(region_code="140105", code="boc-t2"),
        "level": create(level="city", code="boc-t3"),
    }
    assert {field: r.status_code for field, r in refused.items()} == dict.fromkeys(refused, 400)
    assert all(field in r.json()["errors"] for field, r in refused.items())
    assert counts() == before

    # when it lies inside his branch, it is created below it
    response = create()
    assert response.status_code == 201, response.content
    branch = BankBranch.objects.select_related("organisation").get(pk=response.json()["id"])
    assert branch.parent == jincheng and branch.organisation.parent_id == jincheng.organisation_id
    assert branch.organisation.path == f"{jincheng.organisation.path}{branch.organisation_id}/"
    assert AuditEvent.objects.filter(action="branch.create", object_id=str(branch.pk), actor=admin).exists()


def test_a_bank_admin_grants_memberships_only_inside_his_subtree(boc):
    # given the 晋城 administrator, and an administrator of the 太原 branch
    jincheng, taiyuan = city_branch(boc, "140500"), city_branch(boc, "140100")
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)
    taiyuan_admin = user_with_role(Role.BANK_ADMIN, organisation=taiyuan.organisation)
    memberships_before = list(
        Membership.objects.order_by("pk").values("user_id", "organisation_id", "role", "is_primary")
    )

    # when he grants a role in the 太原 branch, or takes the 太原 user into his own branch
    with pytest.raises(ApplicationError) as foreign_org:
        membership_grant(actor=admin, user=UserFactory(), organisation=taiyuan.organisation, role=Role.BANK_ADMIN)
    with pytest.raises(ApplicationError) as foreign_user:
        membership_grant(actor=admin, user=taiyuan_admin, organisation=jincheng.organisation, role=Role.BANK_ADMIN)

    # then both are refused as not found and no membership changed
    assert foreign_org.value.code == foreign_user.value.code == "not_found"
    assert (
        list(Membership.objects.order_by("pk").values("user_id", "organisation_id", "role", "is_primary"))
        == memberships_before
    )

    # when he grants a new user a role in his own branch, it is done
    newcomer = UserFactory()
    membership_grant(actor=admin, user=newcomer, organisation=jincheng.organisation, role=Role.BANK_ADMIN)
    assert Membership.objects.filter(user=newcomer, organisation=jincheng.organisation, is_primary=True).exists()


# --- products only for head-office administrators -------------------------------------------------


def test_a_branch_admin_cannot_create_or_change_products_through_the_api_the_service_or_the_pages(boc):
    # given the 晋城 administrator of the bank that owns 惠商贷
    jincheng = city_branch(boc, "140500")
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)
    template = LoanProduct.objects.get(code="huishangdai").current_version.definition
    product_rows = list(LoanProduct.objects.order_by("pk").values("code", "status", "current_version_id", "name"))

    # when he creates, edits, publishes or retires a product through the API
    client = api(admin)
    created = client.post(
        "/api/v1/products/", {"code": "boc-branch-dai", "definition": {**template, "name": "分行贷"}}, format="json"
    )
    edited = client.put("/api/v1/products/huishangdai/", {"definition": {**template, "max_amount": 1}}, format="json")
    retired = client.post("/api/v1/products/huishangdai/retire/")

    # then each is refused
    assert created.status_code == 403 and "行级" in created.json()["message"]
    assert edited.status_code == 403 and retired.status_code == 403
    # and through the service too
    with pytest.raises(ApplicationError) as refused:
        product_create(
            actor=admin, code="boc-branch-dai", definition={**template, "name": "分行贷"}, effective_from=None
        )
    assert refused.value.code == "permission_denied"

    # and the pages: his product list is empty with a note, the editor and actions are 404
    page = Client()
    page.force_login(admin)
    listing = page.get(reverse("products:bank_products"))
    assert listing.status_code == 200 and "huishangdai" not in listing.content.decode()
    assert "行级(省分行)管理员维护" in listing.content.decode()
    assert page.get(reverse("products:bank_product_detail", args=["huishangdai"])).status_code == 404
    assert page.post(reverse("products:bank_product_retire", args=["huishangdai"])).status_code == 404

    # and nothing changed
    assert (
        list(LoanProduct.objects.order_by("pk").values("code", "status", "current_version_id", "name")) == product_rows
    )

    # while the head-office administrator of the same bank may
    head = user_with_role(Role.BANK_ADMIN, organisation=boc.organisation)
    assert (
        api(head)
        .post(
            "/api/v1/products/", {"code": "boc-head-dai", "definition": {**template, "name": "总行贷"}}, format="json"
        )
        .status_code
        == 201
    )


# --- moving a subtree ---------------------------------------------------------------------------


def test_moving_a_branch_rewrites_every_descendants_path_and_restriction():
    # given the 泽州 sub-branch below the 晋城 city branch, an outlet below it with an account
    # manager, a lead pushed to 泽州 (with its statistics row), and administrators of the
    # 晋城 branch, of the 泽州 branch and of the head office
    world = build_world()
    boc = Bank.objects.get(code="boc")
    zezhou = world.branches["boc"]
    provincial = boc.branches.get(level=BranchLevel.PROVINCIAL)
    head = user_with_role(Role.BANK_ADMIN, organisation=boc.organisation)
    outlet = branch_ensure(
        bank=boc,
        parent=zezhou,
        region=region("140525"),
        name="中国银行巴公网点",
        level=BranchLevel.OUTLET,
        service_prefixes=["140525"],
    )
    outlet_manager = user_with_role(Role.ACCOUNT_MANAGER, organisation=outlet.organisation)
    zezhou_admin = user_with_role(Role.BANK_ADMIN, organisation=zezhou.organisation)
    _, _, recs = pushed(world, banks=("boc",))
    lead = recs["boc"]
    facts.sync(full=True)
    subtree = [zezhou.organisation_id, outlet.organisation_id]
    memberships = list(Membership.objects.filter(organisation_id__in=subtree).values_list("pk", flat=True))

    def sees(user) -> dict[str, bool]:
        user = fresh(user)
        return {
            "organisations": set(
                restrict(Organisation.objects.filter(pk__in=subtree), user, VIEW).values_list("pk", flat=True)
            )
            == set(subtree),
            "branches": restrict(BankBranch.objects.filter(pk__in=[zezhou.pk, outlet.pk]), user, CHANGE).count() == 2,
            "memberships": restrict(Membership.objects.filter(pk__in=memberships), user, CHANGE).count()
            == len(memberships),
            "lead": restrict(Recommendation.objects.filter(pk=lead.pk), user, VIEW).exists(),
            "statistics": restrict(LedgerFact.objects.filter(recommendation_id=lead.pk), user, VIEW).exists(),
        }

    everything, nothing = dict.fromkeys(sees(head), True), dict.fromkeys(sees(head), False)
    assert sees(world.users["boc_admin"]) == everything and sees(head) == everything

    # when the head office moves the 泽州 sub-branch from 晋城 to directly below the provincial branch
    response = api(head).post(f"/api/v1/branches/{zezhou.pk}/move/", {"parent": provincial.pk}, format="json")

    # then the branch and its organisation have the new parent
    assert response.status_code == 200, response.content
    zezhou.refresh_from_db()
    assert zezhou.parent_id == provincial.pk
    moved = Organisation.objects.get(pk=zezhou.organisation_id)
    assert moved.parent_id == provincial.organisation_id and moved.path == f"{provincial.organisation.path}{moved.pk}/"
    # and every descendant's path follows its parent's
    for org in Organisation.objects.filter(path__startswith=moved.path).select_related("parent"):
        assert org.path == f"{org.parent.path}{org.pk}/", org.name
    assert Organisation.objects.get(pk=outlet.organisation_id).path == f"{moved.path}{outlet.organisation_id}/"
    # and the statistics row carries the new path
    assert LedgerFact.objects.get(recommendation_id=lead.pk).branch_path == moved.path
    # and every restriction follows: 晋城 no longer reaches the subtree; the head office and
    # the 泽州 administrator still do; the outlet's manager is still inside 泽州
    assert sees(world.users["boc_admin"]) == nothing
    assert sees(head) == everything and sees(zezhou_admin) == everything
    assert fresh(outlet_manager).memberships.get().organisation.path.startswith(moved.path)
    assert AuditEvent.objects.filter(action="branch.move", object_id=str(zezhou.pk), actor=head).exists()


def test_a_branch_admin_cannot_move_branches_out_of_or_into_his_subtree(boc):
    # given the 晋城 administrator, a county branch below him and the 太原 branch
    jincheng, taiyuan = city_branch(boc, "140500"), city_branch(boc, "140100")
    provincial = boc.branches.get(level=BranchLevel.PROVINCIAL)
    admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)
    head = user_with_role(Role.BANK_ADMIN, organisation=boc.organisation)
    county = branch_ensure(
        bank=boc,
        parent=jincheng,
        region=region("140525"),
        name="中国银行泽州支行",
        level=BranchLevel.COUNTY,
        service_prefixes=["140525"],
    )
    rows = {b.pk: branch_row(b) for b in (jincheng, taiyuan, county)}
    orgs = {b.pk: org_row(b.organisation) for b in (jincheng, taiyuan, county)}

    # when he moves his county branch below 太原, 太原 below himself, or himself below the province
    answers = [
        api(admin).post(f"/api/v1/branches/{county.pk}/move/", {"parent": taiyuan.pk}, format="json"),
        api(admin).post(f"/api/v1/branches/{taiyuan.pk}/move/", {"parent": jincheng.pk}, format="json"),
        api(admin).post(f"/api/v1/branches/{jincheng.pk}/move/", {"parent": provincial.pk}, format="json"),
    ]
    # and the head office moves 晋城 below its own county branch (a cycle)
    cycle = api(head).post(f"/api/v1/branches/{jincheng.pk}/move/", {"parent": county.pk}, format="json")

    # then every one is refused and nothing moved
    assert [r.status_code for r in answers] == [404, 404, 404]
    assert cycle.status_code == 400 and "parent" in cycle.json()["errors"]
    assert {b.pk: branch_row(b) for b in (jincheng, taiyuan, county)} == rows
    assert {b.pk: org_row(b.organisation) for b in (jincheng, taiyuan, county)} == orgs


def test_re_parenting_an_organisation_by_any_path_rewrites_its_descendants_paths(boc):
    # given the 晋城 city branch with a county branch and an outlet below it, and the 长治 branch
    jincheng, changzhi = city_branch(boc, "140500"), city_branch(boc, "140400")
    county = branch_ensure(
        bank=boc,
        parent=jincheng,
        region=region("140525"),
        name="中国银行泽州支行",
        level=BranchLevel.COUNTY,
        service_prefixes=["140525"],
    )
    outlet = branch_ensure(
        bank=boc,
        parent=county,
        region=region("140525"),
        name="中国银行巴公网点",
        level=BranchLevel.OUTLET,
        service_prefixes=["140525"],
    )
    changzhi_admin = user_with_role(Role.BANK_ADMIN, organisation=changzhi.organisation)
    jincheng_admin = user_with_role(Role.BANK_ADMIN, organisation=jincheng.organisation)

    # when the county branch's organisation is saved with a new parent (as the seed loader or
    # the admin site would), from an instance loaded before
    org = Organisation.objects.get(pk=county.organisation_id)
    org.parent = Organisation.objects.get(pk=changzhi.organisation_id)
    org.save()

    # then its path and every descendant's path follow in the same save
    org.refresh_from_db()
    assert org.path == f"{changzhi.organisation.path}{org.pk}/"
    assert Organisation.objects.get(pk=outlet.organisation_id).path == f"{org.path}{outlet.organisation_id}/"
    # and the subtree restriction follows: 长治 reaches both, 晋城 neither
    subtree = {county.organisation_id, outlet.organisation_id}
    assert (
        set(
            restrict(Organisation.objects.filter(pk__in=subtree), fresh(changzhi_admin), CHANGE).values_list(
                "pk", flat=True
            )
        )
        == subtree
    )
    assert not restrict(Organisation.objects.filter(pk__in=subtree), fresh(jincheng_admin), CHANGE).exists()

    # and saving it under its own descendant is refused
    org.parent = Organisation.objects.get(pk=outlet.organisation_id)
    with pytest.raises(ValueError):
        org.save()
    assert Organisation.objects.get(pk=org.pk).parent_id == changzhi.organisation_id
