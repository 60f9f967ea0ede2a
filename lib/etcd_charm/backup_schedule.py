"""Scheduled backups, the pure part: the systemd timer and service the charm installs on the
Juju leader's machine, the job file they run with, and what status says of the last run.

The timer (``OnCalendar=<backup_schedule>``, ``Persistent=true``: a run missed while the
machine was down is taken when it is back; systemd.timer(5)) starts a oneshot service that
runs the charm's Python outside any hook::

    python3 -m etcd_charm.backup_run

It reads :data:`JOB_PATH` (what the leader's last hook wrote: the store, the retention, the
members to take the snapshot from) and writes :data:`LAST_PATH` (the outcome, no secret),
which every later hook reads for the leader's status and the Nagios collector for its check.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from typing import Any

UNIT = "etcd-backup"
UNIT_DIR = "/etc/systemd/system"
#: the job: root's, 0600 (it may hold the store's credentials)
JOB_PATH = "/var/snap/etcd/common/backup-job.json"
#: the outcome of the last scheduled run: no secret in it, 0644 (the Nagios check reads it)
LAST_PATH = "/var/snap/etcd/common/backup-last.json"
#: longest a scheduled backup may run before systemd stops it
TIMEOUT_S = 3600


def units(python: str, charm_dir: str, schedule: str) -> dict[str, str]:
    """The timer and its service (file name -> content)."""
    service = f"""\
# Written by the etcd charm on the Juju leader while backup_schedule is set.
[Unit]
Description=Take a scheduled backup of etcd into the etcd charm's backup store
After=snap.etcd.etcd.service

[Service]
Type=oneshot
Environment=PYTHONPATH={charm_dir}/lib:{charm_dir}/venv
ExecStart={python} -m etcd_charm.backup_run
TimeoutStartSec={TIMEOUT_S}
"""
    timer = f"""\
# Written by the etcd charm on the Juju leader while backup_schedule is set.
[Unit]
Description=Scheduled backups of etcd ({schedule})

[Timer]
OnCalendar={schedule}
Persistent=true
AccuracySec=1s

[Install]
WantedBy=timers.target
"""
    return {f"{UNIT}.service": service, f"{UNIT}.timer": timer}


@dataclass(frozen=True)
class Job:
    """What a scheduled run needs, written by the leader's hooks."""

    unit: str
    model_uuid: str
    application: str
    retention: int
    endpoints: tuple[str, ...]  # client URLs to take the snapshot from, this unit's first
    store: dict[str, Any] = field(default_factory=dict)  # {"kind": "local", "directory": ...}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Job:
        d = json.loads(text)
        return cls(
            unit=str(d["unit"]),
            model_uuid=str(d["model_uuid"]),
            application=str(d["application"]),
            retention=int(d["retention"]),
            endpoints=tuple(str(e) for e in d["endpoints"]),
            store=dict(d.get("store") or {}),
        )


@dataclass(frozen=True)
class Outcome:
    """A scheduled run's result (:data:`LAST_PATH`)."""

    ok: bool
    started: float  # epoch seconds
    took_s: float
    backup_id: str = ""
    location: str = ""
    size: int = 0
    revision: int = 0
    pruned: tuple[str, ...] = ()
    error: str = ""

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Outcome | None:
        try:
            d = json.loads(text)
            return cls(
                ok=bool(d["ok"]),
                started=float(d["started"]),
                took_s=float(d["took_s"]),
                backup_id=str(d.get("backup_id", "")),
                location=str(d.get("location", "")),
                size=int(d.get("size", 0)),
                revision=int(d.get("revision", 0)),
                pruned=tuple(str(p) for p in d.get("pruned", ())),
                error=str(d.get("error", "")),
            )
        except (ValueError, KeyError, TypeError):
            return None


def when(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch))


def status_note(schedule: str, last: Outcome | None) -> str:
    """What the leader's status adds about scheduled backups ("" when all is well): a failed
    last run, with its time and why."""
    if not schedule or last is None or last.ok:
        return ""
    return f"the scheduled backup of {when(last.started)} failed: {last.error}"
