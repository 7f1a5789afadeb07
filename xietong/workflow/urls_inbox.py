"""The inbox pages of the approvals app, joined into ``workflow.urls``: the boxes, 批量同意,
委托 and 常用意见."""

from django.urls import URLPattern, path

from xietong.workflow.views import inbox, personal

urlpatterns: list[URLPattern] = [
    path("", inbox.inbox, name="inbox"),
    path("batch/", inbox.batch_approve, name="batch_approve"),
    path("delegations/", personal.delegations, name="delegations"),
    path("delegations/<int:pk>/end/", personal.delegation_end, name="delegation_end"),
    path("people/", personal.people_search, name="people_search"),
    path("phrases/", personal.phrases, name="phrases"),
    path("phrases/<int:pk>/delete/", personal.phrase_delete, name="phrase_delete"),
    path("phrases/<int:pk>/move/", personal.phrase_move, name="phrase_move"),
]
