"""The validity rules of 公文 elements (R-78): each with a valid and an invalid example."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from xietong.documents import rules
from xietong.documents.models import Direction, DocType


def valid(**overrides: Any) -> dict[str, Any]:
    return {
        "doc_type": DocType.TONGZHI,
        "direction": Direction.DOWN,
        "title": "关于做好安全检查的通知",
        "main_recipients": "各子公司",
        "body": "请认真落实。",
        "classification": 0,
        "secret_term": "",
        "attachments": [],
        **overrides,
    }


def test_r78_valid_document_has_no_errors() -> None:
    assert rules.check_outgoing(valid()) == {}


def test_r78_title_must_end_with_its_type() -> None:
    assert "title" in rules.check_outgoing(valid(title="关于做好安全检查"))
    assert rules.check_outgoing(valid(doc_type=DocType.MINGLING, title="某某令")) == {}
    assert rules.title_ends_with_type("关于增加投入的请示", DocType.QINGSHI)


def test_r78_qingshi_has_one_main_recipient_and_goes_up() -> None:
    ok = valid(
        doc_type=DocType.QINGSHI,
        direction=Direction.UP,
        title="关于增加投入的请示",
        main_recipients="集团公司",
    )
    assert rules.check_outgoing(ok) == {}
    errors = rules.check_outgoing({**ok, "main_recipients": "集团公司、华东分公司"})
    assert "main_recipients" in errors
    assert "main_recipients" in rules.check_outgoing({**ok, "main_units": [1, 2]})
    assert "direction" in rules.check_outgoing({**ok, "direction": Direction.DOWN})


def test_r78_report_must_not_carry_requests() -> None:
    ok = valid(doc_type=DocType.BAOGAO, direction=Direction.UP, title="关于安全检查情况的报告")
    assert rules.check_outgoing(ok) == {}
    for phrase in ("以上报告妥否，请批复。", "请批示。", "请审批", "请批准"):
        assert "body" in rules.check_outgoing({**ok, "body": phrase})


def test_r78_upward_documents_need_signers_to_register() -> None:
    assert "signers" in rules.check_register({"doc_type": DocType.QINGSHI, "direction": Direction.DOWN})
    assert "signers" in rules.check_register({"doc_type": DocType.YIJIAN, "direction": Direction.UP})
    assert rules.check_register({"doc_type": DocType.QINGSHI, "signers": [{"id": 1, "name": "张三"}]}) == {}
    assert rules.check_register({"doc_type": DocType.TONGZHI, "direction": Direction.DOWN}) == {}


def test_r78_main_recipient_required_except_announcements_and_minutes() -> None:
    assert "main_recipients" in rules.check_outgoing(valid(main_recipients=""))
    for doc_type, title in (
        (DocType.GONGGAO, "某某公告"),
        (DocType.TONGGAO, "某某通告"),
        (DocType.JIYAO, "某会议纪要"),
    ):
        assert rules.check_outgoing(valid(doc_type=doc_type, title=title, main_recipients="")) == {}


def test_r78_organ_code_is_chinese_only() -> None:
    assert rules.organ_code_error("协同办发") is None
    assert rules.organ_code_error("XT办发") is not None
    assert rules.organ_code_error("") is not None


def test_r78_doc_no_strict_and_lenient() -> None:
    assert rules.parse_doc_no("协同办发〔2026〕12号") == rules.DocNo("协同办发", 2026, 12)
    for bad in (
        "协同办发[2026]12号",
        "协同办发〔2026〕012号",
        "协同办发〔2026〕第12号",
        "协同办发〔26〕12号",
    ):
        assert rules.parse_doc_no(bad) is None
    assert rules.normalise_doc_no("协同办发[2026]第012号") == "协同办发〔2026〕12号"
    assert rules.normalise_doc_no("协同办发（2026）3号") == "协同办发〔2026〕3号"
    assert rules.normalise_doc_no("不是文号") == "不是文号"
    assert rules.format_doc_no("协同办发", 2026, 12) == "协同办发〔2026〕12号"


def test_r78_date_written_has_no_zero_padding() -> None:
    assert rules.format_date(dt.date(2026, 3, 5)) == "2026年3月5日"
    assert rules.parse_date("2026年3月5日") == dt.date(2026, 3, 5)
    assert rules.parse_date("2026年03月05日") is None
    assert rules.parse_date("2026年2月30日") is None


def test_r78_secret_term_format_and_required_when_classified() -> None:
    for term in ("5年", "6个月", "长期", "公布前"):
        assert rules.secret_term_error(2, term) is None
    assert rules.secret_term_error(2, "") is not None
    assert rules.secret_term_error(2, "五年") is not None
    assert rules.secret_term_error(1, "") is None
    assert "secret_term" in rules.check_outgoing(valid(classification=2))
    assert rules.secret_mark(2, "5年") == "普通商密★5年"
    assert rules.secret_mark(1, "") == ""


def test_r78_state_secrets_refused() -> None:
    assert "classification" in rules.check_outgoing(valid(title="机密★10年 关于某事的通知"))
    assert "classification" in rules.check_outgoing(valid(classification=9))


def test_r78_attachment_note_from_titles() -> None:
    assert rules.attachment_note(["检查表"]) == ["附件：检查表"]
    assert rules.attachment_note(["检查表", "人员名单"]) == ["附件：1.检查表", "2.人员名单"]
    assert rules.attachment_note([]) == []
    assert rules.attachment_title_error("检查表") is None
    assert rules.attachment_title_error("检查表。") is not None
    assert "attachments" in rules.check_outgoing(valid(attachments=["名单；"]))


@pytest.mark.parametrize(
    ("doc_type", "direction"),
    [
        (DocType.QINGSHI, Direction.UP),
        (DocType.BAOGAO, Direction.UP),
        (DocType.HAN, Direction.PEER),
        (DocType.TONGZHI, Direction.DOWN),
    ],
)
def test_r78_default_direction(doc_type: str, direction: str) -> None:
    assert rules.default_direction(doc_type) == direction


def test_field_errors_carry_per_field_details() -> None:
    error = rules.FieldErrors({"title": ["请填写标题。"], "body": []})
    assert error.status == 422
    assert error.details == [{"field": "title", "message": "请填写标题。"}]
