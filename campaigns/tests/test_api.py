"""大走访 API: the city opens and starts a campaign, the county builds, imports and assigns, the visitor
lists his tasks and records a visit through /api/v1/visits/; bad input never 500s."""

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from rest_framework.test import APIClient

from campaigns.models import Target
from portal.factories import user_with_role
from portal.models import Role

pytestmark = pytest.mark.django_db


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_whole_campaign_through_the_api(world, cw):
    city, staff, visitor = api(world.users["city"]), api(world.users["staff"]), api(cw.users["visitor"])
    deadline = (timezone.localdate() + dt.timedelta(days=10)).isoformat()
    created = city.post(
        "/api/v1/campaigns/", {"name": "第二轮走访", "deadline": deadline, "county_codes": ["140525"]}, format="json"
    )
    assert created.status_code == 201 and created.json()["state"] == "draft"
    pk = created.json()["id"]
    assert city.post(f"/api/v1/campaigns/{pk}/start/").json()["days_left"] == 10
    built = staff.post(f"/api/v1/campaigns/{pk}/build-targets/").json()
    assert built["added"] >= 4 and built["excluded"] >= 1
    targets = staff.get(f"/api/v1/campaigns/{pk}/targets/").json()["results"]
    chosen = [t["id"] for t in targets if not t["excluded"]][:2]
    assigned = staff.post(
        f"/api/v1/campaigns/{pk}/assign/", {"visitor_id": cw.users["visitor"].pk, "target_ids": chosen}, format="json"
    )
    assert assigned.status_code == 200 and len(assigned.json()) == 2
    tasks = visitor.get("/api/v1/visit-tasks/").json()["results"]
    entity_id = next(t["entity_id"] for t in tasks if t["campaign_id"] == pk)
    visited = visitor.post(
        "/api/v1/visits/",
        {
            "entity_id": entity_id,
            "visited_on": timezone.localdate().isoformat(),
            "people": "刘干事",
            "channel": "phone",
        },
        format="json",
    )
    assert visited.status_code == 201 and visited.json()["channel"] == "phone"
    figures = city.get(f"/api/v1/campaigns/{pk}/coverage/").json()
    assert figures["total"]["visited"] == 1 and figures["by_county"][0]["key"] == "140525"


def test_import_reports_bad_rows_and_refuses_bad_files_without_500(world, cw):
    staff = api(world.users["staff"])
    good = Target.objects.filter(campaign=cw.campaign).first().entity.uscc
    content = f"统一社会信用代码\r\n{good}\r\n123\r\n".encode()
    answer = staff.post(
        f"/api/v1/campaigns/{cw.campaign.pk}/import-targets/",
        {"file": SimpleUploadedFile("tax.csv", content), "source": "tax"},
        format="multipart",
    )
    assert answer.status_code == 200
    assert answer.json()["already"] == 1 and answer.json()["errors"][0]["line"] == 3
    broken = staff.post(
        f"/api/v1/campaigns/{cw.campaign.pk}/import-targets/",
        {"file": SimpleUploadedFile("x.xlsx", b"PK\x03\x04broken"), "source": "statistics"},
        format="multipart",
    )
    assert broken.status_code == 400 and broken.json()["message"].startswith("无法读取文件")


def test_foreign_ids_in_bodies_are_not_found(world, cw):
    """Another county's visitor, a target of another campaign, a path id of a campaign not covering
    the county: not found, never a 500."""
    far = user_with_role(Role.VISITOR, region_code="140522")
    staff = api(world.users["staff"])
    target = Target.objects.filter(campaign=cw.campaign, excluded=False).first()
    answer = staff.post(
        f"/api/v1/campaigns/{cw.campaign.pk}/assign/", {"visitor_id": far.pk, "target_ids": [target.pk]}, format="json"
    )
    assert answer.status_code == 404
    answer = staff.post(
        f"/api/v1/campaigns/{cw.campaign.pk}/assign/",
        {"visitor_id": cw.users["visitor"].pk, "target_ids": [999999]},
        format="json",
    )
    assert answer.status_code == 404
    other_county = api(user_with_role(Role.TASK_FORCE_STAFF, region_code="140522"))
    assert other_county.post(f"/api/v1/campaigns/{cw.campaign.pk}/build-targets/").status_code == 404
    assert (
        api(far)
        .post(
            "/api/v1/visits/",
            {"entity_id": target.entity_id, "visited_on": timezone.localdate().isoformat(), "people": "x"},
            format="json",
        )
        .status_code
        == 404
    )
