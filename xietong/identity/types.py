from django.http import HttpRequest

from xietong.identity.models import User


class AuthedRequest(HttpRequest):
    """A request behind ``login_required`` or the API's session auth: ``user`` is a real account."""

    user: User
