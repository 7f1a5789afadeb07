from ninja import Field, Schema


class BroadcastIn(Schema):
    message: str = Field(..., min_length=1, max_length=500, description="推送给所有在线用户的系统消息")
    level: str = Field("info", pattern="^(info|warning|danger)$")


class BroadcastOut(Schema):
    delivered: bool
