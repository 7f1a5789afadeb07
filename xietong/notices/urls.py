from django.urls import path

from xietong.notices import views

app_name = "notices"
urlpatterns = [
    path("", views.home, name="home"),
]
