from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from xietong.org import demo


class Command(BaseCommand):
    help = "Load the demo group (集团总部, two subsidiaries, 60 employees) into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--quiet", action="store_true", help="Print nothing when already loaded.")

    def handle(self, *args: Any, **options: Any) -> None:
        credentials = Path(settings.DATA_DIR) / "demo-accounts.txt"
        if demo.is_loaded():
            if not options["quiet"]:
                self.stdout.write("演示数据已存在，未做修改。 / Demo data already present; nothing changed.")
            return
        accounts = demo.load_demo(settings.XIETONG_DEMO_PASSWORD)
        lines = [f"{a.username}\t{a.password}\t{a.name}\t{a.unit}\t{a.role}" for a in accounts]
        credentials.write_text(
            "用户名\t初始密码\t姓名\t部门\t岗位\n" + "\n".join(lines) + "\n", encoding="utf-8"
        )
        credentials.chmod(0o600)
        self.stdout.write(
            self.style.SUCCESS(
                f"已创建演示组织：{len(accounts)} 个账号。初始密码见 {credentials}（首次登录须修改）"
            )
        )
