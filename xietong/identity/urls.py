from django.urls import path

from xietong.identity import account_views, views

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
    path("two-factor/", account_views.two_factor, name="two_factor"),
    path("two-factor/verify/", account_views.two_factor_verify, name="two_factor_verify"),
    path("two-factor/setup/", account_views.two_factor_setup, name="two_factor_setup"),
    path("two-factor/recovery-codes/", account_views.recovery_codes_regenerate, name="recovery_codes"),
    path("two-factor/disable/", account_views.two_factor_disable, name="two_factor_disable"),
    path("sessions/", account_views.session_list, name="sessions"),
    path("sessions/<int:session_id>/end/", account_views.session_end, name="session_end"),
    path("sessions/end-others/", account_views.sessions_end_others, name="sessions_end_others"),
    path("sessions/user/<int:user_id>/", account_views.user_sessions, name="user_sessions"),
    path("tokens/", account_views.token_list, name="tokens"),
    path("tokens/<int:token_id>/revoke/", account_views.token_revoke, name="token_revoke"),
    path("anomalies/", account_views.anomaly_list, name="anomalies"),
    path("anomalies/<int:anomaly_id>/review/", account_views.anomaly_review, name="anomaly_review"),
]
