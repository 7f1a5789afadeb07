"""``xietong audit verify`` checks the hash chain; ``xietong audit archive`` runs the retention job."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xietong.audit import chain, services


class Command(BaseCommand):
    help = "审计日志：verify 校验哈希链，archive 归档超过保留期的记录。"

    def add_arguments(self, parser: CommandParser) -> None:
        commands = parser.add_subparsers(dest="subcommand", required=True, metavar="{verify,archive}")
        commands.add_parser("verify", help="校验哈希链；发现断链时以非零状态退出")
        commands.add_parser("archive", help="导出超过保留期的记录（gzip JSON Lines，附 .sha256）后删除")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["subcommand"] == "verify":
            self._verify()
        else:
            self._archive()

    def _verify(self) -> None:
        result = chain.verify()
        if result.broken is not None:
            raise CommandError(
                f"审计哈希链校验失败（此前 {result.count} 条完好）：{result.broken.describe()}", returncode=1
            )
        self.stdout.write(self.style.SUCCESS(f"OK：审计哈希链完整，共 {result.count} 条记录。"))

    def _archive(self) -> None:
        archive = services.archive_expired()
        if archive is None:
            days = services.retention_days()
            self.stdout.write(f"没有超过保留期（{days} 天）的审计记录，无需归档。")
            return
        self.stdout.write(
            self.style.SUCCESS(
                f"已归档 {archive.count} 条审计记录（#{archive.first_event_id}–#{archive.last_event_id}）"
                f"到 {archive.file_name}，SHA-256 {archive.sha256}。"
            )
        )
