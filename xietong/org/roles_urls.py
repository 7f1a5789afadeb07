"""Security administration (安全管理) under ``/security/``, and ``/security/mine/`` for everyone."""

from django.urls import path

from xietong.org import roles_views as views

app_name = "roles"
urlpatterns = [
    path("", views.home, name="home"),
    path("roles/", views.role_list, name="role_list"),
    path("roles/new/", views.role_create, name="role_create"),
    path("roles/<int:pk>/", views.role_detail, name="role_detail"),
    path("roles/<int:pk>/edit/", views.role_edit, name="role_edit"),
    path("roles/<int:pk>/delete/", views.role_delete, name="role_delete"),
    path("grants/", views.grants, name="grants"),
    path("grants/users/<int:pk>/", views.user_grants, name="user_grants"),
    path("grants/users/<int:pk>/new/", views.user_grant_new, name="user_grant_new"),
    path("grants/positions/<int:pk>/", views.position_grants, name="position_grants"),
    path("grants/positions/<int:pk>/new/", views.position_grant_new, name="position_grant_new"),
    path("grants/<int:pk>/revoke/", views.grant_revoke, name="grant_revoke"),
    path("clearances/", views.clearances, name="clearances"),
    path("clearances/<int:pk>/", views.clearance_edit, name="clearance_edit"),
    path("requests/", views.request_list, name="requests"),
    path("requests/<int:pk>/", views.request_detail, name="request_detail"),
    path("requests/<int:pk>/approve/", views.request_approve, name="request_approve"),
    path("mine/", views.mine, name="mine"),
    path("mine/request/", views.request_new, name="request_new"),
    path("mine/requests/<int:pk>/cancel/", views.request_cancel, name="request_cancel"),
]
