"""The inbox pages of the approvals app, joined into ``workflow.urls``."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
