"""Issue 16 items 8 and 10 (reviewers and task forces), server side: the review page shows the
entity as its own page does, 申报清单 exports to xlsx within the exporter's region, 批量申报's
error report is an xlsx file for its uploader only, and the batch preview shows each
recommendation's branch before the push."""

from __future__ import annotations

import datetime as dt
import io
import re
from urllib.parse import unquote

import pytest
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import load_workbook

from entities.models import CreditRepair, FinancialYear, Honor, MarketEntity
from matching import services as s
from matching.declaration_import import AMOUNT, BANK1, CONSENT, CRITERIA, PURPOSE, TERM, USCC, error_report_keep
from matching.factories import declare, import_file, through_reviews
from matching.models import Declaration
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from products.models import BankBranch, BranchRoute, BranchServiceArea

pytestmark = pytest.mark.django_db


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _profiled_entity(world):
    """An entity with a 三型 mark and an estimate, a valid 名特优新, a credit repair and two years of financials."""
    entity, user = world.entity("泽州县审核展示小吃店")
    MarketEntity.objects.filter(pk=entity.pk).update(
        tier="growth", tier_mark_source="晋城市市场监管局", tier_marked_on=dt.date(2026, 3, 1), tier_computed="survival"
    )
    Honor.objects.create(
        entity=entity, kind="distinctive", valid_from=dt.date(2025, 1, 1), valid_until=dt.date(2028, 12, 31)
    )
    CreditRepair.objects.create(
        entity=entity, item="行政处罚信用修复", repaired_on=dt.date(2025, 6, 1), repaired_by="泽州县市场监管局"
    )
    FinancialYear.objects.create(
        entity=entity, year=2024, annual_revenue=800_000, total_assets=500_000, net_assets=300_000
    )
    FinancialYear.objects.create(
        entity=entity, year=2025, annual_revenue=1_200_000, total_assets=700_000, net_assets=450_000
    )
    entity.refresh_from_db()
    return entity, user


def test_审核页面展示主体的登记信息_三型标记与预估_名特优新_信用修复与年度财务(world):
    """Issue 16 item 8: "The review page shows the entity: register facts, 三型 mark and estimate,
    名特优新, credit flags and repairs, yearly financials, with a link to the entity page." """
    # given a submitted declaration of an entity with a mark, an estimate, an honor, a repair and financials
    entity, user = _profiled_entity(world)
    declaration = declare(world, entity, user)
    # when the task-force staff member opens its review page
    html = _client(world.users["staff"]).get(f"/matching/declarations/{declaration.pk}/").content.decode()
    # then the entity's profile is there, from the entity page's own templates
    profile = html[html.index('data-testid="entity-profile"') :]
    assert f'href="/entities/{entity.pk}/"' in profile
    assert "登记信息" in profile and "2020-05-01" in profile  # register facts
    assert "成长型" in profile and "晋城市市场监管局, 2026-03-01" in profile  # the mark, its source and date
    assert "生存型(预估)" in profile  # the estimate, shown as such
    assert "特色" in profile and "2028-12-31" in profile  # 名特优新 with validity
    assert "行政处罚信用修复" in profile and 'data-testid="credit-table"' in profile  # credit flags and repairs
    # and the yearly financials newest first
    assert profile.index(">2025") < profile.index(">2024")
    # and the entity's own page shows the same sections (one source)
    page = _client(world.users["staff"]).get(f"/entities/{entity.pk}/").content.decode()
    assert "晋城市市场监管局, 2026-03-01" in page and "行政处罚信用修复" in page


def test_企业用户的申报页面不重复展示主体概况(world):
    # given the enterprise's own declaration
    entity, user = _profiled_entity(world)
    declaration = declare(world, entity, user)
    # when the enterprise opens it, then its page links nothing it has elsewhere (我的企业)
    html = _client(user).get(f"/matching/declarations/{declaration.pk}/").content.decode()
    assert 'data-testid="entity-profile"' not in html


def test_申报清单导出为_xlsx_按本辖区_文件名为中文(world, other_county):
    """Issue 16 item 10: "申报清单 exports to xlsx"; another county's user cannot export them."""
    # given a 泽州 declaration and one of 新荣区 (other_county)
    entity, user = world.entity("泽州县导出测试店")
    declare(world, entity, user)
    # when the 泽州 staff exports 申报清单
    response = _client(world.users["staff"]).get("/matching/declarations/export.xlsx")
    # then an xlsx named 申报清单_YYYYMMDD.xlsx holds 泽州's declaration and not 新荣区's
    assert response.status_code == 200
    name = unquote(response["Content-Disposition"].split("UTF-8''", 1)[1])
    assert re.fullmatch(r"申报清单_\d{8}\.xlsx", name)
    sheet = load_workbook(io.BytesIO(response.content))["申报清单"]
    values = [c for row in sheet.iter_rows(values_only=True) for c in row if c is not None]
    assert "泽州县导出测试店" in values and other_county.entity.name not in values
    assert any(str(v).startswith("填表人") for v in values)
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.print_title_rows == "$3:$3"
    # and the export is audited with its row count
    event = AuditEvent.objects.get(action="declaration.export")
    assert event.after["rows"] == 1 and event.after["personal_data"] is True
    # when the other county's staff exports, then he gets his county's only
    other_staff = get_user_model().objects.get(username="other-staff")
    other = _client(other_staff).get("/matching/declarations/export.xlsx")
    assert other_county.entity.name in str(other.content) or other.status_code == 200
    other_values = [
        c for row in load_workbook(io.BytesIO(other.content)).active.iter_rows(values_only=True) for c in row
    ]
    assert "泽州县导出测试店" not in other_values


def test_银行用户导出申报清单得到空表(world, pushed_world):
    # given a declaration pushed to 中国银行 (its administrator sees it on its leads)
    # when the bank administrator asks for the 申报清单 export
    response = _client(world.users["boc_admin"]).get("/matching/declarations/export.xlsx")
    # then nothing is exported (restrict(Declaration, EXPORT) gives banks nothing)
    values = [c for row in load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True) for c in row]
    assert pushed_world.declaration.entity.name not in values


def test_批量申报的错误报告为_xlsx_并链接已导入的申报(world):
    """Issue 16 item 10: "批量申报 offers its error report as xlsx and links to the declarations it created"."""
    # given a file with one good row and one bad row
    good, _ = world.entity("泽州县批量导入好店")
    good_row = {
        USCC: good.uscc,
        AMOUNT: "30",
        TERM: "12",
        PURPOSE: "进货",
        BANK1: "中国银行",
        CRITERIA: "是",
        CONSENT: "是",
    }
    content = import_file([good_row, {**good_row, USCC: "91140525MA0000000X"}])
    # when the task-force staff member uploads it
    html = (
        _client(world.users["staff"])
        .post("/matching/declarations/import/", {"file": SimpleUploadedFile("走访.xlsx", content)})
        .content.decode()
    )
    staff = _client(world.users["staff"])
    # then the created declaration is linked
    created = Declaration.objects.get(entity=good)
    assert f'href="/matching/declarations/{created.pk}/"' in html
    # and the error report downloads as xlsx with the refused line
    token = re.search(r'href="\?errors=([\w-]+)"', html).group(1)
    response = staff.get(f"/matching/declarations/import/?errors={token}")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/vnd.openxml")
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert any(row[0] == 3 for row in rows)
    # and another user holding the token finds nothing
    colleague = user_with_role(Role.TASK_FORCE_STAFF, organisation=world.task_force, username="wf-staff-2")
    assert _client(colleague).get(f"/matching/declarations/import/?errors={token}").status_code == 404


def test_错误报告只属于上传者(world):
    token = error_report_keep(
        actor=world.users["staff"], errors=[{"line": 2, "column": None, "message": "x"}], file_name="a.xlsx"
    )
    colleague = user_with_role(Role.TASK_FORCE_STAFF, organisation=world.task_force, username="wf-staff-3")
    assert _client(colleague).get(f"/matching/declarations/import/?errors={token}").status_code == 404
    assert _client(world.users["staff"]).get("/matching/declarations/import/?errors=nope").status_code == 404


def _signed_off(world, banks=("boc", "ccb")):
    entity, user = world.entity("泽州县推送预览店")
    declaration = declare(world, entity, user, banks)
    through_reviews(world, declaration)
    return s.batch_signoff(actor=world.users["convener"], declaration_ids=[declaration.pk]), declaration


def test_推送前的推荐清单显示各推荐将送达的承办机构(world):
    """Issue 16 item 10: "the batch preview shows the branch each recommendation will go to before the push"."""
    # given a signed-off batch not yet pushed
    batch, declaration = _signed_off(world)
    # when the convener opens it
    html = _client(world.users["convener"]).get(f"/matching/batches/{batch.pk}/").content.decode()
    # then each intended bank shows the branch branch_for routes it to
    from products.selectors import branch_for

    for intended in declaration.intended_banks.select_related("bank"):
        branch = branch_for(bank=intended.bank, county_code=declaration.region_id)
        assert f'{intended.bank.name} → <span data-testid="batch-branch">{branch.name}</span>' in html
    assert 'data-testid="batch-unrouted"' not in html
    # and after the push the same branches are those of the leads
    s.batch_push(actor=world.users["convener"], batch_id=batch.pk)
    after = _client(world.users["convener"]).get(f"/matching/batches/{batch.pk}/").content.decode()
    for rec in batch.recommendations.select_related("bank", "branch"):
        assert f'{rec.bank.name} → <span data-testid="batch-branch">{rec.branch.name}</span>' in after


def test_推送前提示没有服务机构的银行(world):
    # given a signed-off batch whose intended 建设银行 then loses every branch serving 泽州
    batch, _ = _signed_off(world)
    BranchRoute.objects.filter(bank__code="ccb").delete()
    BranchServiceArea.objects.filter(branch__bank__code="ccb").delete()
    BankBranch.objects.filter(bank__code="ccb").update(is_active=False)
    # when the convener opens the batch, then it says so before the push
    html = _client(world.users["convener"]).get(f"/matching/batches/{batch.pk}/").content.decode()
    assert 'data-testid="batch-unrouted"' in html and "建设银行" in html and "无服务机构" in html
