"""The validity rules of a 公文's elements: pure functions over plain values, each refusal a
message in Chinese naming the field.

Sources: 条例 第八条 (the 15 文种 and their use), 第九条 (the 18 elements), the 行文规则 of
条例 chapter 4 (请示 一文一事 with one 主送机关, no 请示事项 in a 报告, 签发人 on a 上行文), and
GB/T 9704-2012 §7 for the exact forms (发文字号 §7.2.4, 成文日期 §7.3.5, 附件说明 §7.3.3,
密级和保密期限 §7.2.2).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from xietong.core import classification as levels
from xietong.core.errors import DomainError
from xietong.documents.models import Direction, DocType

# --------------------------------------------------------------------------- 文种

#: The name a title ends with, per 文种 (条例 第八条). 命令 may also end with 令.
TYPE_NAMES: Mapping[str, tuple[str, ...]] = {
    DocType.JUEYI: ("决议",),
    DocType.JUEDING: ("决定",),
    DocType.MINGLING: ("命令", "令"),
    DocType.GONGBAO: ("公报",),
    DocType.GONGGAO: ("公告",),
    DocType.TONGGAO: ("通告",),
    DocType.YIJIAN: ("意见",),
    DocType.TONGZHI: ("通知",),
    DocType.TONGBAO: ("通报",),
    DocType.BAOGAO: ("报告",),
    DocType.QINGSHI: ("请示",),
    DocType.PIFU: ("批复",),
    DocType.YIAN: ("议案",),
    DocType.HAN: ("函",),
    DocType.JIYAO: ("纪要",),
}

#: The usual 行文方向 of each 文种 (domain reference §1.1).
DEFAULT_DIRECTION: Mapping[str, str] = {
    DocType.JUEYI: Direction.DOWN,
    DocType.JUEDING: Direction.DOWN,
    DocType.MINGLING: Direction.DOWN,
    DocType.GONGBAO: Direction.DOWN,
    DocType.GONGGAO: Direction.DOWN,
    DocType.TONGGAO: Direction.DOWN,
    DocType.YIJIAN: Direction.DOWN,
    DocType.TONGZHI: Direction.DOWN,
    DocType.TONGBAO: Direction.DOWN,
    DocType.BAOGAO: Direction.UP,
    DocType.QINGSHI: Direction.UP,
    DocType.PIFU: Direction.DOWN,
    DocType.YIAN: Direction.UP,
    DocType.HAN: Direction.PEER,
    DocType.JIYAO: Direction.DOWN,
}

#: 请示 and 报告 go to a superior, always.
ALWAYS_UP = frozenset({DocType.QINGSHI, DocType.BAOGAO})
#: 公告 and 通告 are published, a 纪要 is kept: no 主送机关 needed.
NO_MAIN_RECIPIENT = frozenset({DocType.GONGGAO, DocType.TONGGAO, DocType.JIYAO})

#: 请示事项 a 报告 must not carry (行文规则: "报告中不得夹带请示事项").
REQUEST_PHRASES = (
    "请批示",
    "请批复",
    "请审批",
    "请批准",
    "请予批准",
    "请审核批准",
    "请核准",
    "妥否",
    "请指示",
)

#: Separators between organ names: a 请示 with one of them names more than one 主送机关.
_SEPARATORS = re.compile(r"[、，,；;/\s]")


def default_direction(doc_type: str) -> str:
    return DEFAULT_DIRECTION.get(doc_type, Direction.DOWN)


def effective_direction(doc_type: str, direction: str) -> str:
    """请示 and 报告 are 上行文 whatever was chosen."""
    return Direction.UP if doc_type in ALWAYS_UP else direction


def is_upward(doc_type: str, direction: str) -> bool:
    return effective_direction(doc_type, direction) == Direction.UP


def type_label(doc_type: str) -> str:
    try:
        return str(DocType(doc_type).label)
    except ValueError:
        return doc_type


def title_ends_with_type(title: str, doc_type: str) -> bool:
    names = TYPE_NAMES.get(doc_type, ())
    text = title.strip()
    return any(text.endswith(name) for name in names)


# --------------------------------------------------------------------------- 机关代字, 发文字号

ORGAN_CODE = re.compile(r"^[\u4e00-\u9fff]{1,20}$")
#: 9704 §7.2.4: 机关代字 + 年份 in 六角括号 + 序号 without 第, leading zeros or gaps + 号.
DOC_NO_STRICT = re.compile(
    r"^(?P<code>[\u4e00-\u9fff]{1,20})〔(?P<year>(19|20)\d{2})〕(?P<seq>[1-9]\d{0,5})号$"
)
#: Numbers typed by hand or imported: wrong brackets, 第, leading zeros; normalised on reading.
DOC_NO_LENIENT = re.compile(
    r"^(?P<code>[\u4e00-\u9fffA-Za-z]{1,20})\s*[〔\[［【(（]\s*(?P<year>\d{4})\s*[〕\]］】)）]\s*第?0*(?P<seq>[1-9]\d*)\s*号$"
)


@dataclass(frozen=True)
class DocNo:
    code: str
    year: int
    seq: int

    def __str__(self) -> str:
        return format_doc_no(self.code, self.year, self.seq)


def organ_code_error(code: str) -> str | None:
    if not ORGAN_CODE.match(code or ""):
        return _("机关代字只能由 1 至 20 个汉字组成，例如“协同办发”。")
    return None


def format_doc_no(code: str, year: int, seq: int) -> str:
    """``协同办发〔2026〕12号``."""
    return f"{code}〔{year}〕{seq}号"


def parse_doc_no(text: str, *, lenient: bool = False) -> DocNo | None:
    """The parts of a 发文字号, or None when it is not one (``lenient`` for imported numbers)."""
    value = (text or "").strip()
    match = (DOC_NO_LENIENT if lenient else DOC_NO_STRICT).match(value)
    if match is None:
        return None
    return DocNo(match["code"], int(match["year"]), int(match["seq"]))


def normalise_doc_no(text: str) -> str:
    """A hand-typed number in the form of 9704 (``协同办发[2026]第012号`` → ``协同办发〔2026〕12号``);
    the text unchanged (stripped) when it cannot be read as a number."""
    parsed = parse_doc_no(text, lenient=True)
    return str(parsed) if parsed is not None else (text or "").strip()


# --------------------------------------------------------------------------- dates

DATE_WRITTEN = re.compile(r"^(?P<y>\d{4})年(?P<m>[1-9]|1[0-2])月(?P<d>[1-9]|[12]\d|3[01])日$")


def format_date(day: dt.date | None) -> str:
    """成文日期 as printed: ``2026年3月5日`` (Arabic numerals, no zero padding, 9704 §7.3.5)."""
    if day is None:
        return ""
    return f"{day.year}年{day.month}月{day.day}日"


def parse_date(text: str) -> dt.date | None:
    match = DATE_WRITTEN.match((text or "").strip())
    if match is None:
        return None
    try:
        return dt.date(int(match["y"]), int(match["m"]), int(match["d"]))
    except ValueError:
        return None


# --------------------------------------------------------------------------- 密级, 保密期限

SECRET_TERM = re.compile(r"^(?:[1-9]\d{0,2}年|[1-9]\d{0,2}个月|长期|公布前)$")
#: State-secret levels: refused on a system not approved for them (domain reference §6.4).
STATE_SECRETS = ("绝密", "机密", "秘密")


def secret_term_error(level: int, term: str) -> str | None:
    term = (term or "").strip()
    if levels.is_classified(level) and not term:
        return _("密级为“%(level)s”的公文须填写保密期限。") % {"level": levels.label(level)}
    if term and not SECRET_TERM.match(term):
        return _("保密期限格式无效：应为“5年”“6个月”“长期”或“公布前”。")
    return None


def secret_mark(level: int, term: str) -> str:
    """``普通商密★5年``; empty below the classified levels (nothing to print)."""
    if not levels.is_classified(level):
        return ""
    label = levels.label(level)
    return f"{label}★{term}" if term else label


# --------------------------------------------------------------------------- 附件说明

_TRAILING_PUNCTUATION = "。；;，,.、：:！!？?"


def attachment_title_error(title: str) -> str | None:
    text = (title or "").strip()
    if not text:
        return _("附件名称不能为空。")
    if len(text) > 200:
        return _("附件名称不能超过 200 个字。")
    if text[-1] in _TRAILING_PUNCTUATION:
        return _("附件名称“%(title)s”末尾不能有标点符号。") % {"title": text}
    return None


def attachment_note(titles: Sequence[str]) -> list[str]:
    """The 附件说明 lines (9704 §7.3.3): ``附件：××`` for one, ``附件：1.××`` / ``2.××`` for several."""
    names = [title.strip() for title in titles if title.strip()]
    if not names:
        return []
    if len(names) == 1:
        return [f"附件：{names[0]}"]
    return [f"附件：1.{names[0]}", *(f"{number}.{name}" for number, name in enumerate(names[1:], start=2))]


# --------------------------------------------------------------------------- the validator


class FieldErrors(DomainError):
    """Elements that break the rules: ``errors`` maps each field to its messages."""

    status = 422
    code = "validation_error"

    def __init__(self, errors: Mapping[str, Sequence[str]]) -> None:
        self.errors = {key: list(messages) for key, messages in errors.items() if messages}
        first = next(iter(self.errors.values()))[0] if self.errors else _("提交的数据有误。")
        details = [
            {"field": field, "message": message}
            for field, messages in self.errors.items()
            for message in messages
        ]
        super().__init__(first, details=details)


def _add(errors: dict[str, list[str]], field: str, message: str | None) -> None:
    if message:
        errors.setdefault(field, []).append(message)


def check_outgoing(fields: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every rule over the elements of an outgoing document at submission.

    ``fields``: ``doc_type``, ``direction``, ``title``, ``main_recipients`` (printed names),
    ``main_units`` (ids), ``body`` (plain text), ``classification``, ``secret_term``,
    ``attachments`` (titles in order), ``organ_code``. Missing keys count as empty.
    Returns ``{field: [message, …]}``, empty when the document is valid.
    """
    errors: dict[str, list[str]] = {}
    doc_type = str(fields.get("doc_type") or "")
    direction = str(fields.get("direction") or "")
    title = str(fields.get("title") or "").strip()
    main = str(fields.get("main_recipients") or "").strip()
    main_units = list(fields.get("main_units") or ())
    body = str(fields.get("body") or "")
    if doc_type not in TYPE_NAMES:
        _add(errors, "doc_type", _("请选择文种。"))
    if direction and direction not in Direction.values:
        _add(errors, "direction", _("行文方向无效。"))
    if not title:
        _add(errors, "title", _("请填写标题。"))
    elif doc_type in TYPE_NAMES and not title_ends_with_type(title, doc_type):
        _add(
            errors,
            "title",
            _("标题应以文种“%(type)s”结尾，例如“关于……的%(type)s”。") % {"type": TYPE_NAMES[doc_type][0]},
        )
    if doc_type and doc_type not in NO_MAIN_RECIPIENT and not main:
        _add(errors, "main_recipients", _("请填写主送机关。"))
    if doc_type == DocType.QINGSHI:
        # 一文一事, one 主送机关; other superiors are 抄送 (行文规则).
        if _SEPARATORS.search(main) or len(main_units) > 1:
            _add(errors, "main_recipients", _("请示只能主送一个上级机关，其他机关请列为抄送。"))
        if direction and direction != Direction.UP:
            _add(errors, "direction", _("请示是上行文，不能向下级机关行文。"))
    if doc_type == DocType.BAOGAO:
        found = [phrase for phrase in REQUEST_PHRASES if phrase in body or phrase in title]
        if found:
            _add(
                errors,
                "body",
                _("报告中不得夹带请示事项（发现“%(phrases)s”），请改用请示。")
                % {"phrases": "、".join(found)},
            )
        if direction and direction != Direction.UP:
            _add(errors, "direction", _("报告是上行文。"))
    if not body.strip():
        _add(errors, "body", _("请填写正文或上传正文文件。"))
    level = fields.get("classification") or 0
    if not isinstance(level, int) or level not in levels.levels():
        _add(errors, "classification", _("密级无效。"))
    else:
        _add(errors, "secret_term", secret_term_error(level, str(fields.get("secret_term") or "")))
    term = str(fields.get("secret_term") or "")
    if any(word in term or f"{word}★" in title for word in STATE_SECRETS):
        _add(errors, "classification", _("本系统不得处理涉及国家秘密的公文。"))
    for title_of_attachment in fields.get("attachments") or ():
        _add(errors, "attachments", attachment_title_error(str(title_of_attachment)))
    code = fields.get("organ_code")
    if code is not None:
        _add(errors, "organ", organ_code_error(str(code)))
    return errors


def check_register(fields: Mapping[str, Any]) -> dict[str, list[str]]:
    """登记 needs the 签发人 of a 上行文 (条例 第九条(六))."""
    errors: dict[str, list[str]] = {}
    if is_upward(str(fields.get("doc_type") or ""), str(fields.get("direction") or "")) and not fields.get(
        "signers"
    ):
        _add(errors, "signers", _("上行文须标注签发人，签发后才能登记。"))
    return errors


def require(errors: Mapping[str, Sequence[str]]) -> None:
    """Raise ``FieldErrors`` when there are any."""
    if any(errors.values()):
        raise FieldErrors(errors)
