"""A nested REST API built with Django REST Framework: `/users/` and `/users/{id}/orders/`.

Run in a process of its own (Django's settings are per process): `python -m tests.servers.drf_nested
--users 200` prints its port, then serves on 127.0.0.1 until stopped. Both lists are paged by DRF's
PageNumberPagination (`{"count", "next", "previous", "results"}`); user `n` has `n % 4` orders,
two to a page. `--fail-user N` answers 400 for that user's orders. Every request's arrival time
(the server's monotonic clock) is listed at `/_arrivals/`, which is not itself listed.

`DrfNested` starts and stops it from a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

REPO = Path(__file__).resolve().parents[2]


class DrfNested:
    """`with DrfNested(users=200) as api: api.url("/users/"); api.arrivals()`."""

    def __init__(self, *, users: int, fail_user: int | None = None) -> None:
        self.args = ["--users", str(users)] + (["--fail-user", str(fail_user)] if fail_user else [])
        self.port = 0
        self._process: subprocess.Popen[str] | None = None

    def __enter__(self) -> DrfNested:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.servers.drf_nested", *self.args],
            cwd=REPO,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        line = self._process.stdout.readline()  # the server prints its port once it listens
        assert line.strip().isdigit(), f"the DRF server did not start: {line!r}"
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._process is not None
        self._process.terminate()
        self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def arrivals(self) -> list[dict[str, Any]]:
        """Every request served so far: its path and when it arrived (monotonic seconds)."""
        with urllib.request.urlopen(self.url("/_arrivals/"), timeout=10) as response:
            return json.load(response)


def orders_of(user: int) -> list[dict[str, Any]]:
    """The orders user `user` has: `user % 4` of them."""
    return [
        {
            "id": user * 10 + n,
            "user_id": user,
            "total": f"{user}.{n:02d}",
            "placed_at": f"2026-11-{n + 1:02d}",
        }
        for n in range(user % 4)
    ]


def _application(users: int, fail_user: int | None) -> Any:
    """The Django project, configured in code: two list views and a middleware that logs arrivals."""
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        SECRET_KEY="test-only",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "rest_framework"],
        MIDDLEWARE=[f"{__name__}.log_arrival"],
        DATABASES={},
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": [],
            "DEFAULT_PERMISSION_CLASSES": [],
            "UNAUTHENTICATED_USER": None,
            "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
        },
    )
    django.setup()
    from django.core.wsgi import get_wsgi_application
    from django.urls import path
    from rest_framework import generics, pagination, serializers
    from rest_framework.exceptions import NotFound, ValidationError

    class Pages(pagination.PageNumberPagination):
        page_size = 50

    class OrderPages(pagination.PageNumberPagination):
        page_size = 2

    class UserSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        name = serializers.CharField()

    class OrderSerializer(serializers.Serializer):
        id = serializers.IntegerField()
        user_id = serializers.IntegerField()
        total = serializers.DecimalField(max_digits=10, decimal_places=2)
        placed_at = serializers.DateField()

    class UserList(generics.ListAPIView):
        serializer_class = UserSerializer
        pagination_class = Pages

        def get_queryset(self) -> list[dict[str, Any]]:
            return [{"id": n, "name": f"user {n}"} for n in range(1, users + 1)]

    class UserOrders(generics.ListAPIView):
        serializer_class = OrderSerializer
        pagination_class = OrderPages

        def get_queryset(self) -> list[dict[str, Any]]:
            user = self.kwargs["user_id"]
            if user == fail_user:
                raise ValidationError({"user": f"user {user} cannot be listed"})
            if not 1 <= user <= users:
                raise NotFound(f"no user {user}")
            return orders_of(user)

    global urlpatterns
    urlpatterns = [
        path("users/", UserList.as_view()),
        path("users/<int:user_id>/orders/", UserOrders.as_view()),
        path("_arrivals/", _list_arrivals),
    ]
    return get_wsgi_application()


urlpatterns: list[Any] = []
_arrivals: list[dict[str, Any]] = []
_lock = threading.Lock()


def log_arrival(get_response: Any) -> Any:
    """Django middleware: note when each request arrived, before any view runs."""

    def middleware(request: Any) -> Any:
        if request.path != "/_arrivals/":
            with _lock:
                _arrivals.append({"path": request.get_full_path(), "at": time.monotonic()})
        return get_response(request)

    return middleware


def _list_arrivals(request: Any) -> Any:
    from django.http import JsonResponse

    with _lock:
        return JsonResponse(list(_arrivals), safe=False)


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--fail-user", type=int, default=None)
    args = parser.parse_args()
    application = _application(args.users, args.fail_user)
    server = make_server("127.0.0.1", 0, application, _ThreadingServer, _QuietHandler)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
