"""Container start-up: the job's user, environment, crontab and log, prepared before cron starts.

Cron runs jobs with an empty environment, as root, in the daemon's zone. So at start, as root:
- the job's uid and gid are chosen: the owner of /out, or PUID/PGID; never root;
- the container's environment is snapshotted to a root-only file that `run-job` hands to the job;
- the crontab is rendered from the sources' schedules (or, if the configuration is invalid, the
  image's hourly default, so that the container stays up and its health check says why), and the
  schedules it holds are recorded, so that status and health can say when cron runs another;
- the status directory (FETCHER_STATUS_DIR) is handed to the job's user, who keeps each source's
  latest outcome there, which health (as root) reads;
- the log file starts empty. Everything lands in /run/fetcher, which may be a tmpfs.
"""

from __future__ import annotations

import errno
import logging
import os
import shlex
from collections.abc import Mapping
from dataclasses import dataclass

from fetcher.config import environment
from fetcher.config.environment import Startup
from fetcher.config.model import Config
from fetcher.errors import ConfigError
from fetcher.logs import quote
from fetcher.ops import installed
from fetcher.storage import hints, is_remote

logger = logging.getLogger(__name__)

STATE_DIR = "/run/fetcher"
OUTPUT_DIR = "/out"
LOG_FILE = "/var/log/fetch.log"
# The fetch job, as the job user with the container's environment: docker/run-job is its one home.
JOB = "/usr/local/bin/run-job"
DEFAULT_CRONTAB = "/etc/fetcher/crontab.default"
FALLBACK_ID = 10001  # the image's own user for /out, when nobody else owns it
_PRIVATE_VARIABLES = frozenset({"HOME", "OLDPWD", "PWD", "SHLVL", "_"})


@dataclass(frozen=True)
class JobUser:
    """Who the job runs as. `hand_over` says the output directory must be given to it first."""

    uid: int
    gid: int
    reason: str
    hand_over: bool = False


def on_start(config: Config | None, settings: Startup) -> str:
    """What to run at start: FETCH_ON_START, or `never` when the configuration is invalid."""
    return settings.on_start if config is not None else "never"


def job_user(output_dir: str, settings: Startup) -> JobUser:
    """Who the job runs as: PUID/PGID if set, else the owner of `output_dir`; never root.

    When `output_dir` belongs to root and PUID is not set, the job runs as the image's own user
    (10001), and `prepare` hands it the directory (or says, in one line, that it cannot). A
    directory whose group only is root gives its owner's uid as the gid too.
    """
    info = os.stat(output_dir)
    if settings.uid is not None or settings.gid is not None:
        uid = info.st_uid if settings.uid is None else settings.uid
        default_gid = info.st_gid if settings.uid is None else uid  # PUID alone is the gid too
        gid = default_gid if settings.gid is None else settings.gid
        if uid == 0 or gid == 0:
            raise ConfigError("PUID", "the job never runs as root: set PUID and PGID to a non-zero id")
        return JobUser(uid, gid, "PUID/PGID")
    if info.st_uid == 0:
        return JobUser(FALLBACK_ID, FALLBACK_ID, f"{output_dir} belongs to root", hand_over=True)
    return JobUser(info.st_uid, info.st_gid or info.st_uid, f"owner of {output_dir}")


def render_crontab(config: Config) -> str:
    """One line per schedule, running all of its sources in one job; /etc/cron.d format.

    The line names the schedule, not the sources: Debian cron cuts a command at 1000 characters,
    which fifty source names would pass. The job runs the sources recorded as installed at that
    schedule (fetcher.ops.installed), so the crontab and the record always agree.
    """
    lines = [
        "# Rendered at container start from the sources' schedules (see fetcher.ops.container).",
        "SHELL=/bin/sh",
        "PATH=/usr/bin:/bin",
    ]
    schedules = dict.fromkeys(" ".join(source.schedule.split()) for source in config.sources)
    lines += [
        f"{schedule} root {JOB} --schedule {shlex.quote(schedule)} >> {LOG_FILE} 2>&1"
        for schedule in schedules
    ]
    return "\n".join(lines) + "\n"


def environment_snapshot(environ: Mapping[str, str]) -> bytes:
    """`NAME=value\\0` for every variable the job should see, byte for byte."""
    return b"".join(
        os.fsencode(f"{name}={value}") + b"\0"
        for name, value in sorted(environ.items())
        if name not in _PRIVATE_VARIABLES
    )


def prepare(
    config: Config | None,
    error: ConfigError | None,
    settings: Startup,
    environ: Mapping[str, str],
    *,
    state_dir: str = STATE_DIR,
    output_dir: str = OUTPUT_DIR,
    once: bool = False,
) -> JobUser:
    """Write everything the entrypoint, cron and `run-job` need into `state_dir`.

    `config` is None when it failed to load with `error`: the default crontab is installed then,
    and the error logged in one line. `settings` are the start-up variables, parsed; `environ` is
    the whole environment, snapshotted for the job. `once` prepares a one-off run (`once`, a
    throwaway `make run-once`): no cron runs there, so no crontab is written, and a configuration
    error is left for the run itself to report.
    """
    if config is not None and not is_remote(config.output_dir) and os.path.isdir(config.output_dir):
        output_dir = config.output_dir  # the job writes there: its owner is the job's user
    user = job_user(output_dir, settings)
    if user.hand_over:
        _hand_over(output_dir, user)
    os.makedirs(state_dir, mode=0o755, exist_ok=True)
    _write(f"{state_dir}/runas", f"{user.uid}:{user.gid}\n".encode(), 0o644)
    _write(f"{state_dir}/env", environment_snapshot(environ), 0o600)
    status_dir = environment.status_dir(environ)
    if status_dir:  # the image sets it; elsewhere the job makes its own
        _give_status_dir(status_dir, user)
    if not once:
        _install_crontab(config, error, state_dir)
    # A fresh log each start: tail copies it whole to `docker logs`, which kept the last one.
    _write(f"{state_dir}/fetch.log", b"", 0o644)
    return user


def _install_crontab(config: Config | None, error: ConfigError | None, state_dir: str) -> None:
    if config is not None:
        crontab = render_crontab(config).encode()
        schedules = installed.Installed.of_config(config)
    else:
        with open(DEFAULT_CRONTAB, "rb") as default:
            crontab = default.read()
        schedules = installed.Installed.of_crontab(crontab.decode())
        logger.error(
            "event=config_error error=%s action=%s",
            quote(str(error)),
            quote("installed the hourly default crontab; unhealthy until the configuration is fixed"),
        )
    _write(f"{state_dir}/crontab", crontab, 0o644)
    installed.save(schedules, state_dir)


def _hand_over(output_dir: str, user: JobUser) -> None:
    try:
        os.chown(output_dir, user.uid, user.gid)
    except OSError as exc:
        logger.error(
            "event=output_not_writable dir=%s error=%s hint=%s",
            output_dir,
            quote(f"it belongs to root and cannot be handed to {user.uid}:{user.gid}: {exc.strerror}"),
            quote(
                hints.READ_ONLY
                if exc.errno == errno.EROFS
                else "set PUID and PGID to the owner of the mounted directory, or chown it"
            ),
        )
        return
    logger.warning(
        "event=output_handed_over dir=%s uid=%d gid=%d reason=%s",
        output_dir,
        user.uid,
        user.gid,
        quote("it belonged to root; set PUID/PGID to choose the owner"),
    )


def _give_status_dir(path: str, user: JobUser) -> None:
    """Create the status directory, writable by the job's user (its outcomes) and readable by all."""
    os.makedirs(path, mode=0o755, exist_ok=True)
    try:
        os.chown(path, user.uid, user.gid)
        os.chmod(path, 0o755)
    except PermissionError:
        # Without CAP_CHOWN (a hardened container) root cannot give it away: share it as /tmp is.
        try:
            os.chmod(path, 0o1777)
        except OSError as exc:
            logger.warning("event=status_dir_not_writable dir=%s error=%s", path, quote(str(exc.strerror)))


def _write(path: str, data: bytes, mode: int) -> None:
    """Write atomically, with `mode` from the start (a secret is never briefly world-readable)."""
    temp = f"{path}.tmp"
    descriptor = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    os.fchmod(descriptor, mode)  # O_CREAT's mode is masked by the umask; this one is not
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
    os.replace(temp, path)
