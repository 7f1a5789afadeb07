from django.urls import path

from xietong.org import views

app_name = "org"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("units/<int:unit_id>/", views.unit_detail, name="unit"),
    path("chart/", views.chart, name="chart"),
    path("directory/", views.directory, name="directory"),
    path("people/<int:user_id>/", views.person, name="person"),
    path("units/<int:unit_id>/contact/", views.unit_contact, name="unit_contact"),
    # administration
    path("manage/users/", views.user_list, name="user_list"),
    path("manage/users/new/", views.user_create, name="user_create"),
    path("manage/users/<int:user_id>/", views.user_detail, name="user_detail"),
    path("manage/users/<int:user_id>/transfer/", views.user_transfer, name="user_transfer"),
    path("manage/users/<int:user_id>/suspend/", views.user_suspend, name="user_suspend"),
    path("manage/users/<int:user_id>/resume/", views.user_resume, name="user_resume"),
    path("manage/users/<int:user_id>/depart/", views.user_depart, name="user_depart"),
    path("manage/users/<int:user_id>/reset-password/", views.user_reset_password, name="user_reset_password"),
    path("manage/units/new/", views.unit_create, name="unit_create"),
    path("manage/units/<int:unit_id>/edit/", views.unit_edit, name="unit_edit"),
    path("manage/units/<int:unit_id>/move/", views.unit_move, name="unit_move"),
    path("manage/units/<int:unit_id>/status/", views.unit_status, name="unit_status"),
    path("manage/units/<int:unit_id>/heads/", views.unit_heads, name="unit_heads"),
    path("manage/positions/", views.positions, name="positions"),
    path("manage/positions/<int:position_id>/", views.position_edit, name="position_edit"),
    path("manage/import/", views.exchange_page, name="exchange"),
    path("manage/import/template.xlsx", views.import_template, name="import_template"),
    path("manage/export/", views.export, name="export"),
    path("manage/reviews/", views.reviews, name="reviews"),
]
