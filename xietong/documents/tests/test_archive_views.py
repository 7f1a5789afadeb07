"""The registers, archive and settings pages, and their REST API."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from openpyxl import load_workbook  # type: ignore[import-untyped]

from tests.fixtures import client_for
from xietong.audit.models import Event
from xietong.documents import archive, audit_actions, registers
from xietong.documents.models import ArchiveItem, IssuingOrgan, OutgoingState
from xietong.documents.tests.archive_helpers import (
    finished_incoming,
    finished_outgoing,
    make_archivist,
    voided,
)
from xietong.documents.tests.conftest import DocsPeople
from xietong.identity.models import User
from xietong.org.models import OrgUnit

pytestmark = pytest.mark.django_db


@pytest.fixture
def archivist(docs_org: dict[str, OrgUnit]) -> User:
    """钱档案 of 综合办公室, the group's 档案管理员."""
    return make_archivist(docs_org["office"])


API = "/api/v1/documents/archive"


def test_registers_page_tabs_filters_and_export(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    finished_outgoing(organ, docs_people.drafter, docs_org["finance"], seq=1, title="关于安全生产的通知")
    voided(organ, docs_people.clerk, seq=2, reason="重复登记")
    finished_incoming(docs_org["office"], docs_people.clerk, title="关于报送数据的函")
    client = client_for(docs_people.clerk)
    page = client.get(reverse("documents:registers"))
    assert page.status_code == 200
    html = page.content.decode()
    assert "关于安全生产的通知" in html
    assert "重复登记" in html
    assert "协同发〔2026〕2号" in html
    incoming = client.get(reverse("documents:registers"), {"kind": "incoming"}).content.decode()
    assert "关于报送数据的函" in incoming
    filtered = client.get(
        reverse("documents:registers"), {"kind": "outgoing", "state": "voided"}
    ).content.decode()
    assert "关于安全生产的通知" not in filtered
    assert "重复登记" in filtered
    export = client.get(reverse("documents:registers_export"), {"kind": "outgoing"})
    assert export.status_code == 200
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert rows[2][0] == "协同发〔2026〕1号"
    assert Event.objects.filter(action=registers.REGISTER_EXPORTED).count() == 1


def test_registers_page_is_for_clerks(docs_people: DocsPeople) -> None:
    client = client_for(docs_people.outsider)
    assert client.get(reverse("documents:registers")).status_code == 403
    assert client.get(reverse("documents:registers_export")).status_code == 403


def test_archive_pages_archive_verify_and_download(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"], title="待归档的通知")
    incoming = finished_incoming(docs_org["office"], docs_people.clerk, title="待归档的函")
    client = client_for(archivist)
    page = client.get(reverse("documents:archive_list")).content.decode()
    assert "待归档的通知" in page
    assert "待归档的函" in page
    response = client.post(
        reverse("documents:archive_outgoing", args=[document.pk]), {"org_code": "bgs", "request_id": "p-1"}
    )
    item = ArchiveItem.objects.get(outgoing=document)
    assert response.status_code == 302
    assert response["Location"] == reverse("documents:archive_item", args=[item.pk])
    assert item.archival_code == "X001-WS·2026-D30-BGS-0001"
    client.post(reverse("documents:archive_incoming", args=[incoming.pk]))
    assert ArchiveItem.objects.filter(incoming=incoming).exists()

    detail = client.get(reverse("documents:archive_item", args=[item.pk])).content.decode()
    assert item.archival_code in detail
    assert item.package_sha256 in detail
    assert "起草" in detail  # the process metadata
    verify = client.post(reverse("documents:archive_verify", args=[item.pk]), follow=True)
    assert "校验通过" in verify.content.decode()
    download = client.get(reverse("documents:archive_component", args=[item.pk, 2]))
    assert download.status_code == 200
    assert Event.objects.filter(action=audit_actions.ARCHIVE_DOWNLOADED).count() == 1

    default_storage.delete(item.components.get(seq=2).file.blob)
    failed = client.post(reverse("documents:archive_verify", args=[item.pk]), follow=True).content.decode()
    assert "校验未通过" in failed
    listing = client.get(reverse("documents:archive_list"), {"verified": "failed"}).content.decode()
    assert item.archival_code in listing

    again = client.post(
        reverse("documents:archive_outgoing", args=[document.pk]), follow=True
    ).content.decode()
    assert "不能重复归档" in again
    catalogue = client.get(reverse("documents:archive_catalogue_export"), {"year": 2026})
    assert catalogue.status_code == 200
    assert len(list(load_workbook(io.BytesIO(catalogue.content)).active.iter_rows())) == 4


def test_archive_pages_refuse_others(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    item = archive.archive_outgoing(
        actor=archivist, document=finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    )
    waiting = finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    outsider = client_for(docs_people.outsider)
    assert outsider.get(reverse("documents:archive_list")).status_code == 403
    assert outsider.get(reverse("documents:archive_item", args=[item.pk])).status_code == 403
    assert outsider.post(reverse("documents:archive_outgoing", args=[waiting.pk])).status_code == 403
    # A clerk sees the 件 of their units but neither archives, verifies nor downloads.
    clerk = client_for(docs_people.clerk)
    assert clerk.get(reverse("documents:archive_item", args=[item.pk])).status_code == 200
    assert clerk.post(reverse("documents:archive_outgoing", args=[waiting.pk])).status_code == 403
    assert clerk.post(reverse("documents:archive_verify", args=[item.pk])).status_code == 403
    assert clerk.get(reverse("documents:archive_component", args=[item.pk, 1])).status_code == 403
    assert clerk.get(reverse("documents:archive_catalogue_export")).status_code == 403
    # The sub-company's clerk does not see the group's archive at all.
    assert (
        client_for(docs_people.sub_clerk).get(reverse("documents:archive_item", args=[item.pk])).status_code
        == 404
    )
    waiting.refresh_from_db()
    assert waiting.state == OutgoingState.DISTRIBUTED


def test_archive_list_query_count_does_not_grow(
    organ: IssuingOrgan,
    docs_people: DocsPeople,
    docs_org: dict[str, OrgUnit],
    archivist: User,
    django_assert_max_num_queries: object,
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(archivist)

    def count() -> int:
        client.get(reverse("documents:archive_list"))
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("documents:archive_list")).status_code == 200
        return len(queries)

    archive.archive_outgoing(
        actor=archivist, document=finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    )
    finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    before = count()
    for _ in range(3):
        archive.archive_outgoing(
            actor=archivist, document=finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
        )
        finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
        finished_incoming(docs_org["office"], docs_people.clerk)
    assert count() == before


def test_settings_page_for_archivists_and_clerks(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    client = client_for(archivist)
    page = client.get(reverse("documents:settings")).content.decode()
    assert "全宗号" in page
    assert "发文机关" not in page.split("全宗号")[0].split("公文设置")[-1]
    bad = client.post(reverse("documents:settings"), {"fonds_no": "J1", "retention_tongzhi": "D30"})
    assert bad.status_code == 422
    assert "全宗号应为 4 位字母或数字" in bad.content.decode()
    good = client.post(
        reverse("documents:settings"),
        {"fonds_no": "j001", "fonds_name": "协同集团", "retention_tongzhi": "D10"},
    )
    assert good.status_code == 302
    assert archive.get_config().fonds_no == "J001"
    assert archive.retention_for("tongzhi") == "D10"

    clerk = client_for(docs_people.clerk)
    settings = clerk.get(reverse("documents:settings")).content.decode()
    assert "协同发" in settings
    assert 'id="archive-settings"' not in settings
    assert clerk.post(reverse("documents:settings"), {"fonds_no": "K001"}).status_code == 403
    assert client_for(docs_people.outsider).get(reverse("documents:settings")).status_code == 403


def test_organ_pages_create_and_edit_with_errors_beside_fields(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    client = client_for(docs_people.sub_clerk)
    assert client.get(reverse("documents:settings_organ_new")).status_code == 200
    values = {
        "unit": docs_org["sub"].pk,
        "code": "HD",
        "name": "华东分公司",
        "mark": "华东分公司文件",
        "print_org": "办公室",
    }
    bad = client.post(reverse("documents:settings_organ_new"), values)
    assert bad.status_code == 422
    assert "机关代字只能由汉字组成" in bad.content.decode()
    created = client.post(
        reverse("documents:settings_organ_new"), {**values, "code": "华东发", "is_active": "on"}
    )
    assert created.status_code == 302
    new = IssuingOrgan.objects.get(code="华东发")
    assert new.unit == docs_org["sub"]
    assert new.is_active
    edit = client.post(
        reverse("documents:settings_organ_edit", args=[new.pk]),
        {
            "code": "华东发",
            "name": "华东分公司（改）",
            "mark": new.mark,
            "print_org": new.print_org,
            "is_active": "on",
        },
    )
    assert edit.status_code == 302
    new.refresh_from_db()
    assert new.name == "华东分公司（改）"
    # Not theirs: the group's organ, and the group as a unit.
    assert client.get(reverse("documents:settings_organ_edit", args=[organ.pk])).status_code == 404
    refused = client.post(
        reverse("documents:settings_organ_new"), {**values, "unit": docs_org["group"].pk, "code": "集团发"}
    )
    assert refused.status_code == 422
    assert not IssuingOrgan.objects.filter(code="集团发").exists()
    assert client_for(docs_people.outsider).get(reverse("documents:settings_organ_new")).status_code == 403


# --------------------------------------------------------------------------- the API


def test_api_archive_verify_and_read(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    client = client_for(archivist)
    body = {"kind": "outgoing", "document_id": document.pk}
    first = client.post(f"{API}/items", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201, first.content
    data = first.json()
    assert data["archival_code"] == "X001-WS·2026-D30-0001"
    assert [component["seq"] for component in data["components"]] == [1, 2, 3]
    again = client.post(f"{API}/items", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 201
    assert again.json()["id"] == data["id"]
    twice = client.post(f"{API}/items", body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert twice.status_code == 400
    assert "已归档" in twice.json()["error"]["message"]
    bad = client.post(f"{API}/items", {**body, "org_code": "办公"}, content_type="application/json")
    assert bad.status_code == 422
    assert bad.json()["error"]["details"][0]["field"] == "org_code"

    assert [item["id"] for item in client.get(f"{API}/items").json()] == [data["id"]]
    assert client.get(f"{API}/items/{data['id']}").json()["package_sha256"] == data["package_sha256"]
    verified = client.post(f"{API}/items/{data['id']}/verify").json()
    assert verified == {"archival_code": data["archival_code"], "ok": True, "problems": []}

    outsider = client_for(docs_people.outsider)
    assert outsider.get(f"{API}/items").status_code == 403
    assert outsider.post(f"{API}/items", body, content_type="application/json").status_code == 403
    assert client_for(docs_people.sub_clerk).get(f"{API}/items/{data['id']}").status_code == 404
    assert client_for(docs_people.clerk).post(f"{API}/items/{data['id']}/verify").status_code == 403


def test_api_registers_organs_and_settings(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    finished_outgoing(organ, docs_people.drafter, docs_org["finance"], seq=1, to=[docs_org["office"]])
    voided(organ, docs_people.clerk, seq=2)
    finished_incoming(docs_org["office"], docs_people.clerk)
    clerk = client_for(docs_people.clerk)
    outgoing = clerk.get(f"{API}/registers/outgoing", {"year": 2026}).json()
    assert [row["doc_no"] for row in outgoing] == ["协同发〔2026〕1号", "协同发〔2026〕2号"]
    assert outgoing[0]["distribution"] == [{"unit": "综合办公室", "copy_no": "000001"}]
    assert outgoing[1]["voided"] is True
    assert len(clerk.get(f"{API}/registers/incoming").json()) == 1
    assert client_for(docs_people.outsider).get(f"{API}/registers/outgoing").status_code == 403

    assert [row["code"] for row in clerk.get(f"{API}/organs").json()] == ["协同发"]
    sub = client_for(docs_people.sub_clerk)
    payload = {
        "unit_id": docs_org["sub"].pk,
        "code": "华东发",
        "name": "华东分公司",
        "mark": "华东分公司文件",
        "print_org": "办公室",
    }
    created = sub.post(f"{API}/organs", payload, content_type="application/json")
    assert created.status_code == 201, created.content
    invalid = sub.post(f"{API}/organs", {**payload, "code": "HD1"}, content_type="application/json")
    assert invalid.status_code == 422
    assert invalid.json()["error"]["details"][0]["field"] == "code"
    assert (
        sub.put(
            f"{API}/organs/{organ.pk}", {**payload, "code": "协同发"}, content_type="application/json"
        ).status_code
        == 404
    )
    updated = sub.put(
        f"{API}/organs/{created.json()['id']}", {**payload, "name": "华东"}, content_type="application/json"
    )
    assert updated.json()["name"] == "华东"

    archivist_client = client_for(archivist)
    assert archivist_client.get(f"{API}/settings").json()["retention_by_type"]["jueding"] == "Y"
    changed = archivist_client.put(
        f"{API}/settings",
        json.dumps({"fonds_no": "J001", "retention_by_type": {"han": "D30"}}),
        content_type="application/json",
    )
    assert changed.status_code == 200
    assert changed.json()["retention_by_type"]["han"] == "D30"
    wrong = archivist_client.put(
        f"{API}/settings",
        {"fonds_no": "J001", "retention_by_type": {"han": "D5"}},
        content_type="application/json",
    )
    assert wrong.status_code == 422
    assert wrong.json()["error"]["details"][0]["field"] == "retention.han"
    assert clerk.get(f"{API}/settings").status_code == 403


def test_the_archivist_finds_what_waits_for_filing_among_the_to_dos(
    docs_people: DocsPeople, docs_org: dict[str, OrgUnit], organ: IssuingOrgan, archivist: User
) -> None:
    from xietong.documents import archive_wiring

    document = finished_outgoing(organ, docs_people.drafter, docs_org["finance"])
    waiting = archive_wiring.todos(archivist, 5)
    assert waiting.count == 1
    assert [item.title for item in waiting.items] == [document.title]
    assert archive_wiring.todos(docs_people.outsider, 5).count == 0
