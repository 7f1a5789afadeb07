"""The icons an administrator may give a shortcut: bootstrap-icons names (bundled, no CDN),
chosen for the business systems of a Chinese enterprise, each with a Chinese label for the picker."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

DEFAULT = "box-arrow-up-right"

ICONS: list[tuple[str, str | Promise]] = [
    (DEFAULT, _("外部链接")),
    ("link-45deg", _("链接")),
    ("globe2", _("网站")),
    ("building", _("企业")),
    ("buildings", _("集团")),
    ("bank", _("银行")),
    ("cash-coin", _("财务")),
    ("cash-stack", _("报销")),
    ("wallet2", _("资金")),
    ("piggy-bank", _("预算")),
    ("calculator", _("核算")),
    ("receipt", _("发票")),
    ("briefcase", _("业务")),
    ("people", _("人力资源")),
    ("person-vcard", _("人事档案")),
    ("person-badge", _("考勤")),
    ("mortarboard", _("培训")),
    ("award", _("绩效")),
    ("truck", _("物流")),
    ("boxes", _("仓储")),
    ("cart3", _("采购")),
    ("shop", _("销售")),
    ("clipboard-check", _("审批")),
    ("clipboard-data", _("填报")),
    ("file-earmark-spreadsheet", _("报表")),
    ("bar-chart-line", _("统计")),
    ("graph-up-arrow", _("经营分析")),
    ("pie-chart", _("数据")),
    ("speedometer2", _("生产监控")),
    ("lightning-charge", _("电力")),
    ("fire", _("安全生产")),
    ("shield-check", _("安全")),
    ("tools", _("设备")),
    ("wrench-adjustable", _("检修")),
    ("hammer", _("工程")),
    ("gear-wide-connected", _("系统配置")),
    ("kanban", _("项目")),
    ("diagram-3", _("组织")),
    ("database", _("数据库")),
    ("server", _("服务器")),
    ("hdd-network", _("网络")),
    ("cloud", _("云平台")),
    ("plug", _("接口")),
    ("ui-checks-grid", _("门户")),
    ("grid-3x3-gap", _("应用")),
    ("journal-text", _("档案")),
    ("book", _("制度")),
    ("folder2-open", _("文件")),
    ("printer", _("用印")),
    ("envelope", _("邮件")),
    ("mailbox2", _("信箱")),
    ("chat-square-text", _("意见")),
    ("telephone", _("电话")),
    ("headset", _("服务台")),
    ("camera-video", _("视频会议")),
    ("calendar3", _("日程")),
    ("clock-history", _("值班")),
    ("geo-alt", _("地图")),
    ("airplane", _("差旅")),
    ("car-front", _("用车")),
    ("cup-hot", _("食堂")),
    ("house", _("后勤")),
    ("hospital", _("医疗")),
    ("tree", _("环保")),
    ("lightbulb", _("创新")),
]

NAMES = frozenset(name for name, _label in ICONS)


def is_known(name: str) -> bool:
    return name in NAMES
