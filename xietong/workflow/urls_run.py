"""The run pages of the approvals app, joined into ``workflow.urls``."""

from django.urls import URLPattern, path

from xietong.workflow.views import instance, start

urlpatterns: list[URLPattern] = [
    # starting
    path("start/", start.start_list, name="start_list"),
    path("start/<int:flow_id>/", start.start, name="start"),
    path("start/<int:flow_id>/preview/", start.start_preview, name="start_preview"),
    path("drafts/<int:instance_id>/", start.draft, name="draft"),
    path("drafts/<int:instance_id>/delete/", start.draft_delete, name="draft_delete"),
    path("pick/people/", start.pick_people, name="pick_people"),
    path("pick/units/", start.pick_units, name="pick_units"),
    path("uploads/", start.upload, name="upload"),
    # end of starting
    # one request
    path("instances/<int:pk>/", instance.detail, name="instance"),
    path("instances/<int:pk>/print/", instance.print_view, name="instance_print"),
    path("instances/<int:pk>/files/<uuid:key>/", instance.file, name="instance_file"),
    path("instances/<int:pk>/<slug:action>/", instance.act, name="instance_act"),
    # end of one request
]
