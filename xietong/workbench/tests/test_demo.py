"""The demo shows a filled workbench on day one: shortcuts, and to-dos pushed to 张伟."""

from __future__ import annotations

import pytest

from tests.fixtures import client_for, make_user
from xietong.core import demo
from xietong.workbench import demo_content
from xietong.workbench.models import ExternalTodo, Shortcut

pytestmark = pytest.mark.django_db


def test_the_demo_loader_is_registered_and_fills_the_workbench() -> None:
    assert "workbench" in [loader.key for loader in demo.loaders()]
    zhangwei = make_user("zhangwei", name="张伟")
    demo_content.load()
    demo_content.load()  # loading twice adds nothing
    assert Shortcut.objects.count() == len(demo_content.SHORTCUTS)
    assert ExternalTodo.objects.filter(user=zhangwei).count() == 3
    html = client_for(zhangwei).get("/").content.decode()
    assert "采购申请 PO-2026-1128（办公设备）待您审批" in html
    assert "ERP 系统" in html
