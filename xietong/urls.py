from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from xietong.api import api
from xietong.ops import views as ops_views

urlpatterns = [
    path("", include("xietong.workbench.urls")),
    path("account/", include("xietong.identity.urls")),
    path("ops/", include("xietong.ops.urls")),
    path("audit/", include("xietong.audit.urls")),
    path("moderation/", include("xietong.moderation.urls")),
    path("org/", include("xietong.org.urls")),
    path("security/", include("xietong.org.roles_urls")),
    path("notifications/", include("xietong.notify.urls")),
    path("portal/", include("xietong.portal.urls")),
    path("notices/", include("xietong.notices.urls")),
    path("workflow/", include("xietong.workflow.urls")),
    path("documents/", include("xietong.documents.urls")),
    path("", include("xietong.core.urls")),
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
]

handler400 = "xietong.core.views.bad_request"
handler403 = "xietong.core.views.permission_denied"
handler404 = "xietong.core.views.page_not_found"
handler500 = "xietong.core.views.server_error"
