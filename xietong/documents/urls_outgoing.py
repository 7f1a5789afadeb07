"""发文 pages: the 公文 home, the list, the draft form, the document page with its actions,
and the PDF/DOCX downloads."""

from django.urls import URLPattern, path

from xietong.documents.views import outgoing as views

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("outgoing/", views.outgoing_list, name="outgoing_list"),
    path("outgoing/new/", views.outgoing_new, name="outgoing_new"),
    path("outgoing/<int:pk>/", views.outgoing_detail, name="outgoing_detail"),
    path("outgoing/<int:pk>/edit/", views.outgoing_edit, name="outgoing_edit"),
    path("outgoing/<int:pk>/pdf/", views.outgoing_pdf, name="outgoing_pdf"),
    path("outgoing/<int:pk>/docx/", views.outgoing_docx, name="outgoing_docx"),
    path("outgoing/<int:pk>/submit/", views.outgoing_submit, name="outgoing_submit"),
    path("outgoing/<int:pk>/recheck/", views.outgoing_recheck, name="outgoing_recheck"),
    path("outgoing/<int:pk>/recheck/edit/", views.outgoing_recheck_edit, name="outgoing_recheck_edit"),
    path("outgoing/<int:pk>/register/", views.outgoing_register, name="outgoing_register"),
    path("outgoing/<int:pk>/void-number/", views.outgoing_void_number, name="outgoing_void_number"),
    path("outgoing/<int:pk>/seal/", views.outgoing_seal, name="outgoing_seal"),
    path("outgoing/<int:pk>/distribute/", views.outgoing_distribute, name="outgoing_distribute"),
    path("outgoing/<int:pk>/cancel/", views.outgoing_cancel, name="outgoing_cancel"),
    path("outgoing/<int:pk>/revoke/", views.outgoing_revoke, name="outgoing_revoke"),
    path("outgoing/<int:pk>/abolish/", views.outgoing_abolish, name="outgoing_abolish"),
]
