"""Issue 16 item 17: the audit log is in Chinese — action names, object names (not "Visit
object (1)"), details as a readable field-by-field before/after — with filters by date range,
user, action (a drop-down) and object, and an xlsx export that is itself audited."""

from __future__ import annotations

import ast
import datetime as dt
import importlib
import io
from pathlib import Path

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook
from rest_framework.test import APIClient

from matching import services as s
from matching.factories import CRITERIA
from matching.models import ReviewDecision, ReviewStage
from portal import audit_log, spreadsheets
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import audit_record
from portal.source import project_packages

ROOT = Path(__file__).resolve().parent.parent
APPS = project_packages()  # every package of the project (portal.source)
# models no one audits or reads by name: the batch run's internals, the statistics index, clocks' bookkeeping
UNNAMED = {
    "portal.BeatHeartbeat",
    "batch_matching.RunChunk",
    "batch_matching.RunProduct",
    "batch_matching.MatchingState",
    "batch_matching.MatchResult",
    "batch_matching.ResultCount",
    "batch_matching.DirtyEntity",
    "reporting.LedgerFact",
    "reporting.LedgerFactVersion",
    "reporting.DeclarationFact",
    "reporting.VisitFact",
    "reporting.FactWatermark",
}


def _recorded_actions() -> set[str]:
    """Every action the code can record: the string constants of each audit_record(action=…)
    (and of the `audit=` keyword its callers pass on), the reviews' f-string for every stage
    and decision, and the export registry's actions."""
    actions: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "tests" in path.parts or "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text())
            # a workflow's actions are an enum of its policy table (campaigns.policy.Action, …)
            policy_of = {
                alias.asname or alias.name: node.module
                for node in ast.walk(tree)
                if isinstance(node, ast.ImportFrom) and node.module
                for alias in node.names
            }
            for node in ast.walk(tree):
                if isinstance(node, ast.keyword) and node.arg == "audit" and isinstance(node.value, ast.Constant):
                    actions.add(node.value.value)
                if not (isinstance(node, ast.Call) and getattr(node.func, "id", None) == "audit_record"):
                    continue
                value = next(kw.value for kw in node.keywords if kw.arg == "action")
                if isinstance(value, ast.JoinedStr):
                    assert ast.unparse(value) == "f'declaration.{stage}.{decision}'", path
                    actions |= {f"declaration.{st}.{de}" for st in ReviewStage.values for de in ReviewDecision.values}
                elif isinstance(value, ast.Attribute) and ast.unparse(value) == "export.action":
                    actions |= {export.action for export in spreadsheets.EXPORTS.values()}
                elif isinstance(value, ast.Attribute):
                    # Action.OPEN.value: a member of the policy's Action enum
                    enum, member = ast.unparse(value).removesuffix(".value").split(".")
                    actions.add(getattr(importlib.import_module(policy_of[enum]), enum)[member].value)
                elif isinstance(value, ast.Call) and ast.unparse(value) == "str(rule_.action)":
                    # the action of a row of the policy table: any of its actions
                    actions |= {a.value for a in importlib.import_module(policy_of["Action"]).Action}
                else:
                    actions |= {n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and n.value}
    return actions - {"audit"}  # the variable's name in matching/materials.py, not an action


def test_every_action_the_code_records_has_a_chinese_name():
    actions = _recorded_actions()
    assert len(actions) > 60
    unnamed = {a for a in actions if audit_log.action_label(a) == a}
    assert unnamed == set(), "name these in portal/audit_log.py ACTION_LABELS"


def test_every_model_that_can_be_audited_has_a_name_of_its_own():
    # "Visit object (1)" is what Django shows for a model without __str__
    unnamed = {
        m._meta.label for m in apps.get_models() if m._meta.app_label in APPS and m.__str__ is models.Model.__str__
    }
    assert unnamed == UNNAMED


@pytest.fixture
def audited(db, world):
    """A declaration filed by the task force (declaration.create, today) and an update of the
    entity's operator name ten days ago."""
    entity, _ = world.entity()
    staff = world.users["staff"]
    declaration = s.declaration_create(
        actor=staff,
        entity_id=entity.pk,
        amount=200_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    update = audit_record(
        actor=staff,
        action="entity.update",
        obj=entity,
        before={"operator_name": "张三"},
        after={"operator_name": "张四"},
    )
    AuditEvent.objects.filter(pk=update.pk).update(created_at=timezone.now() - dt.timedelta(days=10))
    return world, entity, declaration


def _page(user, query: str = "", *, table_only: bool = True) -> str:
    """The log page (its table only, unless told: the filters' drop-downs name every action)."""
    client = Client()
    client.force_login(user)
    response = client.get(f"/audit/{query}")
    assert response.status_code == 200
    html = response.content.decode()
    return html.split('data-testid="audit-table"', 1)[1] if table_only else html


def test_the_log_names_actions_objects_and_changes_in_chinese(audited):
    world, entity, declaration = audited
    # when the task force's convener reads the log
    html = _page(world.users["convener"])
    # then actions, objects and changed fields are said in Chinese
    assert "新建融资申报" in html and "修改经营主体" in html
    assert str(declaration) in html and " object (" not in html
    assert "经营者姓名" in html and "<del>张三</del> → 张四" in html


@pytest.mark.django_db
def test_codes_recorded_beside_an_object_are_named_in_chinese_not_shown_as_english(pushed_world):
    """Issue 16 item 17: "The audit log is in Chinese: ... details as a readable field-by-field
    before/after". 对接方式, 不予授信原因, a 名特优新 proposal's 申请事项 and 类别 and an upload's file
    type were shown as their codes (phone, operating_too_short, grant, distinctive, application/pdf)."""
    world = pushed_world
    boc, ccb = world.recs["boc"], world.recs["ccb"]
    # given a contact by a visit, a coded decline, a 名特优新 proposal and an upload, as recorded
    s.recommendation_contact(actor=world.users["boc_admin"], recommendation_id=boc.pk, channel="visit")
    s.recommendation_decline(
        actor=world.users["ccb_admin"], recommendation_id=ccb.pk, reason_code="operating_too_short"
    )
    audit_record(
        actor=world.users["staff"],
        action="entity.honor_propose",
        obj=boc.entity,
        after={"action": "grant", "kind": "distinctive"},
    )
    audit_record(
        actor=world.users["boc_admin"],
        action="recommendation.material_upload",
        obj=boc,
        after={"content_type": "application/pdf"},
    )

    # when the platform administrator reads the log
    html = _page(user_with_role(Role.PLATFORM_ADMIN))

    # then each code is said by its Chinese name
    assert "上门走访" in html and "经营时间不足" in html
    assert "认定" in html and "特色" in html and "PDF" in html
    for code in ("visit", "operating_too_short", "grant", "distinctive", "application/pdf"):
        assert f"> {code}<" not in html and f": {code}" not in html and f"</span> {code}" not in html, code


def test_filters_by_date_user_action_and_object(audited):
    world, entity, declaration = audited
    convener, staff = world.users["convener"], world.users["staff"]
    today = timezone.localdate()
    # the date range keeps today's events only (the update was 10 days ago)
    html = _page(convener, f"?date_from={today:%Y-%m-%d}&date_to={today:%Y-%m-%d}")
    assert "新建融资申报" in html and "修改经营主体" not in html
    # the action drop-down
    html = _page(convener, "?action=entity.update")
    assert "修改经营主体" in html and "新建融资申报" not in html
    assert '<option value="entity.update">修改经营主体</option>' in _page(convener, table_only=False)
    # the user drop-down lists who appears in the log
    assert f'<option value="{staff.username}"' in _page(convener, table_only=False)
    html = _page(convener, f"?actor={staff.username}&object_type=matching.declaration")
    assert "新建融资申报" in html and "修改经营主体" not in html
    # the object by name or number
    html = _page(convener, f"?object_type=matching.declaration&q={declaration.pk}")
    assert "新建融资申报" in html and "修改经营主体" not in html
    html = _page(convener, "?q=测试小吃")
    assert "新建融资申报" in html and "修改经营主体" in html


def test_a_wrong_filter_says_so_next_to_its_field_and_lists_nothing(audited):
    world, _, _ = audited
    html = _page(world.users["convener"], "?date_from=2026-12-05&date_to=2026-12-01&action=no.such", table_only=False)
    assert "截止日期不能早于起始日期" in html and "选择一个有效的选项" in html
    assert "暂无符合条件的审计事件" in html
    # the API says the same as field errors
    client = APIClient()
    client.force_login(world.users["convener"])
    body = client.get("/api/v1/audit-events/?date_from=2026-12-05&date_to=2026-12-01").json()
    assert body["code"] == "invalid" and body["errors"]["date_to"] == ["截止日期不能早于起始日期"]


def test_the_api_gives_the_chinese_names_and_the_same_filters(audited):
    world, entity, _ = audited
    client = APIClient()
    client.force_login(world.users["convener"])
    body = client.get("/api/v1/audit-events/?action=entity.update").json()
    [event] = body["results"]
    assert event["action_label"] == "修改经营主体"
    assert event["changes"] == [{"label": "经营者姓名", "before": "张三", "after": "张四"}]


def test_the_xlsx_export_lists_what_the_page_lists_and_is_itself_audited(audited):
    world, entity, _ = audited
    convener = world.users["convener"]
    client = Client()
    client.force_login(convener)
    # when the convener exports the log filtered to one action
    response = client.get("/audit/?action=entity.update&format=xlsx")
    # then the file holds that event, in Chinese, and prints one page wide
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content))["审计日志"]
    rows = [row for row in sheet.iter_rows(values_only=True) if row and isinstance(row[0], int)]
    assert len(rows) == 1 and rows[0][4] == "修改经营主体" and rows[0][7] == "经营者姓名: 张三 → 张四"
    assert sheet.page_setup.fitToWidth == 1 and sheet.print_title_rows == "$3:$3"
    # and the export is in the log, as 导出审计日志 with its filter
    event = AuditEvent.objects.get(action="audit.export")
    assert (
        event.actor == convener and event.after["filters"] == {"action": "entity.update"} and event.after["rows"] == 1
    )
    assert "导出审计日志" in _page(convener, "?action=audit.export")


def test_another_countys_regulator_sees_none_of_it_in_page_api_or_file(audited, other_county):
    world, entity, _ = audited
    outsider = user_with_role(Role.CONVENER, organisation=other_county.task_force.parent, username="outsider")
    html = _page(outsider, table_only=False)
    assert world.users["staff"].username not in html and "修改经营主体" not in html.split("audit-table")[1]
    client = APIClient()
    client.force_login(outsider)
    assert client.get("/api/v1/audit-events/?action=entity.update").json()["count"] == 0
    web = Client()
    web.force_login(outsider)
    sheet = load_workbook(io.BytesIO(web.get("/audit/?format=xlsx").content))["审计日志"]
    assert all(row[4] != "修改经营主体" for row in sheet.iter_rows(min_row=4, values_only=True) if row[0])
