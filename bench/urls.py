"""The product's URLs plus a bare view that measures the framework floor."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def hello(request: HttpRequest) -> HttpResponse:
    """No template, no database: what any page costs before the page itself does anything."""
    return HttpResponse("hello")


urlpatterns = [
    path("bench/hello", hello, name="bench-hello"),
    path("", include("xietong.urls")),
]

# Keep the product's error pages for the bench URLconf too.
handler400 = "xietong.core.views.bad_request"
handler403 = "xietong.core.views.permission_denied"
handler404 = "xietong.core.views.page_not_found"
handler500 = "xietong.core.views.server_error"
