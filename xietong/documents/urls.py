"""The 公文 module under ``/documents/``: outgoing documents (发文), incoming documents (收文),
the registers and the archive, each area with its own URL list."""

from xietong.documents import urls_archive, urls_incoming, urls_outgoing

app_name = "documents"
urlpatterns = [
    *urls_outgoing.urlpatterns,
    *urls_incoming.urlpatterns,
    *urls_archive.urlpatterns,
]
