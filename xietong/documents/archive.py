"""整理归档: finished documents become 件 of 文书档案 (DA/T 22-2015) with fixity checksums
(GB/T 18894-2016, DA/T 70-2018 四性检测).

- ``archive_outgoing`` (已分发 → 已归档) and ``archive_incoming`` (已办结 → 已归档) give the 件 its
  档号 ``全宗号-WS·年度-保管期限-机构-件号``; the 件号 runs gap-free in the lowest class
  (年度, 保管期限, 机构) under a row lock on ``ArchiveCounter``.
- The components follow DA/T 22 §件内排序: the 处理单 (``收文处理单.json`` / ``发文稿纸.json``:
  the elements and the process record) first, then the 正本, the 正文 file, the 附件 in order
  (or, for a 收文, the 来文).
- Every component's SHA-256 is taken from the stored bytes and checked against the file row;
  ``package_sha256`` is the SHA-256 over the components' checksums in order (one per line).
- ``verify`` recomputes all of it from storage (DA/T 70 真实性/完整性), records the outcome and
  audits it; ``documents_verify`` and a weekly job run it over the whole archive.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook  # type: ignore[import-untyped]
from openpyxl.cell import WriteOnlyCell  # type: ignore[import-untyped]
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]
from openpyxl.styles import Font  # type: ignore[import-untyped]

from xietong.audit.actions import register as register_action
from xietong.audit.services import Target, record
from xietong.core import access, classification, clock
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.documents import audit_actions
from xietong.documents.models import (
    ArchiveComponent,
    ArchiveConfig,
    ArchiveCounter,
    ArchiveItem,
    DocType,
    DocumentEvent,
    IncomingDocument,
    IncomingState,
    OutgoingDocument,
    OutgoingState,
    Retention,
)
from xietong.documents.permissions import ARCHIVE, CLERK
from xietong.files import services as files
from xietong.files.models import StoredFile
from xietong.identity.models import User
from xietong.org.models import Membership

ITEM_ARCHIVED = audit_actions.ARCHIVE_CREATED
ITEM_VERIFIED = audit_actions.ARCHIVE_VERIFIED
COMPONENT_DOWNLOADED = audit_actions.ARCHIVE_DOWNLOADED
CATALOGUE_EXPORTED = "documents.archive.catalogue_exported"
CONFIG_UPDATED = "documents.archive.config_updated"

register_action(CATALOGUE_EXPORTED, gettext_lazy("导出归档文件目录"))
register_action(CONFIG_UPDATED, gettext_lazy("修改档案设置"))

#: 档号 (DA/T 22-2015 §档号; DA/T 13-2022): ``·`` is U+00B7 between codes of the same level.
ARCHIVAL_CODE = re.compile(
    r"^(?P<fonds>[A-Z0-9]{4})-(?P<cat>[A-Z]{2})·(?P<year>\d{4})"
    r"-(?P<ret>Y|D30|D10)(?:-(?P<org>[A-Z0-9]{1,3}))?-(?P<item>\d{4})$"
)
FONDS_NO = re.compile(r"^[A-Z0-9]{4}$")
ORG_CODE = re.compile(r"^[A-Z0-9]{1,3}$")
CATEGORY = "WS"  # 文书档案
CONTEXT = "documents.archive"

# The 类别 of a component, kept as data (DA/T 22 terms) and translated only when shown.
ROLE_FORM = "发文稿纸"
ROLE_SHEET = "处理单"
ROLE_ORIGINAL = "正本"
ROLE_BODY = "正文"
ROLE_ATTACHMENT = "附件"
ROLE_RECEIVED = "来文"

#: Defaults in the spirit of 国家档案局令第10号 (enterprise retention periods are minimums):
#: decisions and records of lasting effect are kept permanently, instructions and reports 30
#: years, routine correspondence and announcements 10 years. The archivist changes them in the
#: settings (``ArchiveConfig.retention_by_type``) to the unit's own 归档范围和保管期限表.
DEFAULT_RETENTION_BY_TYPE: dict[str, str] = {
    DocType.JUEDING: Retention.PERMANENT,
    DocType.JUEYI: Retention.PERMANENT,
    DocType.GONGBAO: Retention.PERMANENT,
    DocType.JIYAO: Retention.PERMANENT,
    DocType.MINGLING: Retention.PERMANENT,
    DocType.QINGSHI: Retention.THIRTY,
    DocType.PIFU: Retention.THIRTY,
    DocType.BAOGAO: Retention.THIRTY,
    DocType.YIJIAN: Retention.THIRTY,
    DocType.TONGBAO: Retention.THIRTY,
    DocType.TONGZHI: Retention.THIRTY,
    DocType.YIAN: Retention.THIRTY,
    DocType.HAN: Retention.TEN,
    DocType.GONGGAO: Retention.TEN,
    DocType.TONGGAO: Retention.TEN,
}
#: A 文种 in neither table (or a 收文 without one).
DEFAULT_RETENTION = Retention.THIRTY


class ArchiveInvalidError(DomainError):
    """Values that do not fit (one detail per field), like the API's schema validation errors."""

    status = 422
    code = "validation_error"


# --------------------------------------------------------------------------- settings


def get_config() -> ArchiveConfig:
    """The one settings row, made with the defaults on first use."""
    config = ArchiveConfig.objects.order_by("pk").first()
    if config is None:
        config = ArchiveConfig.objects.create()
    return config


def retention_table(config: ArchiveConfig | None = None) -> dict[str, str]:
    """保管期限 per 文种: the archivist's table over the defaults."""
    config = config or get_config()
    table = dict(DEFAULT_RETENTION_BY_TYPE)
    for key, value in (config.retention_by_type or {}).items():
        if key in DocType.values and value in Retention.values:
            table[key] = value
    return {key: str(value) for key, value in table.items()}


def retention_for(doc_type: str, config: ArchiveConfig | None = None) -> str:
    return retention_table(config).get(doc_type, str(DEFAULT_RETENTION))


def may_archive(user: Any) -> bool:
    return access.can(user, ARCHIVE)


def config_update(
    *,
    actor: User,
    fonds_no: str,
    fonds_name: str,
    retention_by_type: Mapping[str, str],
    request: HttpRequest | None = None,
) -> ArchiveConfig:
    """全宗号 (4 letters or digits, DA/T 22), 全宗名称 and the retention table."""
    if not may_archive(actor):
        raise PermissionDeniedError(_("您没有管理文书档案的权限。"))
    fonds_no = (fonds_no or "").strip().upper()
    fonds_name = (fonds_name or "").strip()
    errors: list[dict[str, str]] = []
    if not FONDS_NO.match(fonds_no):
        errors.append({"field": "fonds_no", "message": _("全宗号应为 4 位字母或数字，如 J001。")})
    if len(fonds_name) > 100:
        errors.append({"field": "fonds_name", "message": _("全宗名称不能超过 100 个字。")})
    table: dict[str, str] = {}
    for key, value in retention_by_type.items():
        if key not in DocType.values:
            errors.append({"field": f"retention.{key}", "message": _("未知的文种：%(key)s") % {"key": key}})
        elif value not in Retention.values:
            errors.append(
                {
                    "field": f"retention.{key}",
                    "message": _("%(type)s的保管期限应为 Y、D30 或 D10。")
                    % {"type": str(DocType(key).label)},
                }
            )
        else:
            table[key] = value
    if errors:
        raise ArchiveInvalidError(errors[0]["message"], details=errors)
    with transaction.atomic():
        config = get_config()
        config = ArchiveConfig.objects.select_for_update().get(pk=config.pk)
        if fonds_no != config.fonds_no and ArchiveItem.objects.filter(fonds_no=config.fonds_no).exists():
            message = _("全宗号 %(code)s 下已有档案，不能修改。") % {"code": config.fonds_no}
            raise ArchiveInvalidError(message, details=[{"field": "fonds_no", "message": message}])
        before = {
            "fonds_no": config.fonds_no,
            "fonds_name": config.fonds_name,
            "retention_by_type": config.retention_by_type,
        }
        config.fonds_no, config.fonds_name, config.retention_by_type = fonds_no, fonds_name, table
        config.save()
        record(
            actor=actor,
            action=CONFIG_UPDATED,
            target=Target("documents.archive_config", config.pk, fonds_no),
            request=request,
            details={
                "before": before,
                "after": {"fonds_no": fonds_no, "fonds_name": fonds_name, "table": table},
            },
        )
    return config


# --------------------------------------------------------------------------- who sees what


def visible_items(viewer: User) -> QuerySet[ArchiveItem]:
    """The 件 ``viewer`` may see: archivists within their scope, clerks those of their units;
    never above their clearance."""
    base = ArchiveItem.objects.all()
    parts: list[QuerySet[ArchiveItem]] = []
    for codename in (ARCHIVE, CLERK):
        if access.scope_of(viewer, codename) is None:
            continue
        parts.append(
            access.restrict(
                viewer,
                codename,
                base.filter(outgoing__isnull=False),
                unit_field="outgoing__organ__unit",
                classification_field="classification",
            )
        )
        parts.append(
            access.restrict(
                viewer,
                codename,
                base.filter(incoming__isnull=False),
                unit_field="incoming__receiving_unit",
                classification_field="classification",
            )
        )
    if not parts:
        return base.none()
    combined = parts[0]
    for part in parts[1:]:
        combined = combined | part
    return combined


def may_manage_item(user: User, item: ArchiveItem) -> bool:
    """Verify and download: archivists whose scope covers the document."""
    unit = item.outgoing.organ.unit_id if item.outgoing_id else item.incoming.receiving_unit_id  # type: ignore[union-attr]
    return access.can_on(user, ARCHIVE, None, unit=unit, classification=item.classification)


def waiting_outgoing(viewer: User) -> QuerySet[OutgoingDocument]:
    """已分发 documents the archivist may archive."""
    documents = OutgoingDocument.objects.filter(state=OutgoingState.DISTRIBUTED).select_related("organ")
    return access.restrict(
        viewer, ARCHIVE, documents, unit_field="organ__unit", classification_field="classification"
    ).order_by("-distributed_at", "-pk")


def waiting_incoming(viewer: User) -> QuerySet[IncomingDocument]:
    documents = IncomingDocument.objects.filter(state=IncomingState.CONCLUDED).select_related(
        "receiving_unit"
    )
    return access.restrict(
        viewer, ARCHIVE, documents, unit_field="receiving_unit", classification_field="classification"
    ).order_by("-closed_at", "-pk")


def item_get(viewer: User, pk: Any) -> ArchiveItem:
    from xietong.core.errors import NotFoundError

    try:
        number = int(pk)
    except (TypeError, ValueError):
        raise NotFoundError(_("档案不存在。")) from None
    item = (
        visible_items(viewer)
        .select_related("outgoing__organ", "incoming__receiving_unit", "archived_by")
        .prefetch_related(Prefetch("components", queryset=ArchiveComponent.objects.select_related("file")))
        .filter(pk=number)
        .first()
    )
    if item is None:
        raise NotFoundError(_("档案不存在或您无权查看。"))
    return item


# --------------------------------------------------------------------------- archiving


def _unit_name(user: User) -> str:
    post = Membership.objects.filter(user=user, is_primary=True).select_related("unit").first()
    return post.unit.name if post is not None else ""


def _local_date(moment: Any) -> Any:
    return timezone.localtime(moment).date() if moment is not None else None


def _read(stored: StoredFile) -> bytes | None:
    try:
        with default_storage.open(stored.blob, "rb") as handle:
            content: bytes = handle.read()
            return content
    except (OSError, FileNotFoundError):
        return None


def _pages(content: bytes, content_type: str) -> int:
    """Pages with content of a PDF (归档文件目录 页数); 0 when it cannot be read."""
    if "pdf" not in content_type.lower():
        return 0
    try:
        import pypdfium2  # type: ignore[import-untyped]

        document = pypdfium2.PdfDocument(content)
        try:
            return len(document)
        finally:
            document.close()
    except Exception:  # an unreadable PDF archives with 0 pages, not a failure
        return 0


def package_checksum(checksums: Iterable[str]) -> str:
    """The fixity of the package: SHA-256 over the component checksums in order, one per line."""
    return hashlib.sha256("".join(f"{value}\n" for value in checksums).encode("ascii")).hexdigest()


def _format_of(stored: StoredFile) -> str:
    name = stored.name.rsplit(".", 1)
    extension = name[1].upper() if len(name) == 2 else ""
    return f"{extension} ({stored.content_type})" if extension else stored.content_type


def _events(queryset: QuerySet[DocumentEvent]) -> list[dict[str, Any]]:
    # GB/T 18894-2016 process metadata: 业务行为, 行为时间, 机构人员名称 (+ opinion).
    return [
        {
            "业务行为": event.action,
            "行为时间": timezone.localtime(event.at).isoformat(),
            "机构人员名称": f"{event.actor_unit} {event.actor_name}".strip(),
            "人员": event.actor_name,
            "机构": event.actor_unit,
            "意见": event.opinion,
        }
        for event in queryset.order_by("at", "pk")
    ]


@dataclass(frozen=True)
class _Part:
    role: str
    file: StoredFile


def _allocate(year: int, retention: str, org_code: str) -> int:
    """The next 件号 of the lowest class, gap-free: the counter row stays locked until commit."""
    counter, _created = ArchiveCounter.objects.get_or_create(
        year=year, retention=retention, org_code=org_code
    )
    counter = ArchiveCounter.objects.select_for_update().get(pk=counter.pk)
    counter.last += 1
    counter.save(update_fields=["last"])
    return counter.last


def archival_code(fonds: str, year: int, retention: str, org_code: str, item_no: int) -> str:
    """``全宗号-WS·年度-保管期限-机构-件号`` (DA/T 22-2015); ``-机构`` is left out when unused."""
    middle = f"-{org_code}" if org_code else ""
    return f"{fonds}-{CATEGORY}·{year:04d}-{retention}{middle}-{item_no:04d}"


def _clean_org_code(org_code: str) -> str:
    code = (org_code or "").strip().upper()
    if code and not ORG_CODE.match(code):
        message = _("机构（问题）代码应为 1 至 3 位字母或数字，如 BGS。")
        raise ArchiveInvalidError(message, details=[{"field": "org_code", "message": message}])
    return code


def _build(
    *,
    actor: User,
    kind: str,
    document: OutgoingDocument | IncomingDocument,
    parts: list[_Part],
    elements: dict[str, Any],
    year: int,
    retention: str,
    org_code: str,
    title: str,
    doc_no: str,
    responsible: str,
    date: Any,
    request_id: str,
    request: HttpRequest | None,
) -> ArchiveItem:
    config = get_config()
    process = {
        "kind": kind,
        "elements": elements,
        "events": _events(document.events.all()),
        "generated_at": timezone.localtime(clock.now()).isoformat(),
    }
    process_bytes = json.dumps(process, ensure_ascii=False, indent=2, default=str).encode("utf-8")
    checked: list[tuple[_Part, str]] = []
    pages = 0
    # The document's own files first: a refusal leaves no generated 处理单 behind.
    for part in parts:
        content = _read(part.file)
        if content is None:
            raise DomainError(_("文件“%(name)s”在存储中不存在，不能归档。") % {"name": part.file.name})
        digest = hashlib.sha256(content).hexdigest()
        if digest != part.file.sha256:
            raise DomainError(
                _("文件“%(name)s”的校验值与登记不符，可能已被改动，不能归档。") % {"name": part.file.name}
            )
        if part.role in (ROLE_ORIGINAL, ROLE_RECEIVED) and not pages:
            pages = _pages(content, part.file.content_type)
        checked.append((part, digest))
    sheet = files.store_generated(
        content=process_bytes,
        # 收文处理单 / 发文稿纸: the process record in a machine-readable form.
        # Archived names are the register's, whatever the archivist's language.
        name="收文处理单.json" if kind == "incoming" else "发文稿纸.json",
        content_type="application/json",
        context=CONTEXT,
        classification=document.classification,
        actor=actor,
    )
    # DA/T 22: the 处理单 (发文稿纸) comes first in the 件.
    sheet_part = _Part(ROLE_SHEET if kind == "incoming" else ROLE_FORM, sheet)
    checked.insert(0, (sheet_part, hashlib.sha256(process_bytes).hexdigest()))
    item_no = _allocate(year, retention, org_code)
    code = archival_code(config.fonds_no, year, retention, org_code, item_no)
    level = document.classification
    metadata = {
        # GB/T 18894-2016 minimum metadata of a 文书类 electronic file.
        "题名": title,
        "文件编号": doc_no,
        "责任者": responsible,
        "日期": date.strftime("%Y%m%d"),
        "机构或问题": org_code,
        "保管期限": retention,
        "密级": classification.label(level),
        "档号": code,
        "全宗号": config.fonds_no,
        "全宗名称": config.fonds_name,
        "文种": str(DocType(document.doc_type).label) if document.doc_type else "",
        "组件": [
            {
                "件内顺序号": seq,
                "类别": part.role,
                "计算机文件名": part.file.name,
                "格式信息": _format_of(part.file),
                "计算机文件大小": part.file.size,
                "文档创建程序": "协同办公平台" if part.file.scanned_by == "generated" else "上传",
                "SHA-256": digest,
            }
            for seq, (part, digest) in enumerate(checked, start=1)
        ],
        "业务": process["events"],
        "request_id": request_id,
    }
    item = ArchiveItem.objects.create(
        archival_code=code,
        fonds_no=config.fonds_no,
        category=CATEGORY,
        year=year,
        retention=retention,
        org_code=org_code,
        item_no=item_no,
        title=title[:200],
        doc_no=doc_no,
        responsible=responsible[:100],
        date=date,
        classification=level,
        pages=pages,
        outgoing=document if isinstance(document, OutgoingDocument) else None,
        incoming=document if isinstance(document, IncomingDocument) else None,
        metadata=metadata,
        package_sha256=package_checksum(digest for _part, digest in checked),
        archived_by=actor,
    )
    ArchiveComponent.objects.bulk_create(
        ArchiveComponent(
            item=item,
            seq=seq,
            role=part.role,
            file=part.file,
            name=part.file.name[:255],
            format=_format_of(part.file)[:128],
            size=part.file.size,
            sha256=digest,
        )
        for seq, (part, digest) in enumerate(checked, start=1)
    )
    document.state = OutgoingState.ARCHIVED if kind == "outgoing" else IncomingState.ARCHIVED
    document.lock_version += 1
    document.save(update_fields=["state", "lock_version"])
    DocumentEvent.objects.create(
        outgoing=document if isinstance(document, OutgoingDocument) else None,
        incoming=document if isinstance(document, IncomingDocument) else None,
        action="归档",
        actor=actor,
        actor_name=actor.name or actor.username,
        actor_unit=_unit_name(actor),
        detail={"archival_code": code, "package_sha256": item.package_sha256},
    )
    record(
        actor=actor,
        action=ITEM_ARCHIVED,
        target=Target("documents.archive_item", item.pk, code),
        request=request,
        details={
            "kind": kind,
            "document": document.pk,
            "archival_code": code,
            "package_sha256": item.package_sha256,
            "components": len(checked),
            "classification": level,
        },
    )
    return item


def _repeat_or_refuse(document: OutgoingDocument | IncomingDocument, request_id: str) -> ArchiveItem:
    """An archived document: the same request again gets its 件; anything else is refused."""
    item = ArchiveItem.objects.filter(
        Q(outgoing=document.pk) if isinstance(document, OutgoingDocument) else Q(incoming=document.pk)
    ).first()
    if item is not None and request_id and item.metadata.get("request_id") == request_id:
        return item
    raise DomainError(
        _("该公文已归档（档号 %(code)s），不能重复归档。") % {"code": item.archival_code if item else "—"}
    )


def archive_outgoing(
    *,
    actor: User,
    document: OutgoingDocument,
    org_code: str = "",
    request_id: str = "",
    request: HttpRequest | None = None,
) -> ArchiveItem:
    """归档 of a 发文 (条例 第二十七条): 发文稿纸 (process record), 正本, 正文 file, 附件."""
    org_code = _clean_org_code(org_code)
    with transaction.atomic():
        document = (
            OutgoingDocument.objects.select_for_update(of=("self",))
            .select_related("organ")
            .get(pk=document.pk)
        )
        if not access.can_on(
            actor, ARCHIVE, document, unit=document.organ.unit_id, classification=document.classification
        ):
            raise PermissionDeniedError(_("您没有归档该公文的权限。"))
        if document.state == OutgoingState.ARCHIVED:
            return _repeat_or_refuse(document, request_id)
        if document.state != OutgoingState.DISTRIBUTED:
            raise DomainError(
                _("只有已分发的发文才能归档，该公文当前为“%(state)s”。")
                % {"state": OutgoingState(document.state).label}
            )
        if document.pdf_id is None:
            raise DomainError(_("该公文没有正本版式文件，不能归档。"))
        written = document.date_written or _local_date(document.signed_at) or _local_date(document.created_at)
        parts = [_Part(ROLE_ORIGINAL, document.pdf)]  # type: ignore[arg-type]
        if document.body_docx_id is not None:
            parts.append(_Part(ROLE_BODY, document.body_docx))  # type: ignore[arg-type]
        for attachment in document.attachments.select_related("file").order_by("seq"):
            parts.append(_Part(ROLE_ATTACHMENT, attachment.file))
        signers = [
            str(signer.get("name", "")) for signer in document.signers or [] if isinstance(signer, dict)
        ]
        elements = {
            "发文字号": document.doc_no,
            "标题": document.title,
            "文种": str(DocType(document.doc_type).label),
            "发文机关": document.organ.name,
            "密级": classification.label(document.classification),
            "保密期限": document.secret_term,
            "紧急程度": document.get_urgency_display() if document.urgency else "",
            "主送机关": document.main_recipients,
            "抄送机关": document.cc_recipients,
            "签发人": signers,
            "成文日期": written.isoformat(),
            "印发机关": document.print_org or document.organ.print_org,
            "印发日期": document.print_date.isoformat() if document.print_date else "",
            "印制份数": document.copies,
            "附件": [part.file.name for part in parts if part.role == ROLE_ATTACHMENT],
        }
        return _build(
            actor=actor,
            kind="outgoing",
            document=document,
            parts=parts,
            elements=elements,
            year=written.year,
            retention=retention_for(document.doc_type),
            org_code=org_code,
            title=document.title,
            doc_no=document.doc_no,
            # 责任者 = the issuing organ, not the drafter (DA/T 22-2015 归档文件目录).
            responsible=document.organ.name,
            date=written,
            request_id=request_id,
            request=request,
        )


def archive_incoming(
    *,
    actor: User,
    document: IncomingDocument,
    org_code: str = "",
    request_id: str = "",
    request: HttpRequest | None = None,
) -> ArchiveItem:
    """归档 of a 收文 with its 收文处理单 as one 件 (DA/T 22-2015): 处理单 first, then the 来文."""
    org_code = _clean_org_code(org_code)
    with transaction.atomic():
        document = (
            IncomingDocument.objects.select_for_update(of=("self",))
            .select_related("receiving_unit", "source__pdf")
            .get(pk=document.pk)
        )
        if not access.can_on(
            actor, ARCHIVE, document, unit=document.receiving_unit_id, classification=document.classification
        ):
            raise PermissionDeniedError(_("您没有归档该公文的权限。"))
        if document.state == IncomingState.ARCHIVED:
            return _repeat_or_refuse(document, request_id)
        if document.state != IncomingState.CONCLUDED:
            raise DomainError(
                _("只有已办结的收文才能归档，该公文当前为“%(state)s”。")
                % {"state": IncomingState(document.state).label}
            )
        source = document.scan if document.scan_id is not None else None
        if source is None and document.source is not None and document.source.pdf_id is not None:
            source = document.source.pdf
        if source is None:
            raise DomainError(_("该收文没有扫描件或来文版式文件，不能归档。"))
        received = _local_date(document.received_at)
        # 年度: the year the 件 was formed here, i.e. of receipt; the 日期 is the 成文日期.
        year_date = received or document.date_written or _local_date(document.created_at)
        date = document.date_written or year_date
        handlings = [
            {"部门": handling.unit.name, "主办": handling.is_lead, "办理情况": handling.result}
            for handling in document.handlings.select_related("unit").order_by("-is_lead", "pk")
        ]
        elements = {
            "收文号": document.recv_no,
            "签收时间": timezone.localtime(document.received_at).isoformat() if document.received_at else "",
            "来文单位": document.sender_org,
            "来文字号": document.sender_doc_no,
            "标题": document.title,
            "文种": str(DocType(document.doc_type).label) if document.doc_type else "",
            "密级": classification.label(document.classification),
            "份号": document.copy_no,
            "紧急程度": document.get_urgency_display() if document.urgency else "",
            "成文日期": document.date_written.isoformat() if document.date_written else "",
            "份数": document.copies,
            "来文方式": document.get_channel_display(),
            "拟办意见": document.proposal,
            "领导批示": document.instruction,
            "承办": handlings,
            "办理结果": document.result,
            "办结时间": timezone.localtime(document.closed_at).isoformat() if document.closed_at else "",
        }
        return _build(
            actor=actor,
            kind="incoming",
            document=document,
            parts=[_Part(ROLE_RECEIVED, source)],
            elements=elements,
            year=year_date.year,
            retention=retention_for(document.doc_type),
            org_code=org_code,
            title=document.title,
            doc_no=document.sender_doc_no,
            responsible=document.sender_org,
            date=date,
            request_id=request_id,
            request=request,
        )


# --------------------------------------------------------------------------- verification


def _problems(item: ArchiveItem) -> list[str]:
    problems: list[str] = []
    components = list(item.components.all())
    if not components:
        problems.append(_("档案没有任何组件。"))
    for expected, component in enumerate(components, start=1):
        label = f"{component.seq} {component.name}"
        if component.seq != expected:
            # DA/T 70 完整性: 件内顺序号 without gaps.
            problems.append(
                _("件内顺序号不连续：应为 %(expected)s，实为 %(seq)s。")
                % {"expected": expected, "seq": component.seq}
            )
        content = _read(component.file)
        if content is None:
            problems.append(_("组件 %(label)s：文件缺失。") % {"label": label})
            continue
        digest = hashlib.sha256(content).hexdigest()
        if digest != component.sha256:
            problems.append(_("组件 %(label)s：SHA-256 不符，文件已被改动。") % {"label": label})
        elif component.file.sha256 != component.sha256:
            problems.append(_("组件 %(label)s：文件登记的校验值与归档时不符。") % {"label": label})
        if len(content) != component.size:
            problems.append(_("组件 %(label)s：文件大小与元数据不符。") % {"label": label})
    if package_checksum(component.sha256 for component in components) != item.package_sha256:
        problems.append(_("包校验值不符：组件或其校验值已被改动。"))
    if not ARCHIVAL_CODE.match(item.archival_code):
        problems.append(_("档号格式不符合 DA/T 22-2015。"))
    return problems


def _with_components(items: QuerySet[ArchiveItem]) -> QuerySet[ArchiveItem]:
    return items.prefetch_related(
        Prefetch("components", queryset=ArchiveComponent.objects.select_related("file").order_by("seq"))
    )


def verify(item: ArchiveItem, *, actor: User | None = None, request: HttpRequest | None = None) -> list[str]:
    """Recompute every component's SHA-256 and the package checksum from storage; record
    ``verified_at``/``verified_ok`` and audit the outcome. The problems found (empty: intact)."""
    if actor is not None and not may_manage_item(actor, item):
        raise PermissionDeniedError(_("您没有校验该档案的权限。"))
    item = _with_components(ArchiveItem.objects.filter(pk=item.pk)).get()
    problems = _problems(item)
    now = clock.now()
    with transaction.atomic():
        ArchiveItem.objects.filter(pk=item.pk).update(verified_at=now, verified_ok=not problems)
        record(
            actor=actor,
            action=ITEM_VERIFIED,
            target=Target("documents.archive_item", item.pk, item.archival_code),
            result="success" if not problems else "failure",
            request=request,
            details={"archival_code": item.archival_code, "problems": problems},
        )
    item.verified_at, item.verified_ok = now, not problems
    return problems


@dataclass(frozen=True)
class Verification:
    checked: int
    failed: dict[str, list[str]]


def verify_all(*, code: str | None = None, actor: User | None = None) -> Verification:
    """Verify the whole archive (or one 档号); each item audited, the outcome in one summary."""
    items = ArchiveItem.objects.order_by("pk")
    if code:
        items = items.filter(archival_code=code)
    failed: dict[str, list[str]] = {}
    checked = 0
    ids = list(items.values_list("pk", flat=True))
    for start in range(0, len(ids), 200):
        chunk = _with_components(ArchiveItem.objects.filter(pk__in=ids[start : start + 200]).order_by("pk"))
        for item in chunk:
            checked += 1
            problems = _problems(item)
            with transaction.atomic():
                ArchiveItem.objects.filter(pk=item.pk).update(
                    verified_at=clock.now(), verified_ok=not problems
                )
                record(
                    actor=actor,
                    action=ITEM_VERIFIED,
                    target=Target("documents.archive_item", item.pk, item.archival_code),
                    result="success" if not problems else "failure",
                    details={"archival_code": item.archival_code, "problems": problems},
                )
            if problems:
                failed[item.archival_code] = problems
    return Verification(checked=checked, failed=failed)


# --------------------------------------------------------------------------- component downloads


def component_download(
    *, actor: User, item: ArchiveItem, seq: int, request: HttpRequest | None = None
) -> StoredFile:
    """A component of a 件 for download (archivists of its scope only), audited."""
    if not may_manage_item(actor, item):
        raise PermissionDeniedError(_("您没有下载该档案文件的权限。"))
    component = next((part for part in item.components.all() if part.seq == seq), None)
    if component is None:
        from xietong.core.errors import NotFoundError

        raise NotFoundError(_("档案文件不存在。"))
    with transaction.atomic():
        record(
            actor=actor,
            action=COMPONENT_DOWNLOADED,
            target=Target("documents.archive_item", item.pk, item.archival_code),
            request=request,
            details={"seq": seq, "name": component.name, "classification": item.classification},
        )
    return component.file


# --------------------------------------------------------------------------- the catalogue


@dataclass(frozen=True)
class CatalogueRow:
    seq: int
    archival_code: str
    doc_no: str
    responsible: str
    title: str
    date: str  # YYYYMMDD
    classification: str
    pages: int
    remarks: str


def catalogue(
    *,
    viewer: User,
    year: int | None = None,
    retention: str = "",
    org_code: str = "",
) -> list[CatalogueRow]:
    """归档文件目录 (DA/T 22-2015): 序号, 档号, 文号, 责任者, 题名, 日期, 密级, 页数, 备注."""
    items = visible_items(viewer)
    if year:
        items = items.filter(year=year)
    if retention:
        items = items.filter(retention=retention)
    if org_code:
        items = items.filter(org_code=org_code)
    items = items.order_by("year", "retention", "org_code", "item_no")
    return [
        CatalogueRow(
            seq=seq,
            archival_code=item.archival_code,
            doc_no=item.doc_no,
            responsible=item.responsible,
            title=item.title,
            date=item.date.strftime("%Y%m%d"),
            classification=classification.label(item.classification),
            pages=item.pages,
            remarks=item.remarks,
        )
        for seq, item in enumerate(items, start=1)
    ]


def _cell(sheet: Any, value: str, *, bold: bool = False) -> Any:
    cell = WriteOnlyCell(sheet, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"  # text stays text, never a formula
    if bold:
        cell.font = Font(bold=True)
    return cell


def catalogue_workbook(rows: list[CatalogueRow], *, heading: str) -> bytes:
    book = Workbook(write_only=True)
    sheet = book.create_sheet(_("归档文件目录"))
    for column, width in zip("ABCDEFGHI", (6, 24, 22, 20, 40, 10, 10, 6, 16), strict=True):
        sheet.column_dimensions[column].width = width
    sheet.append([_cell(sheet, heading, bold=True)])
    headers = [
        _("序号"),
        _("档号"),
        _("文号"),
        _("责任者"),
        _("题名"),
        _("日期"),
        _("密级"),
        _("页数"),
        _("备注"),
    ]
    sheet.append([_cell(sheet, text, bold=True) for text in headers])
    for row in rows:
        sheet.append(
            [
                row.seq,
                _cell(sheet, row.archival_code),
                _cell(sheet, row.doc_no),
                _cell(sheet, row.responsible),
                _cell(sheet, row.title),
                _cell(sheet, row.date),
                _cell(sheet, row.classification),
                row.pages,
                _cell(sheet, row.remarks),
            ]
        )
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@dataclass(frozen=True)
class Export:
    content: bytes
    name: str
    rows: int


def catalogue_export(
    *,
    actor: User,
    year: int | None = None,
    retention: str = "",
    org_code: str = "",
    request: HttpRequest | None = None,
) -> Export:
    if not may_archive(actor):
        raise PermissionDeniedError(_("您没有导出归档文件目录的权限。"))
    rows = catalogue(viewer=actor, year=year, retention=retention, org_code=org_code)
    config = get_config()
    parts = [config.fonds_name or config.fonds_no, _("归档文件目录")]
    if year:
        parts.append(str(year))
    if retention:
        parts.append(str(Retention(retention).label))
    if org_code:
        parts.append(org_code)
    content = catalogue_workbook(rows, heading=" · ".join(str(part) for part in parts))
    with transaction.atomic():
        record(
            actor=actor,
            action=CATALOGUE_EXPORTED,
            target=Target("documents.archive", "catalogue", _("归档文件目录")),
            request=request,
            details={"year": year, "retention": retention, "org_code": org_code, "rows": len(rows)},
        )
    stamp = timezone.localtime(clock.now()).strftime("%Y%m%d-%H%M")
    return Export(content, f"archive-catalogue-{stamp}.xlsx", len(rows))
