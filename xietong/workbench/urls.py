from django.urls import path

from xietong.workbench import views

app_name = "workbench"
urlpatterns = [
    path("", views.home, name="home"),
    path("workbench/cards/<slug:name>/", views.card, name="card"),
    path("workbench/todos/", views.todos, name="todos"),
    path("workbench/todos/<int:todo_id>/", views.todo_open, name="todo_open"),
    path("workbench/shortcuts/", views.shortcut_list, name="shortcuts"),
    path("workbench/shortcuts/new/", views.shortcut_edit, name="shortcut_new"),
    path("workbench/shortcuts/<int:shortcut_id>/", views.shortcut_edit, name="shortcut_edit"),
    path("workbench/shortcuts/<int:shortcut_id>/delete/", views.shortcut_delete, name="shortcut_delete"),
    path("workbench/shortcuts/<int:shortcut_id>/move/", views.shortcut_move, name="shortcut_move"),
]
