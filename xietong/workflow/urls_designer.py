"""The designer pages of the approvals app, joined into ``workflow.urls``."""

from django.urls import URLPattern, path

from xietong.workflow.views import designer

urlpatterns: list[URLPattern] = [
    path("flows/", designer.flows, name="flows"),
    path("flows/new/", designer.flow_create, name="flow_create"),
    path("flows/pick/", designer.flow_pick, name="flow_pick"),
    path("flows/<int:pk>/edit/", designer.flow_edit, name="flow_edit"),
    path("flows/<int:pk>/toggle/", designer.flow_toggle, name="flow_toggle"),
    path("flows/<int:pk>/design/", designer.flow_design, name="flow_design"),
    path("flows/<int:pk>/design/save/", designer.flow_save, name="flow_save"),
    path("flows/<int:pk>/design/publish/", designer.flow_publish, name="flow_publish"),
    path("flows/<int:pk>/versions/", designer.flow_versions, name="flow_versions"),
    path("flows/<int:pk>/versions/<int:number>/", designer.flow_version, name="flow_version"),
    path("flows/<int:pk>/versions/<int:number>/copy/", designer.flow_version_copy, name="flow_version_copy"),
]
