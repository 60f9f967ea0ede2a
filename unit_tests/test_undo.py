"""The undo of the shell's two risky flows, with a fake etcdctl runner, fake hook tools (those of
test_membership.py) and a fake machine (snap and systemctl: workload's command runner):
restore's rollback when the restored member does not start (lib/etcd_charm/restore.py) and
the migration's undo when the snap's member does not come up (lib/etcd_charm/migration.py).

Files live under a temporary directory: the snap's data and configuration directories and
the package's data directory are pointed there."""

from __future__ import annotations

import subprocess
from dataclasses import replace
from pathlib import Path

import pytest
from charmhelpers.core import hookenv

from etcd_charm import cluster, context, member, migration, restore, workload
from etcd_charm import etcd_conf as C
from etcd_charm import legacy as L
from etcd_charm.etcdctl import Etcdctl
from etcd_charm.record import (
    KV_APPLIED,
    KV_BOOTSTRAP,
    KV_CACHES,
    KV_MEMBER_ID,
    KV_MEMBERS,
    KV_STARTED,
)

from . import test_membership
from .test_membership import FakeEtcdctl, FakeHookTools, FakeKV, make_ctx

ROOT = Path(__file__).resolve().parents[1]
SNAP_SERVICE = workload.SERVICE  # snap.etcd.etcd
tools = test_membership.tools  # the fake hook tools (leader-set, status-set, log)

PREVIOUS = {  # unit storage of the member that runs before the restore
    KV_STARTED: True,
    KV_MEMBER_ID: 0x7FC0A3DB2F5C3D61,
    KV_BOOTSTRAP: {
        "initial_cluster": "etcd0=https://127.0.0.1:2380",
        "token": "old",
        "state": "new",
    },
    KV_APPLIED: "old-hash",
    KV_MEMBERS: '{"members": []}',
}


class FakeMachine:
    """``snap`` and ``systemctl`` as workload runs them: each command is recorded; the
    services' states follow start/stop; ``snap remove --purge`` deletes $SNAP_COMMON's
    files as snapd does."""

    def __init__(self, snap_common: Path, installed: bool, active: dict[str, bool]) -> None:
        self.snap_common = snap_common
        self.installed = installed
        self.active = dict(active)
        self.commands: list[str] = []
        self.failing: set[str] = set()  # commands that fail (once each)

    def run(self, argv: list[str], timeout: float = 600) -> str:
        line = " ".join(argv)
        self.commands.append(line)
        if line in self.failing:
            self.failing.discard(line)
            raise workload.WorkloadError(f"{line} failed: (fake)")
        verb = argv[:2]
        if verb == ["systemctl", "start"]:
            self.active[argv[2]] = True
        elif verb == ["systemctl", "stop"]:
            self.active[argv[2]] = False
        elif verb == ["snap", "install"]:
            self.installed = True
        elif argv[:3] == ["snap", "remove", "--purge"]:
            self.installed = False
            for f in self.snap_common.iterdir():
                if f.is_file():
                    f.unlink()
        elif verb == ["snap", "list"]:
            if not self.installed:
                raise workload.WorkloadError("snap list etcd failed: error: no matching snaps")
            return "Name  Version  Rev   Tracking     Publisher  Notes\netcd  3.5.16   300   3.5/stable   canonical  -\n"
        return ""

    def systemctl(self) -> list[str]:
        return [
            c for c in self.commands if c.startswith(("systemctl", "snap install", "snap remove"))
        ]


@pytest.fixture
def paths(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The snap's directories under ``tmp_path``: common/ (configuration, certificates) and
    current/ (data)."""
    common, data = tmp_path / "common", tmp_path / "current"
    common.mkdir()
    data.mkdir()
    files = {
        n: str(common / f"{n}")
        for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
    }
    for name, path in files.items():
        Path(path).write_text(f"{name} of the certificates relation\n")
    monkeypatch.setattr(C, "CONF_DIR", str(common))
    monkeypatch.setattr(C, "CONF_PATH", str(common / "etcd.conf.yml"))
    monkeypatch.setattr(C, "DATA_DIR", str(data))
    monkeypatch.setattr(C, "CA_PATH", files["ca.crt"])
    monkeypatch.setattr(C, "SERVER_CERT_PATH", files["server.crt"])
    monkeypatch.setattr(C, "SERVER_KEY_PATH", files["server.key"])
    monkeypatch.setattr(C, "CLIENT_CERT_PATH", files["client.crt"])
    monkeypatch.setattr(C, "CLIENT_KEY_PATH", files["client.key"])
    monkeypatch.setattr(C, "CERT_FILES", tuple(files.values()))
    monkeypatch.setattr(workload, "DROPIN_PATH", str(tmp_path / "dropin" / "10-etcd-charm.conf"))
    monkeypatch.setattr(hookenv, "charm_dir", lambda: str(ROOT))  # templates/etcd3.conf
    monkeypatch.setattr(hookenv, "relation_ids", lambda name=None: [])
    monkeypatch.setattr(member, "START_DEADLINE", 0.0)  # a member that does not answer: at once
    return tmp_path


def machine(
    monkeypatch: pytest.MonkeyPatch, paths: Path, installed: bool, active: dict[str, bool]
) -> FakeMachine:
    fake = FakeMachine(paths / "common", installed, active)
    monkeypatch.setattr(workload, "_run", fake.run)
    monkeypatch.setattr(workload, "service_active", lambda: fake.active.get(SNAP_SERVICE, False))
    monkeypatch.setattr(
        workload, "legacy_service_active", lambda: fake.active.get(L.SERVICE, False)
    )
    workload.forget_listing()
    return fake


class Etcd(FakeEtcdctl):
    """FakeEtcdctl, and ``snapshot restore`` (offline) makes the data directory it names."""

    def __call__(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        args = argv[argv.index("json") + 1 :]
        if args[:2] == ["snapshot", "restore"]:
            self.calls.append(("", args))
            data_dir = Path(next(a for a in args if a.startswith("--data-dir=")).split("=", 1)[1])
            (data_dir / "member" / "snap").mkdir(parents=True)
            (data_dir / "member" / "snap" / "db").write_text("restored\n")
            return subprocess.CompletedProcess(argv, 0, "", "")
        return super().__call__(argv, env, timeout)


@pytest.fixture
def etcd(monkeypatch: pytest.MonkeyPatch) -> Etcd:
    fake = Etcd()
    real = cluster.client

    def client(endpoints: list[str], binary: str = "etcdctl") -> Etcdctl:
        return replace(real(endpoints, binary), runner=fake)

    for module in (cluster, context, migration):
        monkeypatch.setattr(module, "client", client)
    return fake


def unit_state(kv: FakeKV) -> dict[str, object]:
    """Unit storage without its pure caches (record.KV_CACHES: never wrong, never undone)."""
    return {k: v for k, v in kv.values.items() if k not in KV_CACHES}


# --- restore: the restored member does not start ---------------------------------------------


def test_restore_puts_the_previous_data_and_storage_back(
    tools: FakeHookTools, etcd: Etcd, paths: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = machine(monkeypatch, paths, installed=True, active={SNAP_SERVICE: True})
    data = paths / "current"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "member" / "wal" / "0.wal").write_text("the previous member's data\n")
    conf = paths / "common" / "etcd.conf.yml"
    conf.write_text("the previous configuration\n")
    db = paths / "snapshot.db"
    db.write_text("a snapshot\n")
    etcd.answers[("endpoint", "status")] = ["endpoint-status-refused"]  # it never answers
    kv = FakeKV(**PREVIOUS)
    ctx = make_ctx(kv)
    progress: list[str] = []

    with pytest.raises(restore.RestoreError, match="the previous data and configuration are back"):
        restore.restore(ctx, str(db), False, progress.append)

    # the previous member's data is back in place, nothing of the restore is left beside it
    assert (data / "member" / "wal" / "0.wal").read_text() == "the previous member's data\n"
    assert not (data / "member" / "snap").exists()
    assert sorted(p.name for p in data.iterdir()) == ["member"]
    # its configuration and unit storage too (the start had recorded the restore's bootstrap)
    assert conf.read_text() == "the previous configuration\n"
    assert ctx.record.member_state() == tuple(
        PREVIOUS[k] for k in (KV_BOOTSTRAP, KV_STARTED, KV_MEMBER_ID, KV_APPLIED)
    )
    assert unit_state(kv) == PREVIOUS
    # etcd: stopped, the restored member started, stopped again, the previous one started
    assert fake.systemctl() == [
        f"systemctl stop {SNAP_SERVICE}",
        f"systemctl enable {SNAP_SERVICE}",
        f"systemctl start {SNAP_SERVICE}",
        f"systemctl stop {SNAP_SERVICE}",
        f"systemctl enable {SNAP_SERVICE}",
        f"systemctl start {SNAP_SERVICE}",
    ]
    assert fake.active[SNAP_SERVICE]
    # the snapshot was restored into a staging directory of the data's filesystem; nothing
    # was told to the other units
    restores = [a for _, a in etcd.calls if a[:2] == ["snapshot", "restore"]]
    assert len(restores) == 1 and restores[0][2] == str(db)
    assert restores[0][3].startswith(f"--data-dir={data}/.restore-")
    assert tools.leader_sets == []
    assert any("putting the previous data back" in m for _, m in tools.logs)


def test_restore_without_a_previous_member_leaves_etcd_stopped(
    tools: FakeHookTools, etcd: Etcd, paths: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = machine(monkeypatch, paths, installed=True, active={SNAP_SERVICE: False})
    data = paths / "current"
    db = paths / "snapshot.db"
    db.write_text("a snapshot\n")
    etcd.answers[("endpoint", "status")] = ["endpoint-status-refused"]
    kv = FakeKV()
    ctx = make_ctx(kv)

    with pytest.raises(restore.RestoreError, match="did not start"):
        restore.restore(ctx, str(db), True, lambda message: None)

    assert list(data.iterdir()) == []  # the restored data is gone, there was none before
    # there was no configuration to put back: the restore's stays, unused (a member's start
    # writes its own) while unit storage says no member started
    assert "initial-cluster-state: new" in (paths / "common" / "etcd.conf.yml").read_text()
    assert ctx.record.member_state() == (None, None, None, None)
    assert fake.systemctl()[-1] == f"systemctl stop {SNAP_SERVICE}"  # not started again
    assert not fake.active[SNAP_SERVICE]
    assert "--skip-hash-check" in next(
        a for _, a in etcd.calls if a[:2] == ["snapshot", "restore"]
    )


# --- migration: the snap's member does not come up ----------------------------------------


def package(tmp_path: Path) -> L.LegacyInstall:
    """etcd0's package install, its data under ``tmp_path``/lib-etcd and the CA the relation's."""
    data = tmp_path / "lib-etcd"
    (data / "member" / "wal").mkdir(parents=True)
    (data / "member" / "wal" / "0.wal").write_text("the package's member data\n")
    ca = tmp_path / "ssl-etcd-ca.crt"
    ca.write_text("ca.crt of the certificates relation\n")
    return L.LegacyInstall(
        name="etcd0",
        data_dir=str(data),
        peer_urls=("https://127.0.0.1:2380",),
        client_urls=("https://127.0.0.1:60517",),
        token="package-token",
        initial_cluster="etcd0=https://127.0.0.1:2380,etcd1=x,etcd2=y",
        cert=str(tmp_path / "ssl-etcd-server.crt"),
        key=str(tmp_path / "ssl-etcd-server.key"),
        ca=str(ca),
        version="3.5.16-1",
    )


def test_migration_undone_when_the_snaps_member_does_not_come_up(
    tools: FakeHookTools, etcd: Etcd, paths: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = machine(monkeypatch, paths, installed=False, active={L.SERVICE: True})
    pkg = package(paths)
    etcd.answers.update(
        {
            # the package's member (leads raft), then the snap's, which never answers
            ("endpoint", "status"): [
                "endpoint-status-1",
                "endpoint-status-1",
                "endpoint-status-refused",
            ],
            ("member", "list"): ["member-list-3"],
            ("endpoint", "health"): ["endpoint-health-3"],
            ("move-leader", "e63811619a6a3318"): ["move-leader"],
        }
    )
    kv = FakeKV()
    ctx = make_ctx(kv)

    with pytest.raises(migration.MigrationError, match="etcd runs from the package again") as e:
        migration.migrate_from_package(ctx, pkg, False, None, lambda message: None)
    assert e.value.undone

    # commands in order: the snap beside the running member, leadership moved away, the
    # switch, the failed start, then the undo: the snap's service stopped, the snap
    # removed, etcd.service started again
    assert fake.systemctl() == [
        "snap install etcd --channel=3.5/stable",
        f"systemctl disable {SNAP_SERVICE}",
        f"systemctl stop {SNAP_SERVICE}",
        f"systemctl disable {L.SERVICE}",
        f"systemctl stop {L.SERVICE}",
        "systemctl daemon-reload",
        f"systemctl enable {SNAP_SERVICE}",
        f"systemctl start {SNAP_SERVICE}",
        f"systemctl disable {SNAP_SERVICE}",
        f"systemctl stop {SNAP_SERVICE}",
        "snap remove --purge etcd",
        f"systemctl enable {L.SERVICE}",
        f"systemctl start {L.SERVICE}",
    ]
    assert fake.active == {L.SERVICE: True, SNAP_SERVICE: False} and not fake.installed
    assert ["move-leader", "e63811619a6a3318"] in etcd.commands()
    # the package's data untouched, the snap's copy gone, its configuration removed
    assert (Path(pkg.data_dir) / "member" / "wal" / "0.wal").read_text() == (
        "the package's member data\n"
    )
    assert list((paths / "current").iterdir()) == []
    assert not (paths / "common" / "etcd.conf.yml").exists()
    # the certificates snapd deleted with the snap are back; unit storage has no member
    for path in C.CERT_FILES:
        assert Path(path).read_text() == f"{Path(path).name} of the certificates relation\n"
    assert unit_state(kv) == {KV_STARTED: False}
    assert tools.leader_sets == []


def test_back_to_package_goes_on_after_a_failed_step(
    tools: FakeHookTools, paths: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = machine(monkeypatch, paths, installed=True, active={SNAP_SERVICE: True})
    fake.failing.add(f"systemctl stop {SNAP_SERVICE}")
    target, partial = paths / "current" / "member", paths / "current" / ".member-from-package"
    for d in (target, partial):
        d.mkdir()
        (d / "x").write_text("copied\n")
    (paths / "common" / "etcd.conf.yml").write_text("the snap's configuration\n")
    kv = FakeKV(**PREVIOUS)
    ctx = make_ctx(kv)

    migration.back_to_package(ctx.record, str(target), str(partial))

    assert not target.exists() and not partial.exists()
    assert fake.commands[-3:] == [
        "snap remove --purge etcd",
        f"systemctl enable {L.SERVICE}",
        f"systemctl start {L.SERVICE}",
    ]
    assert fake.active[L.SERVICE] and not fake.installed
    assert (
        "ERROR",
        f"undoing the migration: could not stop the snap's service: systemctl stop {SNAP_SERVICE} failed: (fake)",
    ) in tools.logs
    assert unit_state(kv) == {KV_STARTED: False}
    assert not (paths / "common" / "etcd.conf.yml").exists()
