"""The approvals app under ``/workflow/``: the inbox, starting and handling a request, the
designers and the administrators' pages, each area with its own URL list."""

from xietong.workflow import urls_designer, urls_inbox, urls_manage, urls_run

app_name = "workflow"
urlpatterns = [
    *urls_inbox.urlpatterns,
    *urls_run.urlpatterns,
    *urls_designer.urlpatterns,
    *urls_manage.urlpatterns,
]
