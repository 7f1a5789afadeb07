"""``{% incoming_todos %}``: the viewer's 收文 to-dos on the 公文 home page (待签收, 拟办, 批办,
承办, 办结, 传阅)."""

from __future__ import annotations

from typing import Any

from django import template

from xietong.core import clock
from xietong.documents import selectors_incoming

register = template.Library()

SHOWN = 10


@register.inclusion_tag("documents/incoming_todos.html", takes_context=True)
def incoming_todos(context: dict[str, Any]) -> dict[str, Any]:
    user = context["request"].user
    entries = selectors_incoming.todos_for(user)
    return {"entries": entries[:SHOWN], "count": len(entries), "now": clock.now()}
