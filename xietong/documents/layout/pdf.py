"""GB/T 9704-2012 PDF layout of a 公文, drawn with reportlab at exact positions.

Geometry (9704 §5.2.1–§5.2.4): A4, 天头 37 mm, 订口 28 mm, 版心 156 × 225 mm holding 22 lines of
28 字 in 3号 (16 pt): line pitch 225/22 mm, character pitch 156/28 mm. The 版头 of page 1 is
placed in millimetres (§7.2); everything from the 标题 on is set on the 22-line grid and paged.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from reportlab.lib.colors import Color, black  # type: ignore[import-untyped]
from reportlab.lib.pagesizes import A4  # type: ignore[import-untyped]
from reportlab.lib.units import mm as _mm  # type: ignore[import-untyped]
from reportlab.pdfbase import pdfmetrics  # type: ignore[import-untyped]
from reportlab.pdfgen.canvas import Canvas  # type: ignore[import-untyped]

from . import fonts
from .spec import MINGLING, XINHAN, DocumentLayout

mm = float(_mm)
PAGE_W, PAGE_H = float(A4[0]), float(A4[1])
BODY_W = 156 * mm
BODY_H = 225 * mm
X0 = 28 * mm  # 订口
X1 = X0 + BODY_W
Y_TOP = PAGE_H - 37 * mm  # 天头
Y_BOTTOM = Y_TOP - BODY_H
LINES = 22
LINE = BODY_H / LINES  # ≈ 28.99 pt
CHAR = BODY_W / 28  # ≈ 15.79 pt: one 字 of the grid
SIZE_2 = 22.0  # 二号
SIZE_3 = 16.0  # 三号
SIZE_4 = 14.0  # 四号
#: 3号 text is set on the 28-字 grid: each character advances one grid 字, slightly under 16 pt.
GRID_SPACE = CHAR - SIZE_3

#: 9704 §5.2.5 prints red with ink Y80% M80%; on screen that ink reads as a full red, and a
#: DeviceCMYK colour would be converted naively by viewers into a pale salmon.
RED = Color(0.9, 0.0, 0.0)

MARK_MAX = 60.0  # largest 发文机关标志 size in pt; longer names are shrunk to the 版心 width
XINHAN_MARK_MAX = 36.0
SEAL_RADIUS = 21 * mm  # Ø42 mm, the common size of an organ's seal
THICK = 0.35 * mm  # 版记 lines (9704 §7.4.1)
THIN = 0.25 * mm

NO_LINE_START = set("，。、；：？！）》」』〕］｝”’…—·%,.;:?!)]}")
NO_LINE_END = set("（《「『〔［｛“‘([{")
_L1 = re.compile(r"^[一二三四五六七八九十百]+、")
_L2 = re.compile(r"^（[一二三四五六七八九十百]+）")


# ---- Text helpers shared with the DOCX layout -------------------------------------------------


def cn_date(value: object) -> str:
    """``2026年11月29日``: Arabic digits, no zero padding (9704 §7.3.5.1)."""
    year, month, day = (getattr(value, "year", 0), getattr(value, "month", 0), getattr(value, "day", 0))
    return f"{year}年{month}月{day}日" if year else ""


def heading_role(paragraph: str) -> str | None:
    """The face of a heading paragraph (9704 §7.3.3): 一、 黑体, （一） 楷体; 1./（1） stay 仿宋."""
    if _L1.match(paragraph):
        return fonts.HEITI
    if _L2.match(paragraph):
        return fonts.KAITI
    return None


def heading_split(paragraph: str) -> tuple[str, str]:
    """A heading followed by text in the same paragraph: only the heading sentence takes the heading
    face (practice), the rest is 仿宋."""
    end = paragraph.find("。")
    if 0 < end < len(paragraph) - 1:
        return paragraph[: end + 1], paragraph[end + 1 :]
    return paragraph, ""


def attachment_items(attachments: Sequence[str]) -> list[tuple[str, str]]:
    """(prefix, name) per 附件: ``附件：`` + name, or ``附件：1.`` / ``2.`` when several
    (9704 §7.3.4; no punctuation after a name)."""
    names = [a.strip().rstrip("。.，,；;") for a in attachments if a.strip()]
    if len(names) == 1:
        return [("", names[0])]
    return [(f"{i}.", name) for i, name in enumerate(names, start=1)]


def note_text(note: str) -> str:
    note = note.strip()
    if not note:
        return ""
    return note if note.startswith(("（", "(")) else f"（{note}）"


def cc_text(cc: str) -> str:
    """``A，B。``: full-width commas, a full stop after the last name (9704 §7.4.2)."""
    names = [n.strip() for n in re.split(r"[，,、;；\n]+", cc.strip().rstrip("。.")) if n.strip()]
    return "，".join(names) + "。" if names else ""


# ---- Line building ---------------------------------------------------------------------------


@dataclass
class Seg:
    x: float
    text: str
    font: str
    size: float
    space: float = 0.0  # reportlab charSpace
    color: Color = black


@dataclass
class Row:
    segs: list[Seg] = field(default_factory=list)
    #: Drawn once the row has a place: (canvas, top of the row).
    after: Callable[[Canvas, float], None] | None = None


@dataclass
class Block:
    rows: list[Row]
    gap_before: int = 0  # blank lines above; dropped at the top of a page
    keep_together: bool = False
    #: Never alone on a page: take the previous line along (9704 §7.3.5.1 for 署名/日期).
    keep_with_prev: bool = False


Run = tuple[str, str, float]  # text, font name, size


def _ascent(font: str) -> float:
    """Top of the em box above the baseline, as a share of the size (pdfminer measures the same)."""
    face = getattr(pdfmetrics.getFont(font), "face", None)
    descent = float(getattr(face, "descent", -120) or -120)
    return 1 + descent / 1000


def _width(text: str, font: str, size: float, space: float = 0.0) -> float:
    if not text:
        return 0.0
    return float(pdfmetrics.stringWidth(text, font, size)) + space * (len(text) - 1)


def _chars(runs: Sequence[Run], space: float) -> list[tuple[str, str, float, float]]:
    out = []
    for text, font, size in runs:
        for ch in text:
            face = fonts.font_for(font, ch)
            out.append((ch, face, size, pdfmetrics.stringWidth(ch, face, size) + space))
    return out


def _breaks(chars: list[tuple[str, str, float, float]], widths: Callable[[int], float]) -> list[int]:
    """Line starts: greedy, keeping closing punctuation off a line start and opening punctuation
    off a line end (GB/T 15834 practice)."""
    starts = [0]
    i, n = 0, len(chars)
    while i < n:
        avail = widths(len(starts) - 1)
        used, j = 0.0, i
        while j < n and (j == i or used + chars[j][3] - 0.01 <= avail + 0.01):
            used += chars[j][3]
            j += 1
        if j >= n:
            break
        k = j
        while k - 1 > i and (chars[k][0] in NO_LINE_START or chars[k - 1][0] in NO_LINE_END):
            k -= 1
        if k - 1 <= i:
            k = j
        starts.append(k)
        i = k
    return starts


def _segs(chars: list[tuple[str, str, float, float]], x: float, space: float, color: Color) -> list[Seg]:
    segs: list[Seg] = []
    for ch, face, size, adv in chars:
        if segs and segs[-1].font == face and segs[-1].size == size:
            segs[-1].text += ch
        else:
            segs.append(Seg(x, ch, face, size, space, color))
        x += adv
    return segs


def _line_width(chars: list[tuple[str, str, float, float]], space: float) -> float:
    return sum(c[3] for c in chars) - (space if chars else 0.0)


def wrap(
    runs: Sequence[Run],
    first_x: float,
    rest_x: float | None = None,
    right: float = X1,
    space: float = GRID_SPACE,
    align: str = "left",
    color: Color = black,
    balance: bool = False,
) -> list[list[Seg]]:
    """Lines of segments: the first starts at ``first_x``, the others at ``rest_x``."""
    rest = first_x if rest_x is None else rest_x
    chars = _chars(runs, space)
    if not chars:
        return []

    def avail(index: int) -> float:
        return right - (first_x if index == 0 else rest) + space

    starts = _breaks(chars, avail)
    if balance and len(starts) > 1:
        # 9704 §7.3.1: a wrapped 标题 keeps a balanced shape instead of a full line over a stub.
        total = sum(c[3] for c in chars)
        target = total / len(starts) + max(c[3] for c in chars) * 0.5
        balanced = _breaks(chars, lambda i: min(avail(i), target))
        if len(balanced) == len(starts):
            starts = balanced
    lines = []
    for index, start in enumerate(starts):
        end = starts[index + 1] if index + 1 < len(starts) else len(chars)
        part = chars[start:end]
        x = first_x if index == 0 else rest
        if align == "center":
            x = X0 + (BODY_W - _line_width(part, space)) / 2
        elif align == "right":
            x = right - _line_width(part, space)
        lines.append(_segs(part, x, space, color))
    return lines


def _one(text: str, font: str, size: float, x: float, space: float = 0.0, color: Color = black) -> Seg:
    return Seg(x, text, font, size, space, color)


# ---- Drawing ---------------------------------------------------------------------------------


def _draw_seg(c: Canvas, seg: Seg, baseline: float) -> None:
    if not seg.text:
        return
    text = c.beginText(seg.x, baseline)
    text.setFont(seg.font, seg.size)
    text.setCharSpace(seg.space)
    text.setFillColor(seg.color)
    text.textOut(seg.text)
    c.drawText(text)


def _draw_row(c: Canvas, row: Row, top: float) -> None:
    for seg in row.segs:
        # Centred in the line box: the grid line is taller than the type (§5.2.3).
        em_top = top - (LINE - seg.size) / 2
        _draw_seg(c, seg, em_top - seg.size * _ascent(seg.font))
    if row.after is not None:
        row.after(c, top)


def _draw_at_top(c: Canvas, segs: Sequence[Seg], em_top: float) -> float:
    """Draw one line whose em box top is ``em_top``; returns its em box bottom."""
    size = max((s.size for s in segs), default=SIZE_3)
    for seg in segs:
        _draw_seg(c, seg, em_top - seg.size * _ascent(seg.font))
    return em_top - size


def _hline(c: Canvas, x0: float, x1: float, y: float, width: float, color: Color = black) -> None:
    c.setStrokeColor(color)
    c.setLineWidth(width)
    c.setLineCap(0)
    c.line(x0, y, x1, y)


def _star(c: Canvas, cx: float, cy: float, radius: float) -> None:
    path = c.beginPath()
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        a = math.radians(90 + i * 36)
        x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        if i == 0:
            path.moveTo(x, y)
        else:
            path.lineTo(x, y)
    path.close()
    c.drawPath(path, stroke=0, fill=1)


def draw_seal(c: Canvas, cx: float, cy: float, organ: str) -> None:
    """A vector seal: red ring, the organ name on the upper arc, a five-pointed star.

    Multiply blending lets the 署名 and 日期 show through, as ink under a real seal does."""
    c.saveState()
    c.setBlendMode("Multiply")
    c.setStrokeColor(RED)
    c.setFillColor(RED)
    ring = 1.2 * mm
    c.setLineWidth(ring)
    c.circle(cx, cy, SEAL_RADIUS - ring / 2, stroke=1, fill=0)
    _star(c, cx, cy, 6 * mm)
    name = organ.strip()
    if name:
        font = fonts.font_name(fonts.SONG)
        span = min(230.0, 22.0 * len(name)) if len(name) > 1 else 0.0
        step = span / (len(name) - 1) if len(name) > 1 else 0.0
        radius_text = SEAL_RADIUS - ring - 2.2 * mm
        size = min(5.5 * mm, 2 * math.pi * radius_text * (step or 40) / 360 * 0.9)
        baseline_r = radius_text - size * 0.88
        for i, ch in enumerate(name):
            angle = 90 + span / 2 - i * step
            rad = math.radians(angle)
            c.saveState()
            c.translate(cx + baseline_r * math.cos(rad), cy + baseline_r * math.sin(rad))
            c.rotate(angle - 90)
            c.setFont(fonts.font_for(font, ch), size)
            c.drawCentredString(0, 0, ch)
            c.restoreState()
    c.restoreState()


# ---- The document ----------------------------------------------------------------------------


class _Layout:
    def __init__(self, spec: DocumentLayout) -> None:
        self.spec = spec
        self.fs = fonts.font_name(fonts.FANGSONG)
        self.hei = fonts.font_name(fonts.HEITI)
        self.kai = fonts.font_name(fonts.KAITI)
        self.xbs = fonts.font_name(fonts.XIAOBIAOSONG)
        self.song = fonts.font_name(fonts.SONG)
        self.signature_row: tuple[int, int] | None = None
        self.seal_rows = 0
        self.colophon: tuple[int, list[tuple[int, float]]] = (LINES, [])

    # -- 版头 (page 1, absolute positions) --

    def _mark_size(self, text: str, cap: float) -> float:
        unit = pdfmetrics.stringWidth(text, self.xbs, 1) or 1
        return float(min(cap, BODY_W / unit))

    def _mark(self, c: Canvas, em_top: float, cap: float) -> float:
        text = self.spec.issuer_mark.strip()
        if not text:
            return em_top
        size = self._mark_size(text, cap)
        x = X0 + (BODY_W - pdfmetrics.stringWidth(text, self.xbs, size)) / 2
        return _draw_at_top(c, [_one(text, self.xbs, size, x, color=RED)], em_top)

    def _front_items(self) -> list[Seg]:
        """份号 / 密级和保密期限 / 紧急程度, flush left in that order (9704 §7.2.1–§7.2.3)."""
        spec = self.spec
        items = []
        if spec.copy_no.strip():
            items.append(_one(spec.copy_no.strip(), self.fs, SIZE_3, X0, GRID_SPACE))
        if spec.secret_mark.strip():
            items.append(_one(spec.secret_mark.strip(), self.hei, SIZE_3, X0, GRID_SPACE))
        if spec.urgency.strip():
            items.append(_one(spec.urgency.strip(), self.hei, SIZE_3, X0, GRID_SPACE))
        return items

    def _number_lines(self) -> list[list[Seg]]:
        """The 发文字号 line(s): centred, or for a 上行文 indented 1 字 with the 签发人 block
        right-aligned 1 字 from the edge, the number on the last 签发人 line (§7.2.5, §7.2.6)."""
        spec = self.spec
        number = spec.doc_no.strip()
        signers = [s.strip() for s in spec.signers if s.strip()]
        if not signers:
            if not number:
                return [[]]
            w = _width(number, self.fs, SIZE_3, GRID_SPACE)
            return [[_one(number, self.fs, SIZE_3, X0 + (BODY_W - w) / 2, GRID_SPACE)]]
        label = "签发人："
        label_w = _width(label, self.fs, SIZE_3, GRID_SPACE) + GRID_SPACE
        rows = [signers[i : i + 2] for i in range(0, len(signers), 2)]
        gap = CHAR
        widths = [
            sum(_width(n, self.kai, SIZE_3, GRID_SPACE) + GRID_SPACE for n in r) + gap * (len(r) - 1)
            for r in rows
        ]
        names_x = X1 - CHAR - max(widths) + GRID_SPACE
        lines: list[list[Seg]] = []
        for index, names in enumerate(rows):
            segs = []
            if index == 0:
                segs.append(_one(label, self.fs, SIZE_3, names_x - label_w, GRID_SPACE))
            x = names_x
            for name in names:
                segs.append(_one(name, self.kai, SIZE_3, x, GRID_SPACE))
                x += _width(name, self.kai, SIZE_3, GRID_SPACE) + GRID_SPACE + gap
            lines.append(segs)
        if number:
            lines[-1].insert(0, _one(number, self.fs, SIZE_3, X0 + CHAR, GRID_SPACE))
        return lines

    def header(self, c: Canvas) -> int:
        """Draw the 版头 of page 1; returns the grid line the 主体 starts on."""
        kind = self.spec.layout_kind
        if kind == XINHAN:
            return self._header_xinhan(c)
        for index, seg in enumerate(self._front_items()):
            _draw_row(c, Row([seg]), Y_TOP - index * LINE)
        # 标志 top 35 mm below the 版心 top (§7.2.4); 命令 20 mm (§10.2).
        mark_top = Y_TOP - (20 * mm if kind == MINGLING else 35 * mm)
        bottom = self._mark(c, mark_top, MARK_MAX)
        em_top = bottom - 2 * LINE  # 2 lines below the 标志 (§7.2.5; 令号 §10.2)
        for index, segs in enumerate(self._number_lines()):
            bottom = _draw_at_top(c, segs, em_top - index * LINE)
        if kind == MINGLING:
            # No separator in the 命令 format; the 正文 begins 2 lines below the 令号.
            return math.ceil((Y_TOP - bottom) / LINE - 0.01) + 2
        red_y = bottom - 4 * mm  # §7.2.7: 4 mm below the 发文字号, full 版心 width
        _hline(c, X0, X1, red_y, 0.5 * mm, RED)
        return math.ceil((Y_TOP - red_y) / LINE - 0.01) + 2

    def _double_line(self, c: Canvas, y: float, thick_on_top: bool) -> None:
        x0 = X0 + BODY_W / 2 - 85 * mm  # 170 mm long, centred (§10.1)
        x1 = x0 + 170 * mm
        thick, thin, gap = 1.0 * mm, 0.3 * mm, 0.8 * mm
        if thick_on_top:
            _hline(c, x0, x1, y, thick, RED)
            _hline(c, x0, x1, y - thick / 2 - gap - thin / 2, thin, RED)
        else:
            _hline(c, x0, x1, y, thick, RED)
            _hline(c, x0, x1, y + thick / 2 + gap + thin / 2, thin, RED)

    def _header_xinhan(self, c: Canvas) -> int:
        # §10.1: 标志 30 mm below the paper top; thick-over-thin double line 4 mm below it;
        # thin-over-thick 20 mm above the paper bottom.
        bottom = self._mark(c, PAGE_H - 30 * mm, XINHAN_MARK_MAX)
        thick_y = bottom - 4 * mm
        self._double_line(c, thick_y, thick_on_top=True)
        self._double_line(c, 20 * mm, thick_on_top=False)
        below = thick_y - 0.5 * mm - 0.8 * mm - 0.3 * mm
        em_top = below - SIZE_3 * 7 / 8  # 7/8 of a 3号 character below the line
        items = self._front_items()
        number = self.spec.doc_no.strip()
        last = em_top
        for index, seg in enumerate(items):
            last = em_top - index * LINE
            _draw_at_top(c, [seg], last)
        end = last - SIZE_3
        if number:
            # 发文字号 flush right, level with the last element on the left.
            w = _width(number, self.fs, SIZE_3, GRID_SPACE)
            end = _draw_at_top(c, [_one(number, self.fs, SIZE_3, X1 - w, GRID_SPACE)], last)
        return max(0, math.ceil((Y_TOP - end) / LINE - 0.01)) + 2

    # -- 主体 (grid rows) --

    def _rows(self, lines: list[list[Seg]]) -> list[Row]:
        return [Row(segs) for segs in lines]

    def body_blocks(self) -> list[Block]:
        spec = self.spec
        blocks: list[Block] = []
        if spec.title.strip() and spec.layout_kind != MINGLING:
            title = wrap(
                [(spec.title.strip(), self.xbs, SIZE_2)], X0, space=0.0, align="center", balance=True
            )
            blocks.append(Block(self._rows(title), keep_together=True))
        if spec.main_recipients.strip():
            text = spec.main_recipients.strip().rstrip("：:") + "："
            blocks.append(
                Block(self._rows(wrap([(text, self.fs, SIZE_3)], X0)), gap_before=1 if blocks else 0)
            )
        for paragraph in spec.paragraphs:
            paragraph = paragraph.strip()
            if not paragraph:
                continue
            role = heading_role(paragraph)
            runs: list[Run]
            if role is not None:
                head, rest = heading_split(paragraph)
                runs = [(head, fonts.font_name(role), SIZE_3), (rest, self.fs, SIZE_3)]
            else:
                runs = [(paragraph, self.fs, SIZE_3)]
            # A 正文 right under the 标题 (no 主送, e.g. a 纪要) keeps one blank line.
            gap = 1 if len(blocks) == 1 and blocks[0].keep_together else 0
            blocks.append(Block(self._rows(wrap(runs, X0 + 2 * CHAR, X0)), gap_before=gap))
        blocks.extend(self._attachment_blocks())
        blocks.extend(self._attendance_blocks())
        blocks.extend(self._signature_blocks())
        return blocks

    def _attachment_blocks(self) -> list[Block]:
        items = attachment_items(self.spec.attachments)
        if not items:
            return []
        label = "附件："
        x_label = X0 + 2 * CHAR
        x_item = x_label + _width(label, self.fs, SIZE_3, GRID_SPACE) + GRID_SPACE
        blocks = []
        for index, (prefix, name) in enumerate(items):
            x_name = x_item + _width(prefix, self.fs, SIZE_3, GRID_SPACE) + (GRID_SPACE if prefix else 0)
            lines = wrap([(name, self.fs, SIZE_3)], x_name)
            first = lines[0]
            if prefix:
                first.insert(0, _one(prefix, self.fs, SIZE_3, x_item, GRID_SPACE))
            if index == 0:
                first.insert(0, _one(label, self.fs, SIZE_3, x_label, GRID_SPACE))
            blocks.append(Block(self._rows(lines), gap_before=1 if index == 0 else 0))
        return blocks

    def _attendance_blocks(self) -> list[Block]:
        """纪要 出席/请假/列席: 黑体 label, 仿宋 names aligned after the colon (9704 §10.3)."""
        blocks = []
        x = X0 + 2 * CHAR
        for index, (label, names) in enumerate(self.spec.attendance):
            head = label.strip().rstrip("：:") + "："
            names_x = x + _width(head, self.hei, SIZE_3, GRID_SPACE) + GRID_SPACE
            lines = wrap([(names.strip(), self.fs, SIZE_3)], names_x) or [[]]
            lines[0].insert(0, _one(head, self.hei, SIZE_3, x, GRID_SPACE))
            blocks.append(Block(self._rows(lines), gap_before=1 if index == 0 else 0))
        return blocks

    def _signature_blocks(self) -> list[Block]:
        """发文机关署名, 成文日期, 印章 and 附注 (9704 §7.3.5, §7.3.6)."""
        spec = self.spec
        org = spec.signature_org.strip()
        date = cn_date(spec.date_written) if spec.date_written else ""
        if not org and not date:
            note = note_text(spec.note)
            return (
                [Block(self._rows(wrap([(note, self.fs, SIZE_3)], X0 + 2 * CHAR, X0)), gap_before=1)]
                if note
                else []
            )
        w_org = _width(org, self.fs, SIZE_3, GRID_SPACE)
        w_date = _width(date, self.fs, SIZE_3, GRID_SPACE)
        rows: list[Row] = []
        if spec.layout_kind == MINGLING:
            # 签名章 layout (§7.3.5.3, §10.2): title and signer right-aligned 4 字 from the edge.
            signer = "　".join(s.strip() for s in spec.signers if s.strip())
            w_signer = _width(signer, self.kai, SIZE_3, GRID_SPACE)
            sx = X1 - 4 * CHAR - w_signer
            line = [_one(signer, self.kai, SIZE_3, sx, GRID_SPACE)] if signer else []
            if org:
                line.insert(
                    0, _one(org, self.fs, SIZE_3, sx - (2 * CHAR if signer else 0) - w_org, GRID_SPACE)
                )
            rows.append(Row(line))
            if date:
                rows.append(Row([_one(date, self.fs, SIZE_3, X1 - 4 * CHAR - w_date, GRID_SPACE)]))
            gap = 2
        elif spec.sealed:
            # Date 4 字 from the right, 署名 centred above it, the seal pressing over both.
            right = X1 - 4 * CHAR
            centre = right - (w_date or w_org) / 2
            org_row = Row([_one(org, self.fs, SIZE_3, centre - w_org / 2, GRID_SPACE)] if org else [])

            def seal(c: Canvas, top: float, centre: float = centre, org: str = org) -> None:
                # Seal top within one line below the text above; 署名/日期 a little below its centre.
                draw_seal(c, centre, top - 1 * mm, org)

            org_row.after = seal
            rows.append(org_row)
            if date:
                rows.append(Row([_one(date, self.fs, SIZE_3, right - w_date, GRID_SPACE)]))
            gap = 2
        else:
            # No seal: 署名 2 字 from the right, the date starting 2 字 right of the 署名's first
            # character; a longer date is right-aligned and pushes the 署名 left.
            org_x = X1 - 2 * CHAR - w_org
            date_x = org_x + 2 * CHAR
            if not org or date_x + w_date > X1 - 2 * CHAR:
                date_x = X1 - 2 * CHAR - w_date
                org_x = date_x - 2 * CHAR
            if org:
                rows.append(Row([_one(org, self.fs, SIZE_3, org_x, GRID_SPACE)]))
            if date:
                rows.append(Row([_one(date, self.fs, SIZE_3, date_x, GRID_SPACE)]))
            gap = 1
        note = note_text(spec.note)
        if note:
            rows.extend(self._rows(wrap([(note, self.fs, SIZE_3)], X0 + 2 * CHAR, X0)))
        self.seal_rows = 3 if spec.sealed and spec.layout_kind != MINGLING else 0
        return [Block(rows, gap_before=gap, keep_together=True, keep_with_prev=True)]

    # -- 版记 --

    def colophon_rows(self) -> tuple[list[Row], list[tuple[int, float]]]:
        """Rows of the 版记 and the lines above row ``index`` (9704 §7.4): 4号仿宋, 1 字 in."""
        spec = self.spec
        indent = SIZE_4
        rows: list[Row] = []
        rules: list[tuple[int, float]] = []
        cc = cc_text(spec.cc)
        if cc:
            label = "抄送："
            x = X0 + indent
            names_x = x + _width(label, self.fs, SIZE_4)
            lines = wrap([(cc, self.fs, SIZE_4)], names_x, right=X1 - indent, space=0.0)
            lines[0].insert(0, _one(label, self.fs, SIZE_4, x))
            rows.extend(self._rows(lines))
        printed = spec.layout_kind != XINHAN and (spec.print_org.strip() or spec.print_date)
        if printed:
            segs = []
            if spec.print_org.strip():
                segs.append(_one(spec.print_org.strip(), self.fs, SIZE_4, X0 + indent))
            if spec.print_date:
                text = cn_date(spec.print_date) + "印发"
                segs.append(_one(text, self.fs, SIZE_4, X1 - indent - _width(text, self.fs, SIZE_4)))
            if rows:
                rules.append((len(rows), THIN))
            rows.append(Row(segs))
        if rows and spec.layout_kind != XINHAN:
            rules.insert(0, (0, THICK))
            rules.append((len(rows), THICK))  # the last line is the bottom edge of the 版心
        return rows, rules

    # -- paging --

    def paginate(self, first_row: int) -> list[list[Row | None]]:
        pages: list[list[Row | None]] = [[None] * LINES]
        row = first_row
        last: tuple[int, int] | None = None
        page_start = first_row
        self.seal_rows = 0
        blocks = self.body_blocks()
        for block in blocks:
            gap = block.gap_before if row > page_start else 0
            need = gap + (len(block.rows) if block.keep_together else 1)
            if row + need > LINES:
                pages.append([None] * LINES)
                row, page_start = 0, 0
                gap = 0
                if block.keep_with_prev and last is not None and last[0] == len(pages) - 2:
                    moved = pages[last[0]][last[1]]
                    pages[last[0]][last[1]] = None
                    pages[-1][0] = moved
                    row = 1
                    gap = block.gap_before
                    if row + gap + len(block.rows) > LINES:
                        gap = 0
            row += gap
            for index, item in enumerate(block.rows):
                if row >= LINES:
                    pages.append([None] * LINES)
                    row, page_start = 0, 0
                pages[-1][row] = item
                if index == 0 and block is blocks[-1] and self.seal_rows:
                    self.signature_row = (len(pages) - 1, row)
                last = (len(pages) - 1, row)
                row += 1
        if self.signature_row is not None and self.signature_row[0] == len(pages) - 1:
            row = max(row, self.signature_row[1] + self.seal_rows)
        rows, rules = self.colophon_rows()
        if rows:
            if row + len(rows) > LINES:
                pages.append([None] * LINES)
            start = LINES - len(rows)
            for index, item in enumerate(rows):
                pages[-1][start + index] = item
            self.colophon = (start, rules)
        else:
            self.colophon = (LINES, [])
        return pages


def _page_number(c: Canvas, number: int, font: str) -> None:
    """``— n —`` in 4号 宋, 7 mm below the 版心; odd pages right, even left, 1 字 in (§7.5)."""
    text = f"— {number} —"
    width = _width(text, font, SIZE_4)
    x = X1 - SIZE_4 - width if number % 2 else X0 + SIZE_4
    em_top = Y_BOTTOM - 7 * mm
    _draw_seg(c, Seg(x, text, font, SIZE_4), em_top - SIZE_4 * _ascent(font))


def render_pdf(spec: DocumentLayout) -> bytes:
    layout = _Layout(spec)
    buffer = io.BytesIO()
    c = Canvas(buffer, pagesize=A4, pageCompression=1)
    c.setTitle(spec.title)
    c.setSubject(spec.doc_no)
    c.setCreator("Xietong")
    c.setAuthor(spec.signature_org or spec.print_org)
    c.setKeywords(spec.layout_kind)

    # Page 1's 版头 must be drawn before paging to know where the 主体 starts; draw it into a
    # scratch canvas first (the geometry does not depend on the body).
    first_row = layout.header(Canvas(io.BytesIO(), pagesize=A4))
    pages = layout.paginate(first_row)
    start, rules = layout.colophon
    for index, rows in enumerate(pages):
        if index == 0:
            layout.header(c)
        for slot, row in enumerate(rows):
            if row is not None:
                _draw_row(c, row, Y_TOP - slot * LINE)
        if index == len(pages) - 1:
            for offset, width in rules:
                y = Y_TOP - (start + offset) * LINE
                if start + offset == LINES:
                    y = Y_BOTTOM + width / 2
                _hline(c, X0, X1, y, width)
        number = index + 1
        if not (spec.layout_kind == XINHAN and number == 1):  # §10.1: none on a 信函's first page
            _page_number(c, number, layout.song)
        c.showPage()
    c.save()
    return buffer.getvalue()
