from django.urls import path

from xietong.moderation import views

app_name = "moderation"
urlpatterns = [
    path("", views.words, name="words"),
    path("words/<int:word_id>/", views.word_edit, name="word_edit"),
    path("words/<int:word_id>/active/", views.word_toggle, name="word_toggle"),
    path("words/import/", views.words_import, name="words_import"),
    path("words/export/", views.words_export, name="words_export"),
    path("try/", views.try_text, name="try"),
    path("reviews/", views.reviews, name="reviews"),
    path("reviews/<int:item_id>/decide/", views.review_decide, name="review_decide"),
    path("reports/", views.reports, name="reports"),
    path("reports/new/", views.report_create, name="report_create"),
    path("reports/<int:report_id>/resolve/", views.report_resolve, name="report_resolve"),
    path("violations/", views.violations, name="violations"),
    path("violations/people/<int:user_id>/", views.violator, name="violator"),
    path("violations/<int:violation_id>/sanctions/", views.sanction_add, name="sanction_add"),
]
