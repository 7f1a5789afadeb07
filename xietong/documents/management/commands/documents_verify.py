"""``xietong documents_verify [--code 档号]``: recompute the checksums of the electronic archive
(DA/T 70-2018 完整性/真实性); one line per 件, a non-zero exit when any file changed or is missing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xietong.documents import archive
from xietong.documents.models import ArchiveItem


class Command(BaseCommand):
    help = "校验文书档案：重新计算每件档案各组件的 SHA-256 与包校验值；有文件缺失或被改动时以非零状态退出。"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--code", help="只校验该档号的档案", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        code = (options.get("code") or "").strip()
        result = archive.verify_all(code=code or None)
        if code and result.checked == 0:
            raise CommandError(f"没有档号为 {code} 的档案。", returncode=2)
        failed = result.failed
        for item_code in (
            ArchiveItem.objects.filter(**({"archival_code": code} if code else {}))
            .order_by("pk")
            .values_list("archival_code", flat=True)
        ):
            problems = failed.get(item_code)
            if problems:
                self.stdout.write(f"FAIL {item_code}：" + "；".join(problems))
            else:
                self.stdout.write(f"OK   {item_code}")
        if failed:
            raise CommandError(f"{len(failed)} / {result.checked} 件档案校验未通过。", returncode=1)
        self.stdout.write(self.style.SUCCESS(f"全部 {result.checked} 件档案校验通过。"))
