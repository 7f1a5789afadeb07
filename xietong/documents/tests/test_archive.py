"""整理归档 (DA/T 22-2015) with fixity checks (GB/T 18894-2016, DA/T 70-2018)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.fixtures import make_user, place
from xietong.audit.models import Event
from xietong.core import classification
from xietong.core.errors import DomainError, PermissionDeniedError
from xietong.documents import archive, archive_wiring, audit_actions
from xietong.documents.models import (
    ArchiveCounter,
    ArchiveItem,
    DocumentEvent,
    IncomingState,
    IssuingOrgan,
    OutgoingState,
    Retention,
)
from xietong.documents.tests.archive_helpers import (
    finished_incoming,
    finished_outgoing,
    make_archivist,
)
from xietong.documents.tests.conftest import DocsPeople
from xietong.identity.models import User
from xietong.notify.models import Dispatch
from xietong.org.models import OrgUnit

pytestmark = pytest.mark.django_db


@pytest.fixture
def archivist(docs_org: dict[str, OrgUnit]) -> User:
    """钱档案 of 综合办公室, the group's 档案管理员."""
    return make_archivist(docs_org["office"])


def _blob(content: bytes) -> bytes:
    return content


def test_r78_archive_outgoing_gives_gap_free_item_numbers_and_codes(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    documents = [finished_outgoing(organ, docs_people.drafter, docs_org["finance"]) for _ in range(3)]
    items = [archive.archive_outgoing(actor=archivist, document=document) for document in documents]
    assert [item.archival_code for item in items] == [
        "X001-WS·2026-D30-0001",
        "X001-WS·2026-D30-0002",
        "X001-WS·2026-D30-0003",
    ]
    assert all(archive.ARCHIVAL_CODE.match(item.archival_code) for item in items)
    assert ArchiveCounter.objects.get(year=2026, retention="D30", org_code="").last == 3
    for document in documents:
        document.refresh_from_db()
        assert document.state == OutgoingState.ARCHIVED
        assert DocumentEvent.objects.filter(outgoing=document, action="归档").count() == 1
    assert Event.objects.filter(action=audit_actions.ARCHIVE_CREATED).count() == 3


def test_r78_each_lowest_class_numbers_from_one_and_the_org_code_is_optional(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    drafter, unit = docs_people.drafter, docs_org["finance"]
    notice = archive.archive_outgoing(actor=archivist, document=finished_outgoing(organ, drafter, unit))
    decision = archive.archive_outgoing(
        actor=archivist, document=finished_outgoing(organ, drafter, unit, doc_type="jueding")
    )
    letter = archive.archive_outgoing(
        actor=archivist, document=finished_outgoing(organ, drafter, unit, doc_type="han"), org_code="bgs"
    )
    assert notice.archival_code == "X001-WS·2026-D30-0001"
    assert decision.archival_code == "X001-WS·2026-Y-0001"
    assert letter.archival_code == "X001-WS·2026-D10-BGS-0001"
    assert letter.org_code == "BGS"


def test_archive_components_checksums_and_metadata(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"], attachments=2, docx=True)
    item = archive.archive_outgoing(actor=archivist, document=document)
    components = list(item.components.order_by("seq"))
    assert [component.role for component in components] == ["发文稿纸", "正本", "正文", "附件", "附件"]
    assert [component.seq for component in components] == [1, 2, 3, 4, 5]
    for component in components:
        with default_storage.open(component.file.blob, "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == component.sha256 == component.file.sha256
    assert item.package_sha256 == archive.package_checksum(component.sha256 for component in components)
    assert components[1].file_id == document.pdf_id
    assert item.pages == 2
    assert item.responsible == "协同集团有限公司"
    assert item.doc_no == document.doc_no
    for key in ("题名", "文件编号", "责任者", "日期", "机构或问题", "保管期限", "密级", "组件", "业务"):
        assert key in item.metadata
    assert item.metadata["日期"] == "20260302"
    assert {"计算机文件名", "格式信息", "计算机文件大小", "文档创建程序"} <= set(item.metadata["组件"][0])
    assert [event["业务行为"] for event in item.metadata["业务"]] == ["起草", "签发", "登记", "用印", "分发"]
    with default_storage.open(components[0].file.blob, "rb") as handle:
        sheet = json.loads(handle.read())
    assert sheet["elements"]["发文字号"] == document.doc_no
    assert len(sheet["events"]) == 5


def test_archive_incoming_with_its_processing_sheet(
    docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_incoming(docs_org["office"], docs_people.clerk, handlers=[docs_org["finance"]])
    item = archive.archive_incoming(actor=archivist, document=document)
    assert item.archival_code == "X001-WS·2026-D10-0001"  # 函 → 定期10年 by default
    assert [component.role for component in item.components.order_by("seq")] == ["处理单", "来文"]
    assert item.responsible == "江苏省能源局"
    assert item.doc_no == document.sender_doc_no
    document.refresh_from_db()
    assert document.state == IncomingState.ARCHIVED


def test_archive_refuses_a_document_not_finished(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"], state=OutgoingState.SEALED)
    with pytest.raises(DomainError, match="只有已分发"):
        archive.archive_outgoing(actor=archivist, document=document)
    incoming = finished_incoming(docs_org["office"], docs_people.clerk, state=IncomingState.HANDLING)
    with pytest.raises(DomainError, match="只有已办结"):
        archive.archive_incoming(actor=archivist, document=incoming)
    assert not ArchiveItem.objects.exists()
    assert not ArchiveCounter.objects.filter(last__gt=0).exists()


def test_archive_refuses_twice_but_repeats_the_same_request(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    item = archive.archive_outgoing(actor=archivist, document=document, request_id="r-1")
    assert archive.archive_outgoing(actor=archivist, document=document, request_id="r-1").pk == item.pk
    with pytest.raises(DomainError, match="已归档"):
        archive.archive_outgoing(actor=archivist, document=document, request_id="r-2")
    assert ArchiveItem.objects.count() == 1


def test_archive_needs_the_archive_permission_and_clearance(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    document = finished_outgoing(
        organ, docs_people.drafter, docs_org["finance"], level=classification.COMMERCIAL_SECRET
    )
    with pytest.raises(PermissionDeniedError):
        archive.archive_outgoing(actor=docs_people.clerk, document=document)
    low = make_archivist(docs_org["office"], "didangan", clearance=classification.INTERNAL)
    with pytest.raises(PermissionDeniedError):
        archive.archive_outgoing(actor=low, document=document)
    document.refresh_from_db()
    assert document.state == OutgoingState.DISTRIBUTED
    assert not ArchiveItem.objects.exists()


def test_archive_rejects_a_bad_org_code_and_a_changed_source_file(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    with pytest.raises(DomainError, match="机构"):
        archive.archive_outgoing(actor=archivist, document=document, org_code="办公室")
    _overwrite(document.pdf.blob, b"%PDF changed")  # type: ignore[union-attr]
    with pytest.raises(DomainError, match="校验值"):
        archive.archive_outgoing(actor=archivist, document=document)
    assert not ArchiveItem.objects.exists()


def _overwrite(blob: str, content: bytes) -> None:
    default_storage.delete(blob)
    assert default_storage.save(blob, ContentFile(content)) == blob


def _archived(
    organ: IssuingOrgan, people: DocsPeople, org: dict[str, OrgUnit], archivist: User
) -> ArchiveItem:
    return archive.archive_outgoing(
        actor=archivist, document=finished_outgoing(organ, people.drafter, org["finance"])
    )


def test_verify_an_intact_item(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    item = _archived(organ, docs_people, docs_org, archivist)
    assert archive.verify(item, actor=archivist) == []
    item.refresh_from_db()
    assert item.verified_ok is True
    assert item.verified_at is not None
    assert Event.objects.filter(action=audit_actions.ARCHIVE_VERIFIED, result="success").count() == 1


def test_r78_archive_verification_detects_a_changed_file(
    organ: IssuingOrgan,
    docs_people: DocsPeople,
    docs_org: dict[str, OrgUnit],
    archivist: User,
    capsys: Any,
) -> None:
    item = _archived(organ, docs_people, docs_org, archivist)
    good = _archived(organ, docs_people, docs_org, archivist)
    original = item.components.get(seq=2)
    _overwrite(original.file.blob, b"%PDF-1.4 forged")
    problems = archive.verify(item, actor=archivist)
    assert any("SHA-256 不符" in problem for problem in problems)
    item.refresh_from_db()
    assert item.verified_ok is False
    assert Event.objects.filter(action=audit_actions.ARCHIVE_VERIFIED, result="failure").exists()

    with pytest.raises(CommandError) as failure:
        call_command("documents_verify")
    assert failure.value.returncode == 1
    out = capsys.readouterr().out
    assert f"FAIL {item.archival_code}" in out
    assert f"OK   {good.archival_code}" in out
    call_command("documents_verify", code=good.archival_code)  # the intact one alone passes
    with pytest.raises(CommandError) as missing:
        call_command("documents_verify", code="X001-WS·2026-D30-9999")
    assert missing.value.returncode == 2


def test_verification_detects_a_deleted_file_and_tampered_checksums(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    item = _archived(organ, docs_people, docs_org, archivist)
    default_storage.delete(item.components.get(seq=3).file.blob)
    problems = archive.verify(item, actor=archivist)
    assert any("文件缺失" in problem for problem in problems)

    other = _archived(organ, docs_people, docs_org, archivist)
    other.components.filter(seq=1).update(sha256="0" * 64)
    problems = archive.verify(other)
    assert any("包校验值不符" in problem for problem in problems)


def test_verify_needs_the_archive_permission(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    item = _archived(organ, docs_people, docs_org, archivist)
    with pytest.raises(PermissionDeniedError):
        archive.verify(item, actor=docs_people.outsider)


def test_weekly_check_notifies_the_archivists_of_a_problem(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    item = _archived(organ, docs_people, docs_org, archivist)
    assert archive_wiring.verify_archive().failed == {}
    assert not Dispatch.objects.filter(kind=archive_wiring.VERIFY_FAILED).exists()
    default_storage.delete(item.components.get(seq=2).file.blob)
    result = archive_wiring.verify_archive()
    assert list(result.failed) == [item.archival_code]
    dispatch = Dispatch.objects.get(kind=archive_wiring.VERIFY_FAILED)
    assert dispatch.notifications.filter(user=archivist).exists()


def test_retention_defaults_and_the_archivists_table(archivist: User) -> None:
    assert archive.retention_for("jueding") == Retention.PERMANENT
    assert archive.retention_for("tongzhi") == Retention.THIRTY
    assert archive.retention_for("han") == Retention.TEN
    assert archive.retention_for("") == Retention.THIRTY
    config = archive.config_update(
        actor=archivist, fonds_no="j001", fonds_name="协同集团", retention_by_type={"tongzhi": "D10"}
    )
    assert config.fonds_no == "J001"
    assert archive.retention_for("tongzhi") == Retention.TEN
    assert Event.objects.filter(action=archive.CONFIG_UPDATED).count() == 1


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"fonds_no": "J01"}, "fonds_no"),
        ({"fonds_no": "J-01"}, "fonds_no"),
        ({"retention_by_type": {"tongzhi": "D20"}}, "retention.tongzhi"),
        ({"retention_by_type": {"nope": "Y"}}, "retention.nope"),
    ],
)
def test_config_update_refuses_bad_values(archivist: User, values: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"fonds_no": "J001", "fonds_name": "", "retention_by_type": {}, **values}
    with pytest.raises(DomainError) as error:
        archive.config_update(actor=archivist, **arguments)
    assert error.value.details[0]["field"] == field
    assert archive.get_config().fonds_no == "X001"


def test_config_update_needs_the_permission_and_keeps_a_used_fonds(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    with pytest.raises(PermissionDeniedError):
        archive.config_update(actor=docs_people.clerk, fonds_no="J001", fonds_name="", retention_by_type={})
    _archived(organ, docs_people, docs_org, archivist)
    with pytest.raises(DomainError, match="已有档案"):
        archive.config_update(actor=archivist, fonds_no="J001", fonds_name="", retention_by_type={})


def test_catalogue_rows_and_excel(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    import io

    from openpyxl import load_workbook  # type: ignore[import-untyped]

    first = _archived(organ, docs_people, docs_org, archivist)
    _archived(organ, docs_people, docs_org, archivist)
    rows = archive.catalogue(viewer=archivist, year=2026)
    assert [row.seq for row in rows] == [1, 2]
    assert rows[0].archival_code == first.archival_code
    assert rows[0].date == "20260302"
    assert rows[0].responsible == "协同集团有限公司"
    export = archive.catalogue_export(actor=archivist, year=2026)
    sheet = load_workbook(io.BytesIO(export.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1] == ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
    assert values[2][1] == first.archival_code
    assert Event.objects.filter(action=archive.CATALOGUE_EXPORTED).count() == 1
    with pytest.raises(PermissionDeniedError):
        archive.catalogue_export(actor=docs_people.outsider)


def test_items_are_visible_within_scope_and_clearance(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    public = _archived(organ, docs_people, docs_org, archivist)
    secret = archive.archive_outgoing(
        actor=archivist,
        document=finished_outgoing(
            organ, docs_people.drafter, docs_org["finance"], level=classification.COMMERCIAL_SECRET
        ),
    )
    assert set(archive.visible_items(archivist)) == {public, secret}
    # The group's clerk sees the items of the group's organ (read-only), the sub-company's does not.
    assert set(archive.visible_items(docs_people.clerk)) == {public, secret}
    assert not archive.visible_items(docs_people.sub_clerk).exists()
    assert not archive.visible_items(docs_people.outsider).exists()
    low = make_user("neibu", clearance=classification.INTERNAL)
    place(low, docs_org["office"])
    from tests.fixtures import grant_role
    from xietong.org import builtin

    grant_role(low, builtin.ARCHIVIST)
    assert set(archive.visible_items(low)) == {public}


@pytest.mark.django_db(transaction=True)
def test_archiving_at_once_keeps_item_numbers_gap_free(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    """PostgreSQL: SQLite serialises writers by itself; the counter's row lock is what is tested."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("the row lock under test is PostgreSQL's")
    documents = [finished_outgoing(organ, docs_people.drafter, docs_org["finance"]) for _ in range(4)]
    twice = documents[0]
    barrier = threading.Barrier(5)
    outcomes: list[str] = []

    def run(document: Any) -> None:
        try:
            barrier.wait()
            archive.archive_outgoing(actor=archivist, document=document)
            outcomes.append("ok")
        except DomainError as error:
            outcomes.append(error.message)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(document,)) for document in [*documents, twice]]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count("ok") == 4
    assert sorted(ArchiveItem.objects.values_list("item_no", flat=True)) == [1, 2, 3, 4]
    assert ArchiveCounter.objects.get(year=2026, retention="D30", org_code="").last == 4
