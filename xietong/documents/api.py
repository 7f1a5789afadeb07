"""公文 over the REST API under ``/api/v1/documents/``: ``/outgoing``, ``/incoming`` and
``/archive``, each from its own module."""

from ninja import Router

from xietong.documents.api_archive import router as archive_router
from xietong.documents.api_incoming import router as incoming_router
from xietong.documents.api_outgoing import router as outgoing_router

router = Router()
router.add_router("/outgoing", outgoing_router)
router.add_router("/incoming", incoming_router)
router.add_router("/archive", archive_router)
