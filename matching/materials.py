"""Declaration materials (申报材料): upload, list, open — the enterprise's (or the task force's)
files of a declaration, which every bank it goes to sees, and the files a bank collects itself
on its lead (`lead_material_upload`), which only that lead's branch (and the enterprise and
its county) sees. A file may name the item of the bank's materials list it answers.

Files are checked by their content, not by the name or the browser's Content-Type: the
first bytes must be a PDF, JPEG or PNG signature (the `filetype` library), and must agree
with the extension of the name (a PNG renamed .pdf is refused, so nobody downloads a file
that is not what its name says). They are stored through Django's storage API under
MEDIA_ROOT (outside the web root), named by a random token, and served only through
permission-checked views that call `material_open`.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import IO

import filetype
from django.db import transaction
from django.db.models import Q, QuerySet

from matching import workflow
from matching.models import Declaration, DeclarationMaterial, Recommendation
from portal.services import ApplicationError, audit_record
from portal.tenancy import VIEW, restrict

MAX_MATERIAL_BYTES = 10 * 1024 * 1024
MAX_MATERIALS_PER_DECLARATION = 30
MAX_MATERIALS_PER_LEAD = 30  # the files one bank adds to its lead
MAX_ITEM_LENGTH = 200
# detected MIME type → the extensions a file of that type may carry
ALLOWED_TYPES = {
    "application/pdf": (".pdf",),
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
}
EXTENSION_OF = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}
# who may add materials, and in which states (while the declaration is being prepared or
# reviewed, and after it was recommended: a bank may ask for more), is the workflow table's
# MATERIALS_UPLOAD rule; the declaration page shows the upload form by the same rule
UPLOAD_STATES = set(workflow.states(workflow.Action.MATERIALS_UPLOAD))
_FIELD = "file"


@dataclass(frozen=True)
class OpenedMaterial:
    """A material the actor may read: an open binary file and what to send with it."""

    file: IO[bytes]
    filename: str
    content_type: str
    size: int
    material: DeclarationMaterial


def _refuse(message: str) -> ApplicationError:
    return ApplicationError(message, field_errors={_FIELD: [message]})


def _clean_name(name: str) -> str:
    # keep only the last path component of whatever the client sent, and no control chars
    base = os.path.basename((name or "").replace("\\", "/")).strip()
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:200] or "未命名文件"


def _sniff(uploaded_file) -> str | None:
    uploaded_file.seek(0)
    head = uploaded_file.read(512)
    uploaded_file.seek(0)
    kind = filetype.guess(head) if head else None
    return kind.mime if kind is not None else None


def material_check(uploaded_file) -> tuple[str, str]:
    """(clean original name, detected MIME type) of an acceptable file, or ApplicationError."""
    if uploaded_file is None:
        raise _refuse("请选择要上传的文件")
    name = _clean_name(getattr(uploaded_file, "name", ""))
    size = uploaded_file.size
    if not size:
        raise _refuse(f"文件「{name}」是空文件")
    if size > MAX_MATERIAL_BYTES:
        raise _refuse(
            f"文件「{name}」大小 {size / 1024 / 1024:.1f} MB, 超过 {MAX_MATERIAL_BYTES // 1024 // 1024} MB 的限制"
        )
    extension = os.path.splitext(name)[1].lower()
    if extension not in {e for extensions in ALLOWED_TYPES.values() for e in extensions}:
        raise _refuse(f"文件「{name}」类型不支持: 只能上传 PDF、JPG、PNG 文件")
    mime = _sniff(uploaded_file)
    if mime not in ALLOWED_TYPES:
        raise _refuse(f"文件「{name}」的内容不是 PDF、JPG 或 PNG 文件")
    if extension not in ALLOWED_TYPES[mime]:
        actual = EXTENSION_OF[mime].lstrip(".").upper()
        raise _refuse(f"文件「{name}」的内容是 {actual} 文件, 与扩展名 {extension} 不符, 请核对后重新上传")
    return name, mime


def _item(item) -> str:
    item = str(item or "").strip()
    if len(item) > MAX_ITEM_LENGTH:
        raise ApplicationError(
            f"对应材料名称不超过 {MAX_ITEM_LENGTH} 字", field_errors={"item": [f"不超过 {MAX_ITEM_LENGTH} 字"]}
        )
    return item


def _store(
    *, actor, uploaded_file, name: str, mime: str, item: str, place, record, audit: str, audited
) -> DeclarationMaterial:
    """Store a checked file as a material: `place()` (inside the transaction) resolves and locks
    what it belongs to and returns (declaration, recommendation or None); `record(material,
    declaration, recommendation)` writes its workflow event. A rolled-back row leaves no stored
    file behind."""
    stored_name = f"{uuid.uuid4().hex}{EXTENSION_OF[mime]}"
    material = None
    try:
        with transaction.atomic():
            declaration, recommendation = place()
            material = DeclarationMaterial(
                declaration=declaration,
                recommendation=recommendation,
                item=item,
                original_name=name,
                content_type=mime,
                size=uploaded_file.size,
                uploaded_by=actor,
            )
            uploaded_file.seek(0)
            # FieldFile.save goes through the field's storage (MEDIA_ROOT) and upload_to
            material.file.save(stored_name, uploaded_file, save=False)
            material.save()
            record(material, declaration, recommendation)
            audit_record(
                actor=actor,
                action=audit,
                obj=audited(declaration, recommendation),
                after={
                    "material": material.pk,
                    "name": name,
                    "content_type": mime,
                    "size": material.size,
                    **({"item": item} if item else {}),
                },
            )
    except BaseException:
        # the row was rolled back: do not leave the stored file behind
        if material is not None and material.file.name:
            material.file.storage.delete(material.file.name)
        raise
    return material


def material_upload(*, actor, declaration_id: int, uploaded_file, item: str = "") -> DeclarationMaterial:
    """Store one uploaded file as a material of a declaration the actor may change (the
    enterprise's, or the task force's on its behalf); `item` names the entry of a bank's
    materials list it answers, if any."""
    name, mime = material_check(uploaded_file)
    item = _item(item)

    def place():
        declaration = workflow.acting_on(
            workflow.Action.MATERIALS_UPLOAD,
            actor,
            declaration_id,
            message="申报不存在或您无权上传材料",
        )
        if declaration.materials.filter(recommendation__isnull=True).count() >= MAX_MATERIALS_PER_DECLARATION:
            raise ApplicationError(f"每个申报最多上传 {MAX_MATERIALS_PER_DECLARATION} 个材料文件", code="conflict")
        return declaration, None

    def record(material, declaration, recommendation):
        workflow.record(
            workflow.Action.MATERIALS_UPLOAD,
            declaration=declaration,
            actor=actor,
            material=material.pk,
            name=name,
            size=material.size,
            **({"item": item} if item else {}),
        )

    return _store(
        actor=actor,
        uploaded_file=uploaded_file,
        name=name,
        mime=mime,
        item=item,
        place=place,
        record=record,
        audit="declaration.material_upload",
        audited=lambda declaration, recommendation: declaration,
    )


def lead_material_upload(*, actor, recommendation_id: int, uploaded_file, item: str = "") -> DeclarationMaterial:
    """Store one file a bank collected itself as a material of its lead (workflow
    LEAD_MATERIALS_UPLOAD: the lead's branch, or the account manager it is assigned to), with
    the same checks as the enterprise's uploads. Only that lead's branch among the banks sees
    it (matching.restrictions)."""
    name, mime = material_check(uploaded_file)
    item = _item(item)

    def place():
        lead = workflow.acting_on(
            workflow.Action.LEAD_MATERIALS_UPLOAD, actor, recommendation_id, message="线索不存在或您无权上传材料"
        )
        if lead.bank_materials.filter(withdrawn_at__isnull=True).count() >= MAX_MATERIALS_PER_LEAD:
            raise ApplicationError(f"每条线索最多上传 {MAX_MATERIALS_PER_LEAD} 个材料文件", code="conflict")
        return lead.declaration, lead

    def record(material, declaration, recommendation):
        workflow.record(
            workflow.Action.LEAD_MATERIALS_UPLOAD,
            declaration=declaration,
            recommendation=recommendation,
            actor=actor,
            material=material.pk,
            name=name,
            size=material.size,
            **({"item": item} if item else {}),
        )

    return _store(
        actor=actor,
        uploaded_file=uploaded_file,
        name=name,
        mime=mime,
        item=item,
        place=place,
        record=record,
        audit="recommendation.material_upload",
        audited=lambda declaration, recommendation: recommendation,
    )


def lead_material_list(*, actor, recommendation_id: int) -> QuerySet[DeclarationMaterial]:
    """The materials of a lead the actor may see: its declaration's (the enterprise's) and the
    ones this lead's bank collected; not_found if he may not see the lead."""
    lead = restrict(Recommendation.objects.all(), actor, VIEW).filter(pk=recommendation_id).first()
    if lead is None:
        raise ApplicationError("线索不存在或您无权查看", code="not_found")
    return (
        restrict(DeclarationMaterial.objects.all(), actor, VIEW)
        .filter(declaration_id=lead.declaration_id)
        .filter(Q(recommendation__isnull=True) | Q(recommendation=lead))
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )


def material_list(*, actor, declaration_id: int) -> QuerySet[DeclarationMaterial]:
    """Materials of one declaration the actor may see (a bank: the declaration's own and those
    its own leads collected); not_found if he may not see it."""
    if not restrict(Declaration.objects.all(), actor, VIEW).filter(pk=declaration_id).exists():
        raise ApplicationError("申报不存在或您无权查看", code="not_found")
    return (
        restrict(DeclarationMaterial.objects.all(), actor, VIEW)
        .filter(declaration_id=declaration_id)
        .select_related("uploaded_by")
        .order_by("uploaded_at", "id")
    )


def material_open(*, actor, material_id: int, request=None) -> OpenedMaterial:
    """Open a stored material for reading, only if restrict() lets the actor see it.
    Every opening is audited (materials carry the entity's business data)."""
    material = restrict(DeclarationMaterial.objects.all(), actor, VIEW).filter(pk=material_id).first()
    if material is None:
        raise ApplicationError("材料不存在或您无权查看", code="not_found")
    try:
        handle = material.file.storage.open(material.file.name, "rb")
    except FileNotFoundError:
        raise ApplicationError("材料文件已丢失, 请联系平台管理员", code="not_found") from None
    audit_record(
        actor=actor,
        action="declaration.material_download",
        obj=material.declaration,
        after={"material": material.pk, "name": material.original_name},
        request=request,
    )
    return OpenedMaterial(
        file=handle,
        filename=material.original_name,
        content_type=material.content_type,
        size=material.size,
        material=material,
    )
