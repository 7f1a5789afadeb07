from __future__ import annotations

from ninja import Router

from xietong.identity.types import AuthedRequest
from xietong.ops import services
from xietong.ops.schemas import BroadcastIn, BroadcastOut

router = Router(tags=["ops"])


@router.post("/broadcast", response=BroadcastOut, summary="向所有在线用户推送系统消息")
def broadcast(request: AuthedRequest, payload: BroadcastIn) -> dict[str, bool]:
    user = request.user
    services.system_broadcast(actor=user, message=payload.message, level=payload.level, request=request)
    return {"delivered": True}
