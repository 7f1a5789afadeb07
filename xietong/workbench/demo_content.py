"""Demo content of the workbench: shortcuts to the group's business systems, and a few to-dos
that those systems pushed to 张伟 (综合办公室), so that the home page has something to show."""

from __future__ import annotations

import datetime as dt

from xietong.core import clock
from xietong.identity.models import User
from xietong.workbench.models import ExternalTodo, Shortcut

SHORTCUTS = [
    ("ERP 系统", "采购、库存、销售与生产计划", "http://erp.example.internal/", "boxes"),
    ("财务共享", "报销、付款与发票查验", "http://fssc.example.internal/", "cash-coin"),
    ("人力资源", "考勤、薪酬与培训", "http://hr.example.internal/", "people"),
    ("安全生产监控", "隐患排查与安全检查", "http://safety.example.internal/", "fire"),
    ("档案管理", "文书与科技档案查询借阅", "http://archives.example.internal/", "journal-text"),
    ("视频会议", "预约与加入视频会议", "http://meeting.example.internal/", "camera-video"),
]


def load() -> None:
    if Shortcut.objects.exists():
        return
    Shortcut.objects.bulk_create(
        Shortcut(name=name, description=description, url=url, icon=icon, order=(index + 1) * 10)
        for index, (name, description, url, icon) in enumerate(SHORTCUTS)
    )
    user = User.objects.filter(username="zhangwei").first()
    if user is None:
        return
    now = clock.now()
    hour = dt.timedelta(hours=1)
    ExternalTodo.objects.bulk_create(
        [
            ExternalTodo(
                system="erp",
                system_name="ERP 系统",
                external_id="PO-2026-1128",
                user=user,
                title="采购申请 PO-2026-1128（办公设备）待您审批",
                detail="申请人：王芳 · 金额 ¥48,600.00",
                link="http://erp.example.internal/po/PO-2026-1128",
                urgent=True,
                due_at=now + 4 * hour,
                created_at=now - hour,
                updated_at=now - hour,
            ),
            ExternalTodo(
                system="fssc",
                system_name="财务共享",
                external_id="BX-2026-0931",
                user=user,
                title="差旅费报销单 BX-2026-0931 待复核",
                detail="报销人：李强 · 上海出差 3 天",
                link="http://fssc.example.internal/claims/BX-2026-0931",
                due_at=now + 30 * hour,
                created_at=now - 5 * hour,
                updated_at=now - 5 * hour,
            ),
            ExternalTodo(
                system="hr",
                system_name="人力资源",
                external_id="TR-2026-SAFE-ZW",
                user=user,
                title="完成 2026 年度安全生产在线培训",
                detail="共 6 课时，已完成 4 课时",
                link="http://hr.example.internal/learning/safety-2026",
                due_at=now - 20 * hour,
                created_at=now - 72 * hour,
                updated_at=now - 72 * hour,
            ),
        ]
    )
