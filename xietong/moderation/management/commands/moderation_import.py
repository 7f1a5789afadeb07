"""``xietong moderation_import FILE --category 政治敏感 --action block``: load a word list."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xietong.core.errors import DomainError
from xietong.moderation import services
from xietong.moderation.models import Action, WordCategory


class Command(BaseCommand):
    help = (
        "导入敏感词表：文本文件每行一个词（UTF-8 或 GBK；空行和 # 开头的行忽略），全部归入 --category "
        "指定的分类，按 --action 处理（block 拦截，hold 送审；省略时按分类默认）。已在词库中的词不改动。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="词表文件路径")
        parser.add_argument("--category", required=True, help="分类名称，如 政治敏感")
        parser.add_argument("--action", choices=Action.values, help="block（拦截）或 hold（送审）")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"无法读取 {path}：{exc.strerror}") from None
        category = WordCategory.objects.filter(name=options["category"]).first()
        if category is None:
            names = "、".join(WordCategory.objects.order_by("pk").values_list("name", flat=True)) or "（无）"
            raise CommandError(f"分类“{options['category']}”不存在。现有分类：{names}")
        try:
            result = services.words_import_by_system(
                lines=services.decode_word_file(data).splitlines(),
                category=category,
                action=options["action"],
                source=path.name,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        for number, text, reason in result.invalid:
            self.stderr.write(f"第 {number} 行（{text}）：{reason}")
        self.stdout.write(
            self.style.SUCCESS(
                f"已导入 {result.created} 个敏感词到“{category.name}”；"
                f"已存在 {len(result.duplicates)} 个，无效 {len(result.invalid)} 行。"
            )
        )
