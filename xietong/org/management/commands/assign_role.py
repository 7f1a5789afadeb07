from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from xietong.core.errors import DomainError
from xietong.identity.models import User
from xietong.org import builtin, services
from xietong.org.models import DataScope, Role


class Command(BaseCommand):
    help = (
        "Give a role to an account without an acting administrator: how an installation gets "
        "its first 系统管理员, 安全管理员 and 审计管理员. The 三员 rules apply and the grant is "
        "audited. Roles: " + ", ".join(spec.code for spec in builtin.BUILTIN_ROLES) + "."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")
        parser.add_argument("role", help="role code, e.g. system_admin")
        parser.add_argument(
            "--scope",
            default=DataScope.GROUP,
            choices=[s for s in DataScope.values if s != DataScope.LISTED],
            help="data scope (default: group)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        builtin.ensure_builtin_roles()
        try:
            user = User.objects.get_by_natural_key(options["username"])
        except User.DoesNotExist:
            raise CommandError(f"账号 {options['username']} 不存在。") from None
        role = Role.objects.filter(code=options["role"]).first()
        if role is None:
            raise CommandError(f"角色 {options['role']} 不存在。")
        try:
            services.role_grant_by_system(role=role, user=user, scope=options["scope"], reason="命令行授权")
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"已将“{role.name}”授予 {user}。")
