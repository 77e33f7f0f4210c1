"""An uploaded register file is imported by the real Celery worker, with progress, a record
and a downloadable error report."""

import time
from io import BytesIO

import pytest
from django.test import Client
from openpyxl import load_workbook

from entities import services, tasks
from entities.factories import csv_bytes, good_row
from entities.models import EntityImport, MarketEntity
from entities.register_file import OUT_OF_SCOPE_ROW
from portal.celery import app as celery_app
from portal.factories import user_with_role
from portal.models import Role

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_until_finished(pk: int, timeout: float = 60) -> EntityImport:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        record = EntityImport.objects.get(pk=pk)
        if record.is_finished:
            return record
        time.sleep(0.2)
    raise AssertionError(f"import {pk} did not finish: {EntityImport.objects.get(pk=pk).status}")


def test_an_uploaded_file_is_imported_by_the_worker_with_its_error_report():
    # given a task-force user uploading a file with one good and one bad row
    user = user_with_role(Role.TASK_FORCE_STAFF)
    client = Client()
    client.force_login(user)
    upload = BytesIO(csv_bytes([good_row(1), good_row(2, 统一社会信用代码="921405250000000010")]))
    upload.name = "名录库.csv"

    # when it is uploaded through the import page
    response = client.post("/entities/imports/", {"file": upload})

    # then it is stored, queued and run by the worker; the page shows the result
    assert response.status_code == 302
    record = wait_until_finished(EntityImport.objects.get().pk)
    assert (record.status, record.rows, record.created, record.rejected) == ("succeeded", 2, 1, 1)
    assert record.uploaded_by == user and record.file_name == "名录库.csv" and record.progress_percent == 100
    assert MarketEntity.objects.count() == 1
    progress = client.get(f"/entities/imports/{record.pk}/progress/").content.decode()
    assert "已完成" in progress and "hx-trigger" not in progress  # polling stops
    report = client.get(f"/entities/imports/{record.pk}/errors.xlsx")
    rows = list(load_workbook(BytesIO(report.content)).active.iter_rows(values_only=True))
    assert rows[0] == ("行号", "列", "错误说明")
    assert rows[1][:2] == (3, "统一社会信用代码") and "校验位错误" in rows[1][2]


def test_a_task_force_cannot_import_rows_outside_its_county():
    user = user_with_role(Role.TASK_FORCE_STAFF)  # 泽州县 140525
    client = Client()
    client.force_login(user)
    upload = BytesIO(csv_bytes([good_row(1, 行政区划代码="140105")]))
    upload.name = "r.csv"
    client.post("/entities/imports/", {"file": upload})
    record = wait_until_finished(EntityImport.objects.get().pk)
    assert record.rejected == 1 and record.errors[0] == {
        "line": 2,
        "column": "行政区划代码",
        "message": OUT_OF_SCOPE_ROW,
    }


def test_a_file_with_a_wrong_header_fails_with_its_message_and_imports_nothing():
    client = Client()
    client.force_login(user_with_role(Role.CITY_REGULATOR))
    upload = BytesIO("名称,统一社会信用代码\n".encode())
    upload.name = "wrong.csv"
    client.post("/entities/imports/", {"file": upload})
    record = wait_until_finished(EntityImport.objects.get().pk)
    assert record.status == "failed" and "缺少表头" in record.message
    assert "缺少表头" in client.get(f"/entities/imports/{record.pk}/").content.decode()


def test_the_import_is_enqueued_by_the_name_its_task_is_registered_under():
    # given the name entity_import_submit sends (the task module imports the services, not the
    # reverse), then it names the task entities.tasks registers, which runs the import
    assert celery_app.tasks[services.RUN_IMPORT_TASK] == tasks.run_entity_import
