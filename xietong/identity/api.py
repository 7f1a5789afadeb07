from __future__ import annotations

from ninja import Router

from xietong.identity.models import User
from xietong.identity.schemas import MeOut
from xietong.identity.types import AuthedRequest

router = Router(tags=["identity"])


@router.get("/me", response=MeOut, summary="当前登录用户")
def me(request: AuthedRequest) -> User:
    user = request.user
    return user
