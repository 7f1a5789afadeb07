"""The registers, the handling statistics, the archive and the settings pages under ``/documents/``."""

from django.urls import URLPattern, path

from xietong.documents.views import archive as archive_views
from xietong.documents.views import registers as register_views
from xietong.documents.views import statistics as statistics_views

urlpatterns: list[URLPattern] = [
    path("registers/", register_views.registers_page, name="registers"),
    path("registers/export/", register_views.registers_export, name="registers_export"),
    path("statistics/", statistics_views.statistics_page, name="statistics"),
    path("statistics/export/", statistics_views.statistics_export, name="statistics_export"),
    path("archive/", archive_views.archive_list, name="archive_list"),
    path("archive/catalogue.xlsx", archive_views.archive_catalogue_export, name="archive_catalogue_export"),
    path("archive/outgoing/<int:pk>/", archive_views.archive_outgoing, name="archive_outgoing"),
    path("archive/incoming/<int:pk>/", archive_views.archive_incoming, name="archive_incoming"),
    path("archive/<int:pk>/", archive_views.archive_item, name="archive_item"),
    path("archive/<int:pk>/verify/", archive_views.archive_verify, name="archive_verify"),
    path("archive/<int:pk>/files/<int:seq>/", archive_views.archive_component, name="archive_component"),
    path("settings/", archive_views.settings_page, name="settings"),
    path("settings/organs/new/", archive_views.settings_organ_new, name="settings_organ_new"),
    path("settings/organs/<int:pk>/", archive_views.settings_organ_edit, name="settings_organ_edit"),
]
