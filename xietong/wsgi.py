"""WSGI entry point: pages and the REST API (Granian or gunicorn in production)."""

from django.core.handlers.wsgi import WSGIHandler

from xietong.boot import configure_or_exit


def _load() -> WSGIHandler:
    from django.core.wsgi import get_wsgi_application

    return get_wsgi_application()


application = configure_or_exit(_load)
