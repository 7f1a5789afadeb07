from django.urls import path

from xietong.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("c/<slug:code>/", views.channel, name="channel"),
    path("a/<int:article_id>/", views.article, name="article"),
    path("a/<int:article_id>/versions/", views.versions, name="versions"),
    path("a/<int:article_id>/versions/<int:number>/", views.version, name="version"),
    path("a/<int:article_id>/files/<uuid:key>/", views.attachment, name="attachment"),
    path("a/<int:article_id>/cover/", views.cover, name="cover"),
    path("a/<int:article_id>/comments/", views.comment, name="comment"),
    path("a/<int:article_id>/edit/", views.editor, name="edit"),
    path("a/<int:article_id>/submit/", views.submit, name="submit"),
    path("a/<int:article_id>/approve/", views.approve, name="approve"),
    path("a/<int:article_id>/return/", views.return_article, name="return"),
    path("a/<int:article_id>/withdraw/", views.withdraw, name="withdraw"),
    path("a/<int:article_id>/delete/", views.delete, name="delete"),
    path("new/", views.editor, name="new"),
    path("images/", views.image_upload, name="image_upload"),
    path("images/<uuid:key>/", views.image, name="image"),
    path("mine/", views.mine, name="mine"),
    path("review/", views.review, name="review"),
    path("channels/", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_form, name="channel_new"),
    path("channels/<int:channel_id>/", views.channel_form, name="channel_edit"),
]
