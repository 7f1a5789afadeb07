from django.urls import path

from xietong.identity import views

app_name = "identity"
urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("password/", views.password_change, name="password_change"),
    path("password/warning/dismiss/", views.password_warning_dismiss, name="password_warning_dismiss"),
    path("confirm/", views.confirm, name="confirm"),
    path("reset/done/", views.password_reset_done, name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("policy/", views.password_policy, name="password_policy"),
    path("login-log/", views.login_log, name="login_log"),
]
