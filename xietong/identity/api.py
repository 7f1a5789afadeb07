from __future__ import annotations

from ninja import Router

from xietong.core import access, http
from xietong.identity import policy, reauth, services
from xietong.identity.models import LoginAttempt, PasswordPolicy, User
from xietong.identity.schemas import MeOut, PasswordPolicyIn, PasswordPolicyOut, UnlockIn, UnlockOut
from xietong.identity.types import AuthedRequest

router = Router(tags=["identity"])


@router.get("/me", response=MeOut, summary="当前登录用户")
def me(request: AuthedRequest) -> User:
    user = request.user
    return user


@router.post("/unlock", response=UnlockOut, summary="解除账号登录锁定（仅管理员）")
def unlock(request: AuthedRequest, payload: UnlockIn) -> dict[str, object]:
    services.account_unlock(
        actor=request.user,
        username=payload.username,
        ip=http.client_ip(request),
        user_agent=http.user_agent(request),
        channel=LoginAttempt.Channel.API,
    )
    return {"username": payload.username.strip(), "unlocked": True}


def _policy_out() -> dict[str, object]:
    row = PasswordPolicy.objects.select_related("updated_by").filter(pk=PasswordPolicy.SINGLETON_ID).first()
    source = row or policy.PROFILE_DEFAULTS[policy.DENGBAO]
    out: dict[str, object] = {name: getattr(source, name) for name in policy.FIELDS}
    out["updated_at"] = row.updated_at if row else None
    out["updated_by"] = row.updated_by.username if row and row.updated_by else None
    return out


@router.get("/password-policy", response=PasswordPolicyOut, summary="密码策略（安全保密管理员）")
def get_password_policy(request: AuthedRequest) -> dict[str, object]:
    access.require(request.user, "identity.manage_policy")
    return _policy_out()


@router.put(
    "/password-policy",
    response=PasswordPolicyOut,
    summary="修改密码策略（安全保密管理员；需在 5 分钟内验证过密码）",
)
def put_password_policy(request: AuthedRequest, payload: PasswordPolicyIn) -> dict[str, object]:
    access.require(request.user, "identity.manage_policy")
    reauth.ensure_recent(request)
    defaults = policy.PROFILE_DEFAULTS[payload.profile]
    sent = payload.dict()
    values = {
        name: getattr(defaults, name) if sent.get(name) is None else sent[name] for name in policy.FIELDS
    }
    services.password_policy_update(actor=request.user, values=values, request=request)
    return _policy_out()
