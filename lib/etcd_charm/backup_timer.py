"""Scheduled backups, the shell: every hook, the Juju leader (once its member runs) keeps the
``etcd-backup`` timer and its job as ``backup_schedule`` says; every other unit removes
them. The texts and the job are :mod:`backup_schedule`'s; the run is :mod:`backup_run`.

``backup_schedule`` is checked with ``systemd-analyze calendar`` (:func:`calendar_error`)
before anything uses it: the charm's config is invalid otherwise, and nothing changes.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence

from charmhelpers.core import hookenv

from . import backup_schedule as BS
from . import s3_relation, workload
from .backup_store import LOCAL_DIR
from .context import Hook, log
from .record import Record
from .s3_relation import S3Store
from .settings import Settings


def calendar_error(expr: str) -> str:
    """Why ``expr`` is not a systemd calendar expression, as ``systemd-analyze calendar``
    says it ("" when it is one)."""
    try:
        proc = subprocess.run(
            ["systemd-analyze", "calendar", expr],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"systemd-analyze cannot check it ({e})"
    if proc.returncode == 0:
        return ""
    said = " ".join((proc.stderr or proc.stdout).split())
    return said or f"systemd-analyze calendar exited with {proc.returncode}"


def check_schedule(record: Record, settings: Settings | None) -> str:
    """The error to add to the charm's config errors ("" when the schedule is valid or
    empty); a valid expression is remembered so that it is checked once."""
    if settings is None or not settings.backup_schedule:
        return ""
    expr = settings.backup_schedule
    if record.valid_schedule == expr:
        return ""
    why = calendar_error(expr)
    if why:
        return f"backup_schedule={expr!r} is not a systemd calendar expression: {why}"
    record.valid_schedule = expr
    return ""


def _paths(unit_dir: str) -> list[str]:
    return [os.path.join(unit_dir, f"{BS.UNIT}.{s}") for s in ("timer", "service")]


def s3_store(hook: Hook, is_leader: bool) -> tuple[S3Store | None, str]:
    """The S3 store the ``s3-credentials`` relation gives (None without one, or while it is
    incomplete: then why, for the leader's status). The leader asks for its bucket first."""
    endpoint = hook.endpoint(s3_relation.ENDPOINT)
    if endpoint is None:
        return None, ""
    if is_leader:
        endpoint.request(s3_relation.requested_bucket)
    data = endpoint.provided()
    if data is None:
        return None, ""
    store, problem = s3_relation.parse(data)
    return store, (f"backups: {problem}" if problem else "")


def reconcile(
    hook: Hook,
    settings: Settings,
    is_leader: bool,
    started: bool,
    endpoints: Sequence[str],
    unit_dir: str = BS.UNIT_DIR,
) -> str:
    """Install, update or remove the timer; the note the status adds ("" when none)."""
    s3, problem = s3_store(hook, is_leader)
    note = problem if is_leader else ""
    if not (is_leader and started and settings.backup_schedule):
        remove(unit_dir)
        return note
    job = BS.Job(
        unit=hook.unit,
        model_uuid=hookenv.model_uuid() or "",
        application=hookenv.application_name(),
        retention=settings.backup_retention,
        endpoints=tuple(endpoints),
        store=s3.job() if s3 else {"kind": "local", "directory": LOCAL_DIR},
    )
    os.makedirs(os.path.dirname(BS.JOB_PATH), exist_ok=True)
    workload.write_file(BS.JOB_PATH, job.to_json(), 0o600)
    units = BS.units(sys.executable, hookenv.charm_dir(), settings.backup_schedule)
    timer = f"{BS.UNIT}.timer"
    try:
        started_now = workload.install_timer(unit_dir, units, timer)
    except workload.WorkloadError as e:
        log(f"cannot start {timer}: {e}", hookenv.WARNING)
        return f"scheduled backups are not running: cannot start {timer} ({e})"
    if started_now:
        log(f"{timer} runs backups at: {settings.backup_schedule}")
    failed = BS.status_note(settings.backup_schedule, last_outcome())
    return "; ".join(n for n in (note, failed) if n)


def last_outcome() -> BS.Outcome | None:
    text = workload.read_file(BS.LAST_PATH)
    return BS.Outcome.from_json(text) if text else None


def remove(unit_dir: str = BS.UNIT_DIR) -> None:
    """No schedule here (not the leader, or backup_schedule is empty): stop and remove the
    timer, its service, the job (which may hold the store's credentials) and the outcome of
    the last run (the Nagios check of a unit that takes no backups has none to judge)."""
    paths = _paths(unit_dir)
    workload.remove_file(BS.LAST_PATH)
    if not any(os.path.exists(p) for p in paths + [BS.JOB_PATH]):
        return
    try:
        workload.systemctl("disable", "--now", f"{BS.UNIT}.timer")
    except workload.WorkloadError as e:
        log(f"cannot stop {BS.UNIT}.timer: {e}", hookenv.WARNING)
    removed = [p for p in paths + [BS.JOB_PATH] if workload.remove_file(p)]
    try:
        workload.systemctl("daemon-reload")
    except workload.WorkloadError as e:
        log(f"systemctl daemon-reload: {e}", hookenv.WARNING)
    log("scheduled backups stopped here; removed " + ", ".join(removed))
