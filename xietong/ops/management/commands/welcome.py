from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand

SHOWN = ("sysadmin", "secadmin", "auditadmin", "zhangwei")


class Command(BaseCommand):
    help = "Print the address of the embedded server and the demo logins."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"  协同办公平台  http://{settings.HOST}:{settings.PORT}/"))
        credentials = Path(settings.DATA_DIR) / "demo-accounts.txt"
        if credentials.exists():
            self.stdout.write("  演示账号（初始密码只能使用一次，首次登录须修改）：")
            for line in credentials.read_text(encoding="utf-8").splitlines()[1:]:
                username, password, name, unit, role = line.split("\t")
                if username in SHOWN:
                    self.stdout.write(f"    {username:<10} {password:<18} {name}（{unit} {role}）")
            self.stdout.write(f"  全部 {sum(1 for _ in credentials.open()) - 1} 个演示账号：{credentials}")
        self.stdout.write("")
