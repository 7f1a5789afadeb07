"""The benchmark URLs plus a bare view that writes one row: the floor an approval is
compared with in ``bench/workflow_approve.py``."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path
from django.views.decorators.csrf import csrf_exempt

from xietong.workflow.models import Phrase


@csrf_exempt
def insert_one(request: HttpRequest) -> HttpResponse:
    """No authentication, no template: one INSERT of one row, as cheap as a write gets."""
    Phrase.objects.create(user_id=int(request.GET.get("u", "0")), text="bench")
    return HttpResponse("ok")


urlpatterns = [
    path("bench/insert-one", insert_one, name="bench-insert-one"),
    path("", include("bench.urls")),
]
