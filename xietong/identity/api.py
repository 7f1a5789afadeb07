from __future__ import annotations

from django.utils.translation import gettext as _
from ninja import Router
from ninja.security import SessionAuth

from xietong.core import access, http
from xietong.core.errors import NotFoundError
from xietong.identity import anomalies, policy, reauth, selectors, services
from xietong.identity.models import ApiToken, LoginAttempt, PasswordPolicy, User
from xietong.identity.schemas import (
    ApiTokenCreatedOut,
    ApiTokenIn,
    ApiTokenOut,
    MeOut,
    PasswordPolicyIn,
    PasswordPolicyOut,
    SessionOut,
    UnlockIn,
    UnlockOut,
)
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


# -- personal API tokens (IA-05) and signed-in sessions (SES-05) ------------------------------

# Making a token needs the browser session and a recent password check: a token cannot mint
# another token.
_session_only = SessionAuth(csrf=True)


@router.get("/tokens", response=list[ApiTokenOut], summary="本人的访问令牌")
def token_list(request: AuthedRequest) -> list[ApiToken]:
    return list(selectors.api_tokens(request.user))


@router.post(
    "/tokens",
    response={201: ApiTokenCreatedOut},
    auth=_session_only,
    summary="创建访问令牌（仅会话登录；需在 5 分钟内验证过密码）",
)
def token_create(request: AuthedRequest, payload: ApiTokenIn) -> tuple[int, dict[str, object]]:
    reauth.ensure_recent(request)
    row, raw = services.api_token_create(
        user=request.user, name=payload.name, scope=payload.scope, days=payload.days, request=request
    )
    out = ApiTokenOut.from_orm(row).dict()
    return 201, {**out, "token": raw}


@router.delete("/tokens/{token_id}", response=ApiTokenOut, summary="撤销本人的访问令牌")
def token_revoke(request: AuthedRequest, token_id: int) -> ApiToken:
    token = ApiToken.objects.filter(pk=token_id, user=request.user).first()
    if token is None:
        raise NotFoundError(_("访问令牌不存在。"))
    services.api_token_revoke(token=token, actor=request.user, request=request)
    return token


@router.get("/sessions", response=list[SessionOut], auth=_session_only, summary="本人当前的登录会话")
def session_list(request: AuthedRequest) -> list[dict[str, object]]:
    current = request.session.session_key
    return [
        {
            "id": row.pk,
            "device": anomalies.device_family(row.user_agent),
            "ip": str(row.ip) if row.ip else None,
            "created_at": row.created_at,
            "last_seen": row.last_seen,
            "current": row.session_key == current,
        }
        for row in selectors.active_sessions(request.user)
    ]


@router.delete(
    "/sessions/{session_id}",
    response={204: None},
    auth=_session_only,
    summary="结束本人的一个登录会话（需在 5 分钟内验证过密码）",
)
def session_end(request: AuthedRequest, session_id: int) -> tuple[int, None]:
    reauth.ensure_recent(request)
    services.session_end_own(user=request.user, session_id=session_id, request=request)
    return 204, None
