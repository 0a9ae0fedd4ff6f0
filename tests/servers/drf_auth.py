"""A real Django REST Framework API on 127.0.0.1 that wants `Authorization: Token <key>`.

DRF's own TokenAuthentication and IsAuthenticated guard `/items/`, which DRF's
PageNumberPagination serves (`{"count", "next", "previous", "results"}`). Django's settings are
global to a process, so the server runs in a subprocess of its own (`python -m
tests.servers.drf_auth DB_PATH KEY RECORDS`), and never meets another test's Django.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PAGE_SIZE = 2


@dataclass(frozen=True)
class DrfServer:
    base_url: str
    key: str

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"


@contextmanager
def running(tmp_path: Path, key: str, records: list[dict[str, Any]]) -> Iterator[DrfServer]:
    """Start the API with one user whose token is `key`; stop it on leaving."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.servers.drf_auth",
            str(tmp_path / "drf.sqlite3"),
            key,
            json.dumps(records),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the server prints its port once it listens
        if not line.strip().isdigit():
            process.kill()
            raise RuntimeError(f"the DRF server did not start: {line}{process.communicate(timeout=10)[1]}")
        yield DrfServer(f"http://127.0.0.1:{line.strip()}", key)
    finally:
        process.terminate()
        process.communicate(timeout=10)


def _serve(db_path: str, key: str, records: list[dict[str, Any]]) -> None:
    import django
    from django.conf import settings
    from django.urls import path

    settings.configure(
        DEBUG=False,
        SECRET_KEY="tests-only-not-a-secret",
        ALLOWED_HOSTS=["127.0.0.1"],
        ROOT_URLCONF=__name__,
        MIDDLEWARE=[],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "rest_framework",
            "rest_framework.authtoken",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": db_path}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        REST_FRAMEWORK={
            "DEFAULT_AUTHENTICATION_CLASSES": ["rest_framework.authentication.TokenAuthentication"],
            "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
            "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
            "PAGE_SIZE": PAGE_SIZE,
            "UNAUTHENTICATED_USER": None,
        },
    )
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.core.wsgi import get_wsgi_application
    from rest_framework.authtoken.models import Token
    from rest_framework.generics import GenericAPIView
    from rest_framework.request import Request
    from rest_framework.response import Response
    from werkzeug.serving import WSGIRequestHandler, make_server

    class Items(GenericAPIView):  # type: ignore[type-arg]
        def get(self, request: Request) -> Response:
            page = self.paginate_queryset(records)
            return self.get_paginated_response(page)

    class Quiet(WSGIRequestHandler):
        def log_request(self, *args: Any) -> None:
            pass

    global urlpatterns
    urlpatterns = [path("items/", Items.as_view())]
    call_command("migrate", verbosity=0)
    Token.objects.create(user=User.objects.create_user("fetcher"), key=key)
    server = make_server("127.0.0.1", 0, get_wsgi_application(), request_handler=Quiet)
    print(server.server_port, flush=True)
    server.serve_forever()


urlpatterns: list[Any] = []

if __name__ == "__main__":
    _serve(sys.argv[1], sys.argv[2], json.loads(sys.argv[3]))
