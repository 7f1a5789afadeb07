from django.urls import path

from xietong.core import views

app_name = "core"
urlpatterns = [
    path("m/<slug:slug>/", views.coming_soon, name="coming_soon"),
]
