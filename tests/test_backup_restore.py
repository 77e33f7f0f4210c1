"""Backup and restore, done once as the README says (issue 9 item 8): the database with
pg_dump (custom format) and the uploads folder (MEDIA_ROOT) as an archive; then a fresh
database, pg_restore into it, the uploads unpacked into a fresh folder, and the portal run
on them in another process: `manage.py check`, no migration missing, every table holds the
same number of rows, a page renders with the restored data, an uploaded file downloads
byte for byte through its permission-checked view, and new rows can be written (the
sequences came back too)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from matching.factories import pushed
from matching.materials import material_upload
from products.factories import build_world

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parent.parent
PGBIN = Path(os.environ.get("PGBIN", "/usr/lib/postgresql/15/bin"))
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4

# run in the restored portal: what a person would check after a restore
CHECK_SCRIPT = r"""
import json, os
from django.db import connection
from django.test import Client
from django.contrib.auth import get_user_model
from matching.models import DeclarationMaterial, Notification

with connection.cursor() as cursor:
    cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
    tables = [row[0] for row in cursor.fetchall()]
    counts = {}
    for table in tables:
        cursor.execute(f'SELECT count(*) FROM "{table}"')
        counts[table] = cursor.fetchone()[0]
args = json.loads(os.environ["RESTORE_CHECK_ARGS"])
client = Client()
client.force_login(get_user_model().objects.get(username=args["staff"]))
page = client.get("/matching/declarations/")
material = DeclarationMaterial.objects.get(pk=args["material"])
owner = Client()
owner.force_login(get_user_model().objects.get(pk=args["owner"]))
download = owner.get(f"/matching/materials/{material.pk}/download/")
body = b"".join(download.streaming_content) if download.streaming else download.content
# a new row: the sequences were restored with the data
new = Notification.objects.create(recipient_id=args["owner"], title="恢复后测试", dedupe_key="restore-check")
print(json.dumps({
    "counts": counts, "page_status": page.status_code, "page_has_entity": args["entity"] in page.content.decode(),
    "download_status": download.status_code, "download_bytes": len(body), "download_same": body ==
    bytes.fromhex(args["png"]),
    "new_pk_after_old": new.pk > args["max_notification"],
}))
"""


def _pg_env() -> dict:
    db = settings.DATABASES["default"]
    return {
        **os.environ,
        "PGHOST": db["HOST"],
        "PGPORT": str(db["PORT"]),
        "PGUSER": db["USER"],
        "PGPASSWORD": db["PASSWORD"],
    }


def _run(command: list[str], env: dict, timeout: float = 120) -> str:
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(command[:3])} …: {result.returncode}\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def _table_counts() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename")
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f'SELECT count(*) FROM "{table}"')
            counts[table] = cursor.fetchone()[0]
    return counts


def test_dump_drop_restore_and_the_portal_works_on_the_restored_copy(tmp_path, settings):
    if connection.vendor != "postgresql" or not (PGBIN / "pg_dump").exists():
        pytest.skip("needs PostgreSQL and its client programs")
    # given a portal with a pushed lead and an uploaded material in MEDIA_ROOT
    settings.MEDIA_ROOT = tmp_path / "uploads"
    world = build_world()
    declaration, enterprise_user, recs = pushed(world)
    material = material_upload(
        actor=enterprise_user,
        declaration_id=declaration.pk,
        uploaded_file=SimpleUploadedFile("营业执照.png", PNG, content_type="image/png"),
    )
    assert Path(material.file.path).read_bytes() == PNG
    from matching.models import Notification

    counts_before = _table_counts()
    assert counts_before["matching_recommendation"] == 2 and counts_before["matching_declarationmaterial"] == 1

    # when it is backed up as the README says: pg_dump in custom format, the uploads as an archive
    env = _pg_env()
    source = settings.DATABASES["default"]["NAME"]
    backup = tmp_path / "backup"
    backup.mkdir()
    _run([str(PGBIN / "pg_dump"), "--format=custom", "--no-owner", "--file", str(backup / "portal.dump"), source], env)
    archive = shutil.make_archive(str(backup / "uploads"), "gztar", root_dir=settings.MEDIA_ROOT)

    # and restored into a fresh database (dropped first if a previous run left it) and a fresh uploads folder
    scratch = f"restore_{uuid.uuid4().hex[:8]}"
    psql = [str(PGBIN / "psql"), "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt", "-c"]
    _run([*psql, f'DROP DATABASE IF EXISTS "{scratch}"'], env)
    _run([*psql, f'CREATE DATABASE "{scratch}"'], env)
    try:
        _run(
            [
                str(PGBIN / "pg_restore"),
                "--no-owner",
                "--exit-on-error",
                "--dbname",
                scratch,
                str(backup / "portal.dump"),
            ],
            env,
        )
        restored_media = tmp_path / "restored-uploads"
        shutil.unpack_archive(archive, restored_media)

        # then the portal runs on the restored copy
        db = settings.DATABASES["default"]
        portal_env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{scratch}",
            "MEDIA_ROOT": str(restored_media),
            "DEBUG": "False",
            "SECURE_SSL_REDIRECT": "False",
        }
        portal_env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        manage = [sys.executable, "manage.py"]
        _run([*manage, "check"], portal_env)
        _run([*manage, "migrate", "--check", "--noinput"], portal_env)  # exits non-zero if a migration is missing
        args = {
            "staff": world.users["staff"].username,
            "owner": enterprise_user.pk,
            "material": material.pk,
            "entity": declaration.entity.name,
            "png": PNG.hex(),
            "max_notification": Notification.objects.order_by("-pk").values_list("pk", flat=True).first(),
        }
        output = _run([*manage, "shell", "-c", CHECK_SCRIPT], {**portal_env, "RESTORE_CHECK_ARGS": json.dumps(args)})
        report = json.loads(output.strip().splitlines()[-1])
    finally:
        _run([*psql, f'DROP DATABASE IF EXISTS "{scratch}" WITH (FORCE)'], env)

    assert report["counts"] == counts_before, {
        t: (counts_before.get(t), report["counts"].get(t))
        for t in set(counts_before) | set(report["counts"])
        if counts_before.get(t) != report["counts"].get(t)
    }
    assert report["page_status"] == 200 and report["page_has_entity"], report
    assert report["download_status"] == 200 and report["download_same"], report
    assert report["new_pk_after_old"], report
