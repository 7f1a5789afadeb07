"""收文 pages under ``/documents/incoming/``."""

from django.urls import URLPattern, path

from xietong.documents.views import incoming as views

urlpatterns: list[URLPattern] = [
    path("incoming/", views.incoming_list, name="incoming_list"),
    path("incoming/new/", views.incoming_new, name="incoming_new"),
    path("incoming/<int:pk>/", views.incoming_detail, name="incoming_detail"),
    path("incoming/<int:pk>/print/", views.incoming_print, name="incoming_print"),
    path("incoming/<int:pk>/scan/", views.incoming_scan, name="incoming_scan"),
    *[
        path(
            f"incoming/<int:pk>/{action}/", views.incoming_act, {"action": action}, name=f"incoming_{action}"
        )
        for action in views.ACTIONS
    ],
]
