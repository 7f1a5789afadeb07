"""What a 公文 layout prints: the elements of 条例 第九条 as plain values, so that the layout
code (``pdf``, ``docx``) knows nothing of models and the services build one from a document.

9704 places each element; this spec only carries the text. Empty values are left out of the
page (no 份号 on an unclassified document, no 签发人 on a 下行文, no 附注 …).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

WENJIAN = "wenjian"  # 文件格式 (9704 §7)
XINHAN = "xinhan"  # 信函格式 (§10.1)
MINGLING = "mingling"  # 命令(令)格式 (§10.2)
JIYAO = "jiyao"  # 纪要格式 (§10.3)
KINDS = (WENJIAN, XINHAN, MINGLING, JIYAO)


@dataclass(frozen=True)
class DocumentLayout:
    layout_kind: str
    #: 发文机关标志 (red): ``协同集团有限公司文件``; for 纪要 ``协同集团有限公司办公会议纪要``.
    issuer_mark: str
    title: str
    #: 正文 paragraphs in order, as plain text; headings are paragraphs that start with
    #: ``一、`` / ``（一）`` / ``1.`` / ``（1）`` and are set in the fonts of their level.
    paragraphs: tuple[str, ...] = ()
    doc_no: str = ""  # 协同办发〔2026〕12号
    copy_no: str = ""  # 份号, six digits, classified documents only
    secret_mark: str = ""  # 密级和保密期限: 普通商密★5年
    urgency: str = ""  # 紧急程度: 特急 / 加急
    #: 签发人 of a 上行文, in the order of the issuing organs (printed beside the 发文字号).
    signers: tuple[str, ...] = ()
    main_recipients: str = ""  # 主送机关, printed with a full-width colon after it
    #: 附件 titles in order: the 附件说明 is derived from them (no trailing punctuation).
    attachments: tuple[str, ...] = ()
    signature_org: str = ""  # 发文机关署名
    date_written: dt.date | None = None  # 成文日期, printed 2026年11月29日
    #: Draw the 印章 over the 署名 and 日期 (after 用印); otherwise the 无印章 layout.
    sealed: bool = False
    note: str = ""  # 附注, printed in parentheses
    cc: str = ""  # 抄送机关 names, joined by ，
    print_org: str = ""  # 印发机关
    print_date: dt.date | None = None  # 印发日期
    #: 纪要 attendance lines: (``出席`` / ``请假`` / ``列席``, names).
    attendance: tuple[tuple[str, str], ...] = field(default_factory=tuple)
