"""The manage pages of the approvals app, joined into ``workflow.urls``."""

from django.urls import URLPattern, path

from xietong.workflow.views import manage

urlpatterns: list[URLPattern] = [
    path("reports/", manage.reports_page, name="reports"),
    path("reports/export/", manage.reports_export, name="reports_export"),
    path("calendar/", manage.calendar, name="calendar"),
    path("calendar/add/", manage.calendar_add, name="calendar_add"),
    path("calendar/import/", manage.calendar_import, name="calendar_import"),
    path("calendar/<str:day>/delete/", manage.calendar_delete, name="calendar_delete"),
    path("monitor/", manage.monitor, name="monitor"),
    path("monitor/<int:pk>/terminate/", manage.monitor_terminate, name="monitor_terminate"),
    path("monitor/items/<int:pk>/reassign/", manage.reassign, name="reassign"),
    path("handover/", manage.handover, name="handover"),
    path("backfill/", manage.backfill, name="backfill"),
    path("backfill/<int:pk>/files/<uuid:key>/", manage.backfill_file, name="backfill_file"),
]
