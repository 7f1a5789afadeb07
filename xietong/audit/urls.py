from django.urls import path

from xietong.audit import views

app_name = "audit"
urlpatterns = [
    path("", views.event_list, name="event_list"),
    path("export/", views.event_export, name="event_export"),
    path("<int:event_id>/", views.event_detail, name="event_detail"),
]
