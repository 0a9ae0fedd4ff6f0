# fetcher: Debian's cron runs the fetch job as a non-root user; tini is PID 1 so signals work.
ARG BASE_IMAGE=debian:trixie-slim

# ---- the virtual environment, built from the pinned, hashed requirements ----------------------
FROM ${BASE_IMAGE} AS venv-build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# Not pinning apt versions: the base tag pins the Debian suite, whose updates are security fixes.
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        ca-certificates \
        python3 \
        python3-venv \
    ; \
    rm -rf /var/lib/apt/lists/*
COPY requirements.txt /tmp/requirements.txt
RUN set -eux; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements.txt

# ---- the runtime environment: no pip, no test suites or headers -------------------------------
FROM venv-build AS venv
RUN set -eux; \
    /opt/venv/bin/pip uninstall --yes pip; \
    # test suites, C headers and Cython sources ship in the wheels; nothing imports them at runtime
    find /opt/venv/lib -depth \( -type d -name tests -o -type d -path '*/pyarrow/include' \
        -o -type d -path '*/pyarrow/src' -o -name '*.pyx' -o -name '*.pxd' \) -exec rm -rf {} +

# ---- the fetcher itself, installed as a package into /opt/venv, staged under /stage ------------
# Only this stage and the last layer of the image see the code: a code-only change rebuilds in
# seconds. The build backend is pinned and installed first, so the wheel builds offline.
FROM venv-build AS package
COPY requirements-build.txt /tmp/requirements-build.txt
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: -r /tmp/requirements-build.txt
WORKDIR /src
COPY pyproject.toml ./
COPY fetcher fetcher
# --root stages exactly what `pip install` puts into /opt/venv (the package, its metadata and the
# `fetcher` command), so the image copies it over the pip-free venv without needing pip.
RUN /opt/venv/bin/pip install --no-deps --no-build-isolation --no-compile --root /stage .

# ---- the image: docker build --target runtime ------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# Not pinning apt versions: the base tag pins the Debian suite, whose updates are security fixes.
# hadolint ignore=DL3008
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends \
        ca-certificates \
        cron \
        python3 \
        tini \
        tzdata \
    ; \
    rm -rf /var/lib/apt/lists/*; \
    # cron runs our jobs only: no stock system crontab, no run-parts directories
    rm -rf /etc/cron.hourly /etc/cron.daily /etc/cron.weekly /etc/cron.monthly /etc/cron.yearly; \
    printf '# fetcher: the jobs are in /etc/cron.d/fetcher\n' > /etc/crontab; \
    # the crontab and the log are written at start into /run, a tmpfs under --read-only
    ln -s /run/fetcher/crontab /etc/cron.d/fetcher; \
    ln -s /run/fetcher/fetch.log /var/log/fetch.log; \
    # /out belongs to the image's own user, so a new named volume is writable by the job
    install -d -o 10001 -g 10001 /out
COPY --from=venv /opt/venv /opt/venv
# FETCHER_STATUS_DIR: each source's latest outcome, kept by the job and read by the health check;
# `fetcher prepare` creates it at start, owned by the job's user, under /run (a tmpfs when hardened)
# FETCHER_IN_CONTAINER: a refused connection to 127.0.0.1 then says how to reach the host's API
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    FETCHER_IN_CONTAINER=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FETCHER_STATUS_DIR=/run/fetcher/status
COPY crontab /etc/fetcher/crontab.default
COPY docker/entrypoint docker/run-job /usr/local/bin/
COPY demo /app/demo
COPY --from=package /stage/ /
# the job's user cannot write bytecode next to the code: compile it once, here
RUN python3 -m compileall -q /app /opt/venv/lib/python3*/site-packages/fetcher
VOLUME ["/out"]
WORKDIR /app
HEALTHCHECK --interval=30s --timeout=15s --start-period=30s --retries=2 \
    CMD ["/opt/venv/bin/fetcher", "health"]
ENTRYPOINT ["/usr/bin/tini", "--", "/usr/local/bin/entrypoint"]
CMD ["cron"]

# ---- the test suite on the image's Python: docker build --target test ------------------------
# After the runtime stage: Docker's classic builder builds every stage up to its target, so
# `docker build --target runtime` (make build) never builds this one.
FROM venv-build AS test
COPY requirements-test.txt /tmp/requirements-test.txt
RUN /opt/venv/bin/pip install --require-hashes --only-binary=:all: \
        -r /tmp/requirements.txt -r /tmp/requirements-test.txt
WORKDIR /src
COPY Dockerfile README.md pyproject.toml crontab compose.yaml compose.host.yaml requirements.in ./
COPY deploy deploy
COPY demo demo
COPY docker docker
COPY fetcher fetcher
COPY tests tests
# The bench's pages, which the fast page path's tests read (tests/records/test_arrowpage.py).
COPY bench/server.py bench/server.py
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CMD ["python", "-m", "pytest", "-p", "no:cacheprovider", "-m", "not docker"]

# ---- the default target, for a plain `docker build .`: the runtime image ----------------------
FROM runtime
