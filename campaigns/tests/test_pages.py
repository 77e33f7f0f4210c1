"""大走访 pages for each role: the city opens and starts a campaign, the county builds, imports and
assigns, the visitor records a visit from 我的走访任务, the task force starts a declaration from a
visit that found a need (pre-filled), the exports (seed 004_b2811ebd7ee390f8.txt 二(四))."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from campaigns import services
from campaigns.models import Assignment, Campaign, Target
from matching.models import BASIC_CRITERIA, Visit

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_the_city_opens_and_starts_a_campaign_from_its_pages(world):
    city = _client(world.users["city"])
    form = city.get("/campaigns/new/").content.decode()
    assert "泽州县" in form and "阳城县" in form and "小店区" not in form
    deadline = (timezone.localdate()).isoformat()
    answer = city.post("/campaigns/new/", {"name": "", "deadline": deadline, "counties": ["140525"]})
    assert answer.status_code == 400 and 'data-testid="error-name"' in answer.content.decode()
    answer = city.post("/campaigns/new/", {"name": "冬季走访", "deadline": deadline, "counties": ["140525"]})
    campaign = Campaign.objects.get(name="冬季走访")
    assert answer.status_code == 302
    city.post(f"/campaigns/{campaign.pk}/start/")
    page = city.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "进行中" in page and "距截止(自然日, 含截止当日)" in page and "0 天" in page


def test_the_county_assigns_by_ticking_targets_and_the_visitor_records_a_key_visit(world, cw):
    staff, visitor = _client(world.users["staff"]), _client(cw.users["visitor"])
    listing = staff.get(f"/campaigns/{cw.campaign.pk}/targets/?excluded=1").content.decode()
    assert "非正常经营(登记状态: 吊销未注销)" in listing
    chosen = Target.objects.filter(campaign=cw.campaign, excluded=False).order_by("pk").first()
    answer = staff.post(
        f"/campaigns/{cw.campaign.pk}/targets/", {"visitor_id": cw.users["visitor"].pk, "target_ids": [chosen.pk]}
    )
    assert answer.status_code == 302
    assignment = Assignment.objects.get(target=chosen)
    mine = visitor.get("/campaigns/my-visits/").content.decode()
    assert chosen.entity.name in mine and "待走访" in mine
    data = {
        "visited_on": timezone.localdate().isoformat(),
        "channel": "on_site",
        "people": "刘干事",
        "need_found": "on",
        "need_amount_wan": "30",
        "need_term_months": "12",
        "loan_purpose": "进货",
        **{f"criteria_{key}": "on" for key in BASIC_CRITERIA},
    }
    answer = visitor.post(f"/campaigns/my-visits/{assignment.pk}/", {**data, "visited_on": "2999-01-01"})
    assert answer.status_code == 400 and "走访日期不能晚于今天" in answer.content.decode()
    answer = visitor.post(f"/campaigns/my-visits/{assignment.pk}/", data)
    assert answer.status_code == 302 and answer["Location"] == "/campaigns/my-visits/"
    visit = Visit.objects.get(entity=chosen.entity)
    assert visit.need_amount == 300_000 and visit.recorded_by == cw.users["visitor"]
    # the task force sees the visit waiting for a declaration and opens the form pre-filled
    page = staff.get(f"/campaigns/{cw.campaign.pk}/").content.decode()
    assert f"/matching/declarations/new/?visit={visit.pk}" in page
    form = staff.get(f"/matching/declarations/new/?visit={visit.pk}").content.decode()
    assert 'value="进货"' in form and chosen.entity.uscc in form and f'value="{visit.pk}"' in form


def test_another_visitor_never_sees_an_assignment_not_his(world, cw):
    target = Target.objects.filter(campaign=cw.campaign, excluded=False).first()
    services.assignments_make(
        actor=world.users["staff"],
        campaign_id=cw.campaign.pk,
        visitor_id=cw.users["visitor"].pk,
        target_ids=[target.pk],
    )
    assignment = Assignment.objects.get(target=target)
    other = _client(cw.users["federation_visitor"])
    assert other.get(f"/campaigns/my-visits/{assignment.pk}/").status_code == 404
    assert other.get(f"/campaigns/{cw.campaign.pk}/").status_code == 404
    assert _client(world.users["boc_admin"]).get(f"/campaigns/{cw.campaign.pk}/targets/").status_code == 404


def test_an_import_with_bad_rows_lists_them_in_chinese(world, cw):
    staff = _client(world.users["staff"])
    upload = SimpleUploadedFile("统计名单.csv", "统一社会信用代码\r\nABC\r\n".encode())
    answer = staff.post(
        f"/campaigns/{cw.campaign.pk}/targets/", {"import": "1", "source": "statistics", "file": upload}
    )
    page = answer.content.decode()
    assert answer.status_code == 400 and "第 2 行 ABC: 统一社会信用代码" in page and "其余正确的行已导入" in page


def test_the_exports_are_one_page_wide_and_count_what_the_page_counts(world, cw):
    city = _client(world.users["city"])
    answer = city.get(f"/campaigns/{cw.campaign.pk}/export/coverage.xlsx")
    sheet = load_workbook(io.BytesIO(answer.content))["走访覆盖情况"]
    assert sheet.page_setup.orientation == "landscape" and sheet.sheet_properties.pageSetUpPr.fitToPage
    rows = [[c.value for c in row] for row in sheet.iter_rows(min_row=4)]
    assert rows[0][:3] == ["泽州县", "合计", 3]
    total = next(r for r in rows if r[0] == "总计")
    assert total[2:4] == [3, 0]
    targets = load_workbook(io.BytesIO(city.get(f"/campaigns/{cw.campaign.pk}/export/targets.xlsx").content))
    listed = [[c.value for c in row] for row in targets["走访目标企业清单"].iter_rows(min_row=4)]
    assert any(r[7] == "非正常经营(登记状态: 吊销未注销)" for r in listed)
