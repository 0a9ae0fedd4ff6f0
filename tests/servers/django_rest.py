"""A Django REST Framework API on 127.0.0.1: page-number paging (404 past the last page) and
limit-offset paging, configured in code and served by wsgiref in a thread.

The views list plain Python rows, so no database is needed; the pagination classes are DRF's own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest

from tests.servers import free_port, users

django = pytest.importorskip("django", reason="a test dependency: pip install -r requirements-test.txt")
PAGE_SIZE = 10
_ROWS: list[dict[str, Any]] = []


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _configure() -> None:
    from django.conf import settings

    if settings.configured:
        return
    settings.configure(
        DEBUG=False,
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        DATABASES={},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
    )
    django.setup()


def _urls() -> list[Any]:
    from django.urls import path
    from rest_framework import generics, pagination, serializers

    class Pages(pagination.PageNumberPagination):
        page_size = PAGE_SIZE

    class LimitOffset(pagination.LimitOffsetPagination):
        default_limit = PAGE_SIZE

    class Rows(serializers.BaseSerializer):  # the rows are dicts already
        def to_representation(self, instance: Any) -> Any:
            return instance

    class PagedUsers(generics.ListAPIView):
        serializer_class = Rows
        pagination_class = Pages

        def get_queryset(self) -> list[dict[str, Any]]:
            return _ROWS

    class OffsetUsers(PagedUsers):
        pagination_class = LimitOffset

    return [path("users/", PagedUsers.as_view()), path("users-offset/", OffsetUsers.as_view())]


urlpatterns: list[Any] = []


@contextmanager
def serve_drf(count: int) -> Iterator[str]:
    """Serve `count` users at `/users/` (`?page=`) and `/users-offset/` (`?offset=&limit=`)."""
    _configure()
    from django.core.wsgi import get_wsgi_application

    urlpatterns[:] = _urls()
    _ROWS[:] = users(count)
    server = make_server("127.0.0.1", free_port(), get_wsgi_application(), _Server, _QuietHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
