"""A department administrator manages the accounts of their own department subtree only (R-16)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import log_in
from tests.fixtures import STRONG_PASSWORD, make_user, place
from xietong.identity.models import User
from xietong.org.models import OrgUnit

pytestmark = pytest.mark.browser


def test_r16_department_admin_cannot_see_or_edit_a_user_outside_their_subtree(
    transactional_db: Any, page: Page, live_server: Any, org_tree: dict[str, OrgUnit], deptadmin_user: User
) -> None:
    inside = make_user("jianxiu", name="检修员")
    place(inside, org_tree["repair"])
    outside = make_user("caiwu", name="财务员")
    place(outside, org_tree["finance"])

    log_in(page, live_server.url, deptadmin_user.username, STRONG_PASSWORD)
    page.goto(f"{live_server.url}/org/manage/users/")
    listing = page.locator("main")
    expect(listing).to_contain_text("检修员")
    expect(listing).not_to_contain_text("财务员")

    response = page.goto(f"{live_server.url}/org/manage/users/{outside.pk}/")
    assert response is not None
    assert response.status == 404
    response = page.goto(f"{live_server.url}/org/manage/users/{inside.pk}/")
    assert response is not None
    assert response.status == 200

    # A forged suspension of the outsider, posted with a valid CSRF token, changes nothing.
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "xietong_csrftoken")
    forged = page.request.post(
        f"{live_server.url}/org/manage/users/{outside.pk}/suspend/",
        form={"csrfmiddlewaretoken": token, "reason": "越权"},
        headers={"Referer": f"{live_server.url}/org/manage/users/"},
    )
    assert forged.status == 404
    outside.refresh_from_db()
    assert outside.is_active
