"""Declaration materials: type checked by content, size limit, storage under MEDIA_ROOT with a
random name, audited, and opened only for users restrict() lets see the declaration."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from matching import materials
from matching import services as s
from matching.factories import CRITERIA
from matching.models import DeclarationMaterial, Recommendation, WorkflowEvent
from portal.factories import user_with_role
from portal.models import AuditEvent, Role
from portal.services import ApplicationError

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde" + b"\x00" * 32
)
JPG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "uploads"
    return settings.MEDIA_ROOT


@pytest.fixture
def declared_world(world):
    """The 泽州 world with an enterprise (`world.ent`, its user `world.ent_user`) whose declaration
    to 中国银行 is submitted (`world.declaration`)."""
    world.ent, world.ent_user = world.entity()
    world.declaration = s.declaration_create(
        actor=world.ent_user,
        entity_id=world.ent.pk,
        amount=300_000,
        term_months=12,
        purpose="进货周转",
        bank_codes=["boc"],
        basic_criteria=CRITERIA,
        consent=True,
        submit=True,
    )
    return world


def upload(name: str, content: bytes, content_type: str = "application/octet-stream"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.mark.parametrize(
    "name,content,mime",
    [
        ("营业执照.pdf", PDF, "application/pdf"),
        ("门头照.JPG", JPG, "image/jpeg"),
        ("流水.jpeg", JPG, "image/jpeg"),
        ("场所.png", PNG, "image/png"),
    ],
)
def test_pdf_jpg_png_are_stored_under_media_root_with_a_random_name_and_audited(
    declared_world, media_root, name, content, mime
):
    # when the enterprise uploads a file (whatever Content-Type its browser claims)
    material = materials.material_upload(
        actor=declared_world.ent_user,
        declaration_id=declared_world.declaration.pk,
        uploaded_file=upload(name, content, "text/plain"),
    )
    # then the type recorded is the one found in the content
    assert material.content_type == mime and material.original_name == name and material.size == len(content)
    # it is stored under MEDIA_ROOT, in the declaration's folder, under a random name
    stored = media_root / material.file.name
    assert stored.read_bytes() == content
    assert (
        material.file.name.startswith(f"materials/{declared_world.declaration.pk}/")
        and name.split(".")[0] not in material.file.name
    )
    assert len(stored.stem) == 32
    # and the upload is audited and on the timeline
    event = AuditEvent.objects.get(action="declaration.material_upload")
    assert event.actor == declared_world.ent_user and event.after["name"] == name
    assert WorkflowEvent.objects.filter(
        declaration=declared_world.declaration, kind="declaration.material_uploaded"
    ).exists()


def test_a_png_renamed_pdf_is_refused(declared_world, media_root):
    with pytest.raises(ApplicationError, match="内容是 PNG 文件, 与扩展名 .pdf 不符") as error:
        materials.material_upload(
            actor=declared_world.ent_user,
            declaration_id=declared_world.declaration.pk,
            uploaded_file=upload("营业执照.pdf", PNG, "application/pdf"),
        )
    assert "file" in error.value.field_errors
    assert not DeclarationMaterial.objects.exists() and not media_root.exists() or not any(media_root.rglob("*.*"))


@pytest.mark.parametrize(
    "name,content,message",
    [
        ("脚本.pdf", b"<script>alert(1)</script>", "内容不是 PDF、JPG 或 PNG"),
        ("程序.exe", b"MZ\x90\x00" + b"\x00" * 64, "只能上传 PDF、JPG、PNG"),
        ("表格.xlsx", b"PK\x03\x04" + b"\x00" * 64, "只能上传 PDF、JPG、PNG"),
        ("照片.png", JPG, "内容是 JPG 文件"),
        ("空.pdf", b"", "空文件"),
        ("无扩展名", PDF, "只能上传 PDF、JPG、PNG"),
    ],
)
def test_files_that_are_not_what_they_claim_are_refused(declared_world, name, content, message):
    with pytest.raises(ApplicationError, match=message):
        materials.material_upload(
            actor=declared_world.ent_user,
            declaration_id=declared_world.declaration.pk,
            uploaded_file=upload(name, content),
        )
    assert not DeclarationMaterial.objects.exists()


def test_an_11_mb_file_is_refused(declared_world):
    big = PDF + b"0" * (11 * 1024 * 1024)
    with pytest.raises(ApplicationError, match="超过 10 MB") as error:
        materials.material_upload(
            actor=declared_world.ent_user,
            declaration_id=declared_world.declaration.pk,
            uploaded_file=upload("大文件.pdf", big),
        )
    assert "file" in error.value.field_errors
    # and exactly 10 MB is accepted
    exact = PDF + b"0" * (10 * 1024 * 1024 - len(PDF))
    materials.material_upload(
        actor=declared_world.ent_user,
        declaration_id=declared_world.declaration.pk,
        uploaded_file=upload("刚好.pdf", exact),
    )


def test_only_users_who_may_change_the_declaration_upload(declared_world):
    other_entity, other_user = declared_world.entity(name="别家")
    for actor in (
        other_user,
        declared_world.users["boc_admin"],
        user_with_role(Role.TASK_FORCE_STAFF, region_code="140521"),
    ):
        with pytest.raises(ApplicationError) as error:
            materials.material_upload(
                actor=actor, declaration_id=declared_world.declaration.pk, uploaded_file=upload("a.pdf", PDF)
            )
        assert error.value.code == "not_found"
    # the county's staff may add materials on the entity's behalf
    materials.material_upload(
        actor=declared_world.users["staff"],
        declaration_id=declared_world.declaration.pk,
        uploaded_file=upload("a.pdf", PDF),
    )


def test_no_uploads_once_the_declaration_is_closed(declared_world, media_root):
    s.declaration_withdraw(actor=declared_world.ent_user, declaration_id=declared_world.declaration.pk)
    with pytest.raises(ApplicationError, match="已结束") as error:
        materials.material_upload(
            actor=declared_world.ent_user,
            declaration_id=declared_world.declaration.pk,
            uploaded_file=upload("a.pdf", PDF),
        )
    assert error.value.code == "conflict"
    # and nothing was left in storage
    assert not media_root.exists() or not any(p.is_file() for p in media_root.rglob("*"))


def test_open_only_what_restrict_allows(declared_world):
    material = materials.material_upload(
        actor=declared_world.ent_user,
        declaration_id=declared_world.declaration.pk,
        uploaded_file=upload("执照.pdf", PDF),
    )
    # the enterprise and its county's reviewers may open it
    for actor in (
        declared_world.ent_user,
        declared_world.users["staff"],
        declared_world.users["reviewer"],
        declared_world.users["city"],
    ):
        opened = materials.material_open(actor=actor, material_id=material.pk)
        with opened.file as handle:
            assert handle.read() == PDF
        assert opened.filename == "执照.pdf" and opened.content_type == "application/pdf"
    assert AuditEvent.objects.filter(action="declaration.material_download").count() == 4
    # another county, another enterprise, and a bank before the push may not
    _, other_enterprise = declared_world.entity(name="别家")
    for actor in (
        user_with_role(Role.TASK_FORCE_STAFF, region_code="140521"),
        other_enterprise,
        declared_world.users["boc_admin"],
    ):
        with pytest.raises(ApplicationError) as error:
            materials.material_open(actor=actor, material_id=material.pk)
        assert error.value.code == "not_found"


def test_the_bank_sees_materials_once_the_lead_is_pushed_to_it(declared_world):
    material = materials.material_upload(
        actor=declared_world.ent_user,
        declaration_id=declared_world.declaration.pk,
        uploaded_file=upload("执照.pdf", PDF),
    )
    for role in ("staff", "reviewer", "lead"):
        s.declaration_review(
            actor=declared_world.users[role], declaration_id=declared_world.declaration.pk, decision="approve"
        )
    batch = s.batch_signoff(actor=declared_world.users["convener"], declaration_ids=[declared_world.declaration.pk])
    s.batch_push(actor=declared_world.users["convener"], batch_id=batch.pk)
    assert materials.material_open(actor=declared_world.users["boc_admin"], material_id=material.pk).size == len(PDF)
    # the other bank, which the entity did not choose, still does not
    with pytest.raises(ApplicationError):
        materials.material_open(actor=declared_world.users["ccb_admin"], material_id=material.pk)
    # the account manager once the lead is assigned to him
    lead = Recommendation.objects.get(declaration=declared_world.declaration)
    s.recommendations_assign(
        actor=declared_world.users["boc_admin"],
        recommendation_ids=[lead.pk],
        manager_id=declared_world.users["boc_manager"].pk,
    )
    assert (
        materials.material_open(actor=declared_world.users["boc_manager"], material_id=material.pk).filename
        == "执照.pdf"
    )


# --- through the API -------------------------------------------------------------------------


def test_api_upload_list_and_download(declared_world):
    url = f"/api/v1/declarations/{declared_world.declaration.pk}/materials/"
    client = api(declared_world.ent_user)
    response = client.post(url, {"file": upload("营业执照.pdf", PDF, "application/pdf")}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["original_name"] == "营业执照.pdf" and body["content_type"] == "application/pdf"
    assert body["download_url"] == f"/api/v1/materials/{body['id']}/download/"
    listed = api(declared_world.users["staff"]).get(url).json()
    assert [m["id"] for m in listed] == [body["id"]]
    # the county's staff downloads it, as an attachment, with its original name
    response = api(declared_world.users["staff"]).get(body["download_url"], HTTP_ACCEPT="application/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == PDF
    assert "attachment" in response["Content-Disposition"]
    assert api(declared_world.users["staff"]).get(f"/api/v1/materials/{body['id']}/").json()["size"] == len(PDF)


def test_api_refusals(declared_world):
    url = f"/api/v1/declarations/{declared_world.declaration.pk}/materials/"
    client = api(declared_world.ent_user)
    # a PNG renamed .pdf, and an 11 MB file: 400 with the reason on the file field
    response = client.post(url, {"file": upload("执照.pdf", PNG)}, format="multipart")
    assert response.status_code == 400 and "与扩展名 .pdf 不符" in response.json()["errors"]["file"][0]
    response = client.post(url, {"file": upload("大.pdf", PDF + b"0" * (10 * 1024 * 1024))}, format="multipart")
    assert response.status_code == 400 and "超过 10 MB" in response.json()["message"]
    # far over the limit: refused by its Content-Length before the body is read (portal.middleware)
    response = client.post(url, {"file": upload("大.pdf", PDF + b"0" * (11 * 1024 * 1024))}, format="multipart")
    assert response.status_code == 413 and "不能超过 10 MB" in response.json()["message"]
    response = client.post(url, {}, format="multipart")
    assert response.status_code == 400 and "file" in response.json()["errors"]
    material = materials.material_upload(
        actor=declared_world.ent_user, declaration_id=declared_world.declaration.pk, uploaded_file=upload("a.pdf", PDF)
    )
    # another county's user can neither list nor download: 404
    other = api(user_with_role(Role.TASK_FORCE_STAFF, region_code="140521"))
    assert other.get(url).status_code == 404
    response = other.get(f"/api/v1/materials/{material.pk}/download/", HTTP_ACCEPT="application/pdf")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert other.get(f"/api/v1/materials/{material.pk}/").status_code == 404
    assert other.post(url, {"file": upload("b.pdf", PDF)}, format="multipart").status_code == 404
