"""``xietong workbench_reset``: outdate every person's kept workbench cards and answers, after
the database was restored from a backup (what the cache kept describes the data before it)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from xietong.workbench import cache


class Command(BaseCommand):
    help = "使所有人工作台缓存的内容失效（从备份恢复数据库后运行）：下次打开工作台时重新计算。"

    def handle(self, *args: Any, **options: Any) -> None:
        cache.changed_for_everyone()
        self.stdout.write("工作台缓存已失效。")
