"""Audit action codes written by the password and account services, with their labels."""

# The codes name password events; they are not passwords (bandit's S105 guesses by name).
# ruff: noqa: S105

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from xietong.audit.actions import register

PASSWORD_CHANGED = "identity.password.changed"
PASSWORD_RESET = "identity.password.reset"
PASSWORD_RESET_LINK_ISSUED = "identity.password.reset_link_issued"
PASSWORD_RESET_LINK_USED = "identity.password.reset_link_used"
PASSWORD_POLICY_CHANGED = "identity.password_policy.changed"
ACCOUNT_DISABLED_DORMANT = "identity.account.disabled_dormant"

register(PASSWORD_CHANGED, _("修改本人密码"))
register(PASSWORD_RESET, _("管理员重置密码"))
register(PASSWORD_RESET_LINK_ISSUED, _("生成密码重置链接"))
register(PASSWORD_RESET_LINK_USED, _("通过重置链接设置密码"))
register(PASSWORD_POLICY_CHANGED, _("修改密码策略"))
register(ACCOUNT_DISABLED_DORMANT, _("停用长期未登录账号"))

SESSION_ENDED = "identity.session.ended"
TWO_FACTOR_ENABLED = "identity.two_factor.enabled"
TWO_FACTOR_DISABLED = "identity.two_factor.disabled"
RECOVERY_CODES_REGENERATED = "identity.two_factor.recovery_codes_regenerated"
API_TOKEN_CREATED = "identity.api_token.created"
API_TOKEN_REVOKED = "identity.api_token.revoked"
LOGIN_ANOMALY_REVIEWED = "identity.login_anomaly.reviewed"

register(SESSION_ENDED, _("结束登录会话"))
register(TWO_FACTOR_ENABLED, _("启用两步验证"))
register(TWO_FACTOR_DISABLED, _("停用两步验证"))
register(RECOVERY_CODES_REGENERATED, _("重新生成恢复码"))
register(API_TOKEN_CREATED, _("创建访问令牌"))
register(API_TOKEN_REVOKED, _("撤销访问令牌"))
register(LOGIN_ANOMALY_REVIEWED, _("处理登录异常"))
