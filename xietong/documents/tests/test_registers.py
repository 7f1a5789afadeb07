"""发文登记簿 and 收文登记簿 (条例 第二十四条、第二十五条(二))."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook  # type: ignore[import-untyped]

from xietong.audit.models import Event
from xietong.core import classification
from xietong.core.errors import PermissionDeniedError
from xietong.documents import archive, registers
from xietong.documents.models import IssuingOrgan, OutgoingState
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


def test_r78_outgoing_register_lists_numbers_in_order_with_voided_ones(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    drafter, unit = docs_people.drafter, docs_org["finance"]
    third = finished_outgoing(
        organ, drafter, unit, seq=3, title="第三号", to=[docs_org["office"], docs_org["sub"]]
    )
    finished_outgoing(organ, drafter, unit, seq=1, title="第一号", state=OutgoingState.SEALED)
    voided(organ, docs_people.clerk, seq=2, reason="重复登记")
    item = archive.archive_outgoing(actor=archivist, document=third)
    rows = registers.outgoing_register(docs_people.clerk)
    assert [row.doc_no for row in rows] == ["协同发〔2026〕1号", "协同发〔2026〕2号", "协同发〔2026〕3号"]
    first, void, last = rows
    assert void.voided
    assert void.void_reason == "重复登记"
    assert void.state == "作废"
    assert not first.voided
    assert first.state == "已用印"
    assert last.title == "第三号"
    assert last.doc_type == "通知"
    assert last.drafter == "陈拟稿"
    assert last.drafting_unit == "财务部"
    assert last.signers == "赵董事长"
    assert last.copies == 5
    assert last.distribution == [("综合办公室", "000001"), ("华东分公司", "000002")]
    assert last.archived == item.archival_code
    assert last.main_recipients == "各部门"
    assert last.cc_recipients == "集团领导"


def test_outgoing_register_filters(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    drafter, unit = docs_people.drafter, docs_org["finance"]
    finished_outgoing(organ, drafter, unit, seq=1, title="关于安全生产的通知")
    finished_outgoing(organ, drafter, unit, seq=2, title="关于年度预算的决定", doc_type="jueding")
    finished_outgoing(organ, drafter, unit, seq=1, title="去年的通知", year=2025)
    voided(organ, docs_people.clerk, seq=3)
    clerk = docs_people.clerk

    def numbers(**filters: object) -> list[str]:
        return [row.doc_no for row in registers.outgoing_register(clerk, registers.Filters(**filters))]  # type: ignore[arg-type]

    assert numbers(year=2025) == ["协同发〔2025〕1号"]
    assert numbers(year=2026, doc_type="jueding") == ["协同发〔2026〕2号"]
    assert numbers(search="预算") == ["协同发〔2026〕2号"]
    assert numbers(state=registers.VOIDED) == ["协同发〔2026〕3号"]
    assert numbers(state=OutgoingState.DISTRIBUTED, year=2026) == ["协同发〔2026〕1号", "协同发〔2026〕2号"]


def test_registers_are_scoped_to_the_clerks_units_and_clearance(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    drafter, unit = docs_people.drafter, docs_org["finance"]
    finished_outgoing(organ, drafter, unit, seq=1)
    finished_outgoing(organ, drafter, unit, seq=2, level=classification.CORE_COMMERCIAL_SECRET)
    finished_incoming(docs_org["office"], docs_people.clerk, title="集团的收文")
    finished_incoming(docs_org["sub"], docs_people.sub_clerk, title="分公司的收文")
    assert [row.doc_no for row in registers.outgoing_register(docs_people.clerk)] == ["协同发〔2026〕1号"]
    assert registers.outgoing_register(docs_people.sub_clerk) == []
    assert [row.title for row in registers.incoming_register(docs_people.clerk)] == ["集团的收文"]
    assert [row.title for row in registers.incoming_register(docs_people.sub_clerk)] == ["分公司的收文"]
    with pytest.raises(PermissionDeniedError):
        registers.outgoing_register(docs_people.outsider)
    with pytest.raises(PermissionDeniedError):
        registers.incoming_register(docs_people.drafter)


def test_incoming_register_fields(docs_people: DocsPeople, docs_org: dict[str, OrgUnit]) -> None:
    finished_incoming(
        docs_org["office"], docs_people.clerk, seq=15, handlers=[docs_org["finance"], docs_org["office"]]
    )
    (row,) = registers.incoming_register(docs_people.clerk)
    assert row.recv_no == "收〔2026〕15号"
    assert row.sender_org == "江苏省能源局"
    assert row.sender_doc_no == "苏能函〔2026〕15号"
    assert row.doc_type == "函"
    assert row.channel == "邮寄"
    assert row.state == "已办结"
    assert row.lead_unit == "财务部"
    assert row.co_units == "综合办公室"
    assert row.result == "已按要求报送"
    assert row.closed_at
    assert row.received_at


def test_register_query_count_does_not_grow_with_rows(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit], archivist: User
) -> None:
    clerk, drafter, unit = docs_people.clerk, docs_people.drafter, docs_org["finance"]

    def count() -> tuple[int, int]:
        registers.outgoing_register(clerk)
        registers.incoming_register(clerk)
        with CaptureQueriesContext(connection) as outgoing:
            registers.outgoing_register(clerk)
        with CaptureQueriesContext(connection) as incoming:
            registers.incoming_register(clerk)
        return len(outgoing), len(incoming)

    document = finished_outgoing(organ, drafter, unit, to=[docs_org["office"]])
    archive.archive_outgoing(actor=archivist, document=document)
    voided(organ, clerk, seq=900)
    finished_incoming(docs_org["office"], clerk, handlers=[unit])
    before = count()
    for _ in range(4):
        finished_outgoing(organ, drafter, unit, to=[docs_org["office"], docs_org["sub"]])
        finished_incoming(docs_org["office"], clerk, handlers=[unit, docs_org["office"]])
    voided(organ, clerk, seq=901)
    assert count() == before


def test_register_export_opens_and_is_audited(
    organ: IssuingOrgan, docs_people: DocsPeople, docs_org: dict[str, OrgUnit]
) -> None:
    finished_outgoing(organ, docs_people.drafter, docs_org["finance"], seq=1, title="=HYPERLINK(1)")
    voided(organ, docs_people.clerk, seq=2, reason="打印错误")
    finished_incoming(docs_org["office"], docs_people.clerk)
    result = registers.export(actor=docs_people.clerk, kind=registers.OUTGOING, filters=registers.Filters())
    sheet = load_workbook(io.BytesIO(result.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[1][0] == "发文字号"
    assert values[2][0] == "协同发〔2026〕1号"
    assert values[2][1] == "=HYPERLINK(1)"
    assert values[3][0] == "协同发〔2026〕2号"
    assert values[3][-1] == "打印错误"
    assert result.rows == 2
    incoming = registers.export(actor=docs_people.clerk, kind=registers.INCOMING, filters=registers.Filters())
    values = list(load_workbook(io.BytesIO(incoming.content)).active.iter_rows(values_only=True))
    assert values[1][0] == "收文号"
    assert len(values) == 3
    assert Event.objects.filter(action=registers.REGISTER_EXPORTED).count() == 2
    with pytest.raises(PermissionDeniedError):
        registers.export(actor=docs_people.outsider, kind=registers.OUTGOING, filters=registers.Filters())
