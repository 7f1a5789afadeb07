"""Fixtures shared by every test module."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from xietong.identity.models import User

STRONG_PASSWORD = "Xietong#2026strong"


def make_user(username: str = "lisi", *, password: str = STRONG_PASSWORD, **fields: Any) -> User:
    """An account that has already replaced its initial password."""
    fields.setdefault("name", "李四")
    fields.setdefault("must_change_password", False)
    return User.objects.create_user(username, password, **fields)


@pytest.fixture
def user(db: Any) -> User:
    return make_user()


@pytest.fixture
def staff_user(db: Any) -> User:
    return make_user("sysadmin", name="系统管理员", is_staff=True)


@pytest.fixture
def user_client(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def staff_client(staff_user: User) -> Client:
    client = Client()
    client.force_login(staff_user)
    return client
