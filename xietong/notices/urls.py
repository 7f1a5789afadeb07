from django.urls import path

from xietong.notices import views

app_name = "notices"
urlpatterns = [
    path("", views.home, name="home"),
    path("new/", views.create, name="create"),
    path("audience/", views.audience_search, name="audience_search"),
    path("images/", views.image_upload, name="image_upload"),
    path("images/<uuid:key>/", views.image, name="image"),
    path("<int:notice_id>/", views.detail, name="detail"),
    path("<int:notice_id>/edit/", views.edit, name="edit"),
    path("<int:notice_id>/delete/", views.delete_draft, name="delete_draft"),
    path("<int:notice_id>/receipt/", views.receipt, name="receipt"),
    path("<int:notice_id>/files/<uuid:key>/", views.attachment, name="attachment"),
    path("<int:notice_id>/withdraw/", views.withdraw, name="withdraw"),
    path("<int:notice_id>/receipts/", views.receipts, name="receipts"),
    path("<int:notice_id>/receipts/live/", views.receipts_live, name="receipts_live"),
    path("<int:notice_id>/receipts/remind/", views.remind, name="remind"),
    path("<int:notice_id>/receipts/export/", views.export, name="export"),
    path("<int:notice_id>/sign-in/code/", views.signin_code, name="signin_code"),
    path("<int:notice_id>/sign-in/count/", views.signin_count, name="signin_count"),
    path("<int:notice_id>/sign-in/<str:token>/", views.signin, name="signin"),
]
