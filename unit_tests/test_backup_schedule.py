"""Scheduled backups: the timer and job (backup_schedule.py, pure), the run outside hooks
(backup_run.py) against a fake etcdctl and a real directory store, and the hooks' part
(backup_timer.py) with systemctl recorded."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from etcd_charm import backup_run, backup_timer, backups
from etcd_charm import backup_schedule as BS
from etcd_charm import snapshot as snap
from etcd_charm.backup_store import LocalStore
from etcd_charm.etcdctl import Etcdctl
from etcd_charm.settings import parse_settings

from .fixtures import DATA, Kv, capture, config_defaults

DB = DATA / "snapshots" / "etcd-3.5.16.db"
LOCAL = "https://127.0.0.1:2379"
PEER = "https://10.0.0.2:2379"


def test_the_timer_runs_the_service_on_the_schedule_and_catches_up() -> None:
    units = BS.units("/usr/bin/python3", "/var/lib/juju/agents/unit-etcd-0/charm", "daily")
    timer, service = units["etcd-backup.timer"], units["etcd-backup.service"]
    assert "OnCalendar=daily\n" in timer and "Persistent=true\n" in timer
    assert "WantedBy=timers.target" in timer
    assert "Type=oneshot\n" in service
    assert "ExecStart=/usr/bin/python3 -m etcd_charm.backup_run\n" in service
    assert (
        "Environment=PYTHONPATH=/var/lib/juju/agents/unit-etcd-0/charm/lib:"
        "/var/lib/juju/agents/unit-etcd-0/charm/venv\n"
    ) in service


def test_job_and_outcome_round_trip() -> None:
    job = BS.Job("etcd/0", "m-1", "etcd", 3, (LOCAL, PEER), {"kind": "local", "directory": "/d"})
    assert BS.Job.from_json(job.to_json()) == job
    out = BS.Outcome(True, 1764900000.0, 2.5, "2025-12-05T02:00:00Z", "etcd/0:/d", 10, 6, ("x",))
    assert BS.Outcome.from_json(out.to_json()) == out
    assert BS.Outcome.from_json("{not json") is None and BS.Outcome.from_json("{}") is None


def test_status_says_a_failed_run_with_its_time_and_why() -> None:
    failed = BS.Outcome(False, 1764900000.0, 1.0, error="no healthy member")
    assert BS.status_note("daily", failed) == (
        "the scheduled backup of 2025-12-05 02:00 UTC failed: no healthy member"
    )
    assert BS.status_note("daily", BS.Outcome(True, 1764900000.0, 1.0)) == ""
    assert BS.status_note("", failed) == ""  # no schedule: nothing to say
    assert BS.status_note("daily", None) == ""


# --- the run ---------------------------------------------------------------------------


class Etcd:
    """etcdctl for a healthy 1-member cluster (``down``: endpoints that do not answer)."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.saved_from: list[str] = []

    def __call__(self, argv: list[str], env: dict[str, str], timeout: float) -> Any:
        endpoints = next(a for a in argv if a.startswith("--endpoints=")).split("=", 1)[1]
        args = argv[argv.index("json") + 1 :]
        if endpoints in self.down and args[:2] != ["snapshot", "status"]:
            return subprocess.CompletedProcess(argv, 1, "", "Error: context deadline exceeded")
        out = ""
        if args[:2] == ["endpoint", "health"]:
            out = capture("3.5.16", "endpoint-health-1")["stdout"]
        elif args[:2] == ["endpoint", "status"]:
            out = capture("3.5.16", "endpoint-status-1")["stdout"]
        elif args[:2] == ["member", "list"]:
            out = capture("3.5.16", "member-list-1")["stdout"]
        elif args[:2] == ["snapshot", "save"]:
            self.saved_from.append(endpoints)
            Path(args[2]).write_bytes(DB.read_bytes())
        elif args[:2] == ["snapshot", "status"]:
            out = json.dumps({"hash": 1, "revision": 2, "totalKey": 9, "totalSize": 20480})
        elif args[0] == "get":
            out = json.dumps({"header": {"revision": 2}, "count": 1})
        else:
            raise AssertionError(args)
        return subprocess.CompletedProcess(argv, 0, out, "")


@pytest.fixture
def etcd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Etcd:
    from etcd_charm import snapshot_take

    fake = Etcd()
    monkeypatch.setattr(
        backup_run, "client", lambda eps: Etcdctl(eps, "ca", "c", "k", runner=fake)
    )
    monkeypatch.setattr(snapshot_take, "SNAP_WORK", str(tmp_path / "snap-work"))
    monkeypatch.setattr(backup_run, "WORK_DIR", str(tmp_path / "work"))
    monkeypatch.setattr(BS, "JOB_PATH", str(tmp_path / "job.json"))
    monkeypatch.setattr(BS, "LAST_PATH", str(tmp_path / "last.json"))
    return fake


def job(tmp_path: Path, retention: int = 2) -> BS.Job:
    store = {"kind": "local", "directory": str(tmp_path / "backups")}
    j = BS.Job("etcd/0", "m-1", "etcd", retention, (LOCAL, PEER), store)
    Path(BS.JOB_PATH).write_text(j.to_json())
    return j


def test_a_run_records_a_scheduled_backup_and_prunes_beyond_retention(
    etcd: Etcd, tmp_path: Path
) -> None:
    job(tmp_path, retention=2)
    store = LocalStore(str(tmp_path / "backups"), "etcd/0")
    outcomes = []
    for _ in range(3):
        assert backup_run.main([]) == 0
        outcomes.append(BS.Outcome.from_json((tmp_path / "last.json").read_text()))
    listed = backups.listing(store)
    assert [b.kind for b in listed.backups] == ["scheduled", "scheduled"]
    last = outcomes[-1]
    assert last is not None and last.ok and last.revision == 2
    assert last.pruned == (outcomes[0].backup_id,)  # type: ignore[union-attr]
    assert [b.id for b in listed.backups] == [o.backup_id for o in outcomes[1:]]  # type: ignore[union-attr]
    assert etcd.saved_from == [LOCAL] * 3  # this unit's member while it is healthy
    got, path = backups.fetch(store, last.backup_id, str(tmp_path / "f"))
    assert snap.unpack(path, str(tmp_path / "staging")).hash_checked
    assert list((tmp_path / "work").iterdir()) == []


def test_a_run_takes_the_next_healthy_member_and_fails_without_one(
    etcd: Etcd, tmp_path: Path
) -> None:
    job(tmp_path)
    etcd.down.add(LOCAL)
    assert backup_run.main([]) == 0
    assert etcd.saved_from == [PEER]
    etcd.down.add(PEER)
    assert backup_run.main([]) == 1
    out = BS.Outcome.from_json((tmp_path / "last.json").read_text())
    assert out is not None and not out.ok
    assert out.error.startswith("no healthy member to take the backup from (")
    assert f"{LOCAL}: " in out.error and f"{PEER}: " in out.error


def test_a_run_without_a_job_fails_and_says_so(etcd: Etcd, tmp_path: Path) -> None:
    assert backup_run.main([]) == 1
    out = BS.Outcome.from_json((tmp_path / "last.json").read_text())
    assert out is not None and not out.ok and "no usable job file" in out.error


# --- the hooks' part ---------------------------------------------------------------------


class Hook:
    unit = "etcd/0"

    @staticmethod
    def endpoint(name: str) -> None:  # no s3-credentials relation
        return None


def settings(**change: Any) -> Any:
    s, errors = parse_settings({**config_defaults(), **change})
    assert s is not None, errors
    return s


@pytest.fixture
def systemd(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, ...]]:
    calls: list[tuple[str, ...]] = []
    monkeypatch.setattr(backup_timer.workload, "systemctl", lambda *a: calls.append(a))
    monkeypatch.setattr(backup_timer.hookenv, "model_uuid", lambda: "m-1")
    monkeypatch.setattr(backup_timer.hookenv, "application_name", lambda: "etcd")
    monkeypatch.setattr(backup_timer.hookenv, "charm_dir", lambda: "/charm")
    monkeypatch.setattr(backup_timer.hookenv, "log", lambda *a, **k: None)
    monkeypatch.setattr(BS, "JOB_PATH", str(tmp_path / "job.json"))
    monkeypatch.setattr(BS, "LAST_PATH", str(tmp_path / "last.json"))
    return calls


def test_the_leader_installs_the_timer_once_and_others_remove_it(
    systemd: list[tuple[str, ...]], tmp_path: Path
) -> None:
    units = tmp_path / "units"
    s = settings(backup_schedule="*-*-* 02:00:00", backup_retention=3)
    note = backup_timer.reconcile(Hook(), s, True, True, [LOCAL, PEER], str(units))  # type: ignore[arg-type]
    assert note == ""
    assert sorted(p.name for p in units.iterdir()) == ["etcd-backup.service", "etcd-backup.timer"]
    assert "OnCalendar=*-*-* 02:00:00\n" in (units / "etcd-backup.timer").read_text()
    assert systemd == [("daemon-reload",), ("enable", "etcd-backup.timer"),
                       ("restart", "etcd-backup.timer")]  # fmt: skip
    j = BS.Job.from_json((tmp_path / "job.json").read_text())
    assert (j.retention, j.endpoints, j.application) == (3, (LOCAL, PEER), "etcd")
    assert (tmp_path / "job.json").stat().st_mode & 0o777 == 0o600
    systemd.clear()
    backup_timer.reconcile(Hook(), s, True, True, [LOCAL, PEER], str(units))  # type: ignore[arg-type]
    assert systemd == []  # nothing changed: systemd is not touched
    # a failed run shows in the leader's status at the next hook
    (tmp_path / "last.json").write_text(
        BS.Outcome(False, 1764900000.0, 1.0, error="disk full").to_json()
    )
    note = backup_timer.reconcile(Hook(), s, True, True, [LOCAL], str(units))  # type: ignore[arg-type]
    assert note == "the scheduled backup of 2025-12-05 02:00 UTC failed: disk full"
    # leadership moved: this unit stops and removes the timer and the job
    assert backup_timer.reconcile(Hook(), s, False, True, [LOCAL], str(units)) == ""  # type: ignore[arg-type]
    assert list(units.iterdir()) == [] and not (tmp_path / "job.json").exists()
    assert ("disable", "--now", "etcd-backup.timer") in systemd
    # an empty schedule on the leader: the same
    backup_timer.reconcile(Hook(), s, True, True, [LOCAL], str(units))  # type: ignore[arg-type]
    off = settings(backup_schedule="")
    backup_timer.reconcile(Hook(), off, True, True, [LOCAL], str(units))  # type: ignore[arg-type]
    assert list(units.iterdir()) == []


def test_a_schedule_systemd_refuses_is_a_config_error_checked_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from etcd_charm.record import Record

    runs: list[str] = []

    def analyze(argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        runs.append(argv[-1])
        if argv[-1] == "daily":
            return subprocess.CompletedProcess(argv, 0, "Normalized form: *-*-* 00:00:00\n", "")
        return subprocess.CompletedProcess(
            argv, 1, "", f"Failed to parse calendar specification '{argv[-1]}': Invalid argument\n"
        )

    monkeypatch.setattr(backup_timer.subprocess, "run", analyze)
    record = Record(Kv())
    bad = backup_timer.check_schedule(record, settings(backup_schedule="Mon..Funday"))
    assert bad == (
        "backup_schedule='Mon..Funday' is not a systemd calendar expression: Failed to parse "
        "calendar specification 'Mon..Funday': Invalid argument"
    )
    assert backup_timer.check_schedule(record, settings(backup_schedule="daily")) == ""
    assert backup_timer.check_schedule(record, settings(backup_schedule="daily")) == ""
    assert runs == ["Mon..Funday", "daily"]  # a valid expression is checked once
    assert backup_timer.check_schedule(record, settings()) == ""  # empty: off
