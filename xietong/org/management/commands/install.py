from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from xietong.org import demo


class Command(BaseCommand):
    help = (
        "Create the three administrator accounts of 三员分立 (sysadmin, secadmin, auditadmin) "
        "with one-time passwords, printed once. Accounts that exist are left alone."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            created = demo.create_administrators(unit=None)
        if not created:
            self.stdout.write("三员账号均已存在，未做修改。")
            return
        self.stdout.write("已创建以下管理员账号。初始密码只显示这一次，首次登录须修改密码并启用两步验证：")
        for username, name, password in created:
            self.stdout.write(f"  {username:<10} {password:<18} {name}")
