from __future__ import annotations

from typing import Any

from django.contrib.auth.backends import ModelBackend
from django.db.models import Q
from django.http import HttpRequest

from xietong.identity.models import User, fold_username


class UsernameOrEmployeeNoBackend(ModelBackend):
    """Sign in with the login name (case-insensitive) or the 工号."""

    def authenticate(
        self, request: HttpRequest | None, username: str | None = None, password: str | None = None, **kw: Any
    ) -> User | None:
        if not username or password is None:
            return None
        login = fold_username(username)
        user = User.objects.filter(Q(username=login) | Q(employee_no=username.strip())).first()
        if user is None:
            # Hash anyway so a missing account takes as long as a wrong password.
            User().set_password(password)
            return None
        if user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None
