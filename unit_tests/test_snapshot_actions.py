"""The snapshot and restore actions (lib/etcd_charm/snapshot_action.py and restore_action.py)
against a fake etcdctl and fake hook tools: the keys they report, the target they write to, the
refusals of restore.

charmhelpers refuses to be imported anywhere but on Ubuntu (its platform check); the module
is imported here with that check answered "ubuntu", as scripts/build-charm's test does."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
import warnings
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from etcd_charm import snapshot as snap
from etcd_charm import targets
from etcd_charm.etcd_json import parse_endpoint_status, parse_member_list
from etcd_charm.etcdctl import ETCDCTL, Etcdctl
from etcd_charm.params import ActionError, Params, declared_params
from etcd_charm.record import Record

from .fixtures import DATA, Kv, capture

ROOT = DATA.parents[1]
DB = DATA / "snapshots" / "etcd-3.5.16.db"
LOCAL = "https://127.0.0.1:2379"
SOURCE = "https://10.0.0.2:2379"  # the member a snapshot is taken from
COMPACTED = "Error: etcdserver: mvcc: required revision has been compacted\n"


@pytest.fixture(scope="module")
def actions() -> ModuleType:
    import charmhelpers.osplatform as platform

    saved = platform.get_platform
    platform.get_platform = lambda: "ubuntu"
    try:
        with warnings.catch_warnings():  # charms.reactive's use of pkg_resources
            warnings.simplefilter("ignore", UserWarning)
            from etcd_charm import actions as module
    finally:
        platform.get_platform = saved
    return module


class FakeEtcd:
    """etcdctl's answers for one member: its snapshot (``revision``, ``entries`` in the
    database) and its keyspace (``keys`` at that revision)."""

    def __init__(self, revision: int = 6, entries: int = 11, keys: int = 4) -> None:
        self.revision, self.entries, self.keys = revision, entries, keys
        self.count_error = ""
        self.calls: list[tuple[str, list[str]]] = []  # (endpoints, the command)
        self.events: list[str] = []  # the order of what happened
        self.saved_at: list[str] = []  # where each snapshot save wrote
        self.down: set[str] = set()  # endpoints that do not answer
        #: endpoint -> its endpoint status (a capture's name, or the JSON itself)
        self.status: dict[str, str] = {}

    def __call__(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        endpoints = next(a for a in argv if a.startswith("--endpoints=")).split("=", 1)[1]
        args = argv[argv.index("json") + 1 :]
        self.calls.append((endpoints, args))
        self.events.append(" ".join(args[:2]))
        out, rc, err = "", 0, ""
        if endpoints in self.down and args[:2] != ["snapshot", "status"]:  # that one is offline
            return subprocess.CompletedProcess(argv, 1, "", "Error: context deadline exceeded")
        if args[:2] == ["endpoint", "status"]:
            name = self.status.get(endpoints, "endpoint-status-1")
            out = name if name.startswith("[") else capture("3.5.16", name)["stdout"]
        elif args[:2] == ["snapshot", "save"]:
            self.saved_at.append(args[2])
            Path(args[2]).write_bytes(DB.read_bytes())
            out = f"Snapshot saved at {args[2]}\n"
        elif args[:2] == ["snapshot", "status"]:
            out = json.dumps(
                {"hash": 1, "revision": self.revision, "totalKey": self.entries, "totalSize": 1}
            )
        elif args[0] == "get":
            if self.count_error:
                rc, err = 1, self.count_error
            else:
                out = json.dumps({"header": {"revision": self.revision}, "count": self.keys})
        else:
            raise AssertionError(f"unexpected etcdctl {args}")
        return subprocess.CompletedProcess(argv, rc, out, err)

    def counts(self) -> list[tuple[str, list[str]]]:
        return [(e, a) for e, a in self.calls if a[0] == "get"]


class FakeCharm:
    unit = "etcd/0"

    def __init__(self, etcd: FakeEtcd) -> None:
        self.settings = SimpleNamespace(port=2379, client_port=2379)
        self.errors: list[str] = []
        self.kv = Kv()
        self.record = Record(self.kv)
        self.etcd = etcd
        self.restored: list[str] = []
        self.hook = SimpleNamespace(endpoint=lambda name: None)  # no s3-credentials relation

    #: what restore.remove_other_members answers: this member is the cluster's only one
    sole = True

    def restore(
        self, db_path: str, skip_hash_check: bool, progress: Any, backup: Any = None
    ) -> tuple[Any, Any]:
        self.restored.append(db_path)
        self.etcd.events.append("charm.restore")
        if backup is not None:  # as restore.restore calls it: the others gone, etcd stopped
            self.etcd.down.add(LOCAL)
            backup(self.sole)
        started = parse_endpoint_status(capture("3.5.16", "endpoint-status-1")["stdout"])[0]
        return started, parse_member_list(capture("3.5.16", "member-list-1")["stdout"])

    @staticmethod
    def peer_units() -> list[str]:
        return []


@pytest.fixture
def etcd(
    actions: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> FakeEtcd:
    fake = FakeEtcd()

    def client(endpoints: list[str], binary: str = ETCDCTL) -> Etcdctl:
        return Etcdctl(endpoints, "ca", "cert", "key", binary=binary, runner=fake)

    members = parse_member_list(capture("3.5.16", "member-list-1")["stdout"])
    from etcd_charm import (
        action_context,
        recover_action,
        restore_action,
        snapshot_action,
        snapshot_take,
    )

    monkeypatch.setattr(action_context, "client", client)
    monkeypatch.setattr(recover_action, "client", client)
    monkeypatch.setattr(snapshot_action, "client", client)
    monkeypatch.setattr(action_context.Context, "members", lambda self: members)
    monkeypatch.setattr(snapshot_action, "_healthy_member", lambda ctx, members: ("etcd1", SOURCE))
    monkeypatch.setattr(action_context, "operator_ids", lambda: None)
    monkeypatch.setattr(restore_action, "installed_version", lambda: "3.5.16")
    monkeypatch.setattr(restore_action, "STAGING", str(tmp_path / "staging"))
    monkeypatch.setattr(restore_action, "STAGING_DOWNLOAD", str(tmp_path / "download"))
    monkeypatch.setattr(snapshot_take, "LOCAL_DIR", str(tmp_path / "store"))
    monkeypatch.setattr(snapshot_take, "STORE_WORK", str(tmp_path / "store-work"))
    monkeypatch.setattr(snapshot_action.hookenv, "model_uuid", lambda: "model-1")
    monkeypatch.setattr(snapshot_action.hookenv, "application_name", lambda: "etcd")
    work = tmp_path_factory.mktemp("snap-common") / "snapshot-work"
    monkeypatch.setattr(snapshot_take, "SNAP_WORK", str(work))
    monkeypatch.setattr(actions.hookenv, "log", lambda *a, **k: None)
    monkeypatch.setattr(actions.hookenv, "is_leader", lambda: True)
    return fake


def context(actions: ModuleType, etcd: FakeEtcd, action: str, **params: Any) -> Any:
    declared = declared_params(action, str(ROOT))
    return actions.Context(action, FakeCharm(etcd), Params(action, params, declared))


def archive(path: Path, meta: dict[str, Any]) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        for name, data in ((snap.META_NAME, json.dumps(meta).encode()), ("db", DB.read_bytes())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def metadata(**fields: Any) -> dict[str, Any]:
    """etcd-snapshot.json of DB taken at revision 6 (11 database entries, 4 keys)."""
    meta = {
        "etcd_version": "3.5.16",
        "revision": 6,
        "db_entries": 11,
        "keys": 4,
        "cluster_id": "9fd7a76b1c3a58db",
        "members": 1,
        "created": "2026-12-04T14:13:16Z",
        "unit": "etcd/0",
        "sha256": snap.sha256_file(str(DB)),
        "size": DB.stat().st_size,
        "format": 2,
    }
    meta.update(fields)
    return {k: v for k, v in meta.items() if v is not None}


# --- snapshot ----------------------------------------------------------------------------


def test_snapshot_reports_the_keys_at_its_revision_and_etcds_entries_apart(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    target = tmp_path / "snapshots"
    ctx = context(actions, etcd, "snapshot", target=str(target))
    actions.snapshot(ctx)
    assert ctx.results["snapshot.revision"] == "6"
    assert ctx.results["snapshot.keys"] == "4"  # not etcd's 11 entries
    assert ctx.results["snapshot.db-entries"] == "11"
    # counted on the member the snapshot was taken from, at the snapshot's revision, after it
    assert etcd.counts() == [
        (SOURCE, ["get", "", "--prefix", "--keys-only", "--limit=1", "--consistency=s", "--rev=6"])
    ]
    assert etcd.events.index("get ") > etcd.events.index("snapshot save")
    with tarfile.open(ctx.results["snapshot.path"]) as tar:
        meta = json.loads(tar.extractfile(snap.META_NAME).read())  # type: ignore[union-attr]
    assert (meta["keys"], meta["db_entries"], meta["revision"]) == (4, 11, 6)
    assert target.stat().st_mode & 0o777 == 0o700  # made for the operator


def test_the_snaps_confined_etcdctl_saves_into_the_snaps_directory(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    # a confined etcdctl cannot write into the operator's 0700 home: it saves into the snap's
    # own directory and the charm archives from there; nothing is left behind in either
    target = tmp_path / "home" / "ubuntu" / "snapshots"
    ctx = context(actions, etcd, "snapshot", target=str(target))
    actions.snapshot(ctx)
    from etcd_charm import snapshot_action, snapshot_take

    work = Path(snapshot_take.SNAP_WORK)
    assert [Path(p).parent.parent for p in etcd.saved_at] == [work]
    assert list(work.iterdir()) == []
    assert [p.name for p in target.iterdir()] == [Path(ctx.results["snapshot.path"]).name]
    # a package's etcdctl (a deb-era unit being migrated) is not confined: beside the archive
    package = Etcdctl([SOURCE], "ca", "cert", "key", binary="/usr/bin/etcdctl", runner=etcd)
    archive = snapshot_action.save_archive(ctx, str(target), "b", source=("etcd1", package)).path
    assert Path(etcd.saved_at[-1]).parent.parent == target
    assert sorted(p.name for p in target.iterdir()) == sorted(
        [Path(ctx.results["snapshot.path"]).name, Path(archive).name]
    )


def test_a_snapshot_that_does_not_fit_is_refused_with_where_and_how_much(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etcd_charm import snapshot_take

    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(
        snapshot_take.shutil, "disk_usage", lambda p: usage._replace(free=10 << 20)
    )
    ctx = context(actions, etcd, "snapshot", target=str(tmp_path / "t"))
    with pytest.raises(ActionError) as e:
        actions.snapshot(ctx)
    assert str(e.value).startswith(f"{tmp_path / 't'} has 10M free; the snapshot needs about 40K")
    assert str(e.value).endswith("free some space or choose another target")
    assert etcd.saved_at == []


def test_snapshot_whose_keys_cannot_be_counted_writes_nothing(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    etcd.count_error = COMPACTED
    ctx = context(actions, etcd, "snapshot", target=str(tmp_path))
    with pytest.raises(ActionError) as e:
        actions.snapshot(ctx)
    assert str(e.value) == (
        "cannot count the keys of the snapshot of etcd1 at its revision 6 (its history was "
        "compacted past revision 6 meanwhile); nothing was written: run the action again"
    )
    assert list(tmp_path.iterdir()) == []


def test_snapshot_refuses_a_system_target_before_anything(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "etc"
    system.mkdir()
    monkeypatch.setitem(targets.FORBIDDEN, str(system), "the system's configuration")
    for target in (system, system / "snapshots"):
        ctx = context(actions, etcd, "snapshot", target=str(target))
        with pytest.raises(ActionError) as e:
            actions.snapshot(ctx)
        assert "the system's configuration" in str(e.value)
        assert "such as the default /home/ubuntu/etcd-snapshots" in str(e.value)
    assert list(system.iterdir()) == [] and etcd.calls == []


# --- restore -----------------------------------------------------------------------------


def test_restore_reports_the_keys_counted_on_the_restored_member(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    source = archive(tmp_path / "a.tar.gz", metadata())
    etcd.keys = 3  # what the restored member holds, whatever the metadata says (4)
    ctx = context(actions, etcd, "restore", path=str(source))
    actions.restore(ctx)
    assert ctx.results["restore.revision"] == "6"
    assert ctx.results["restore.keys"] == "3"
    assert ctx.results["restore.db-entries"] == "11"
    assert etcd.counts() == [
        (LOCAL, ["get", "", "--prefix", "--keys-only", "--limit=1", "--consistency=s", "--rev=6"])
    ]
    assert etcd.events[-2:] == ["charm.restore", "get "]  # once the restored member runs
    assert not (tmp_path / "staging").exists()


@pytest.mark.parametrize(
    "meta",
    [
        # written before the keys were counted: etcd's entries as total_keys, no keys
        {**metadata(db_entries=None, keys=None, format=1), "total_keys": 11},
        metadata(keys=None),
    ],
)
def test_restore_of_an_archive_without_the_key_count(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, meta: dict[str, Any]
) -> None:
    ctx = context(actions, etcd, "restore", path=str(archive(tmp_path / "a.tar.gz", meta)))
    actions.restore(ctx)
    assert ctx.results["restore.keys"] == "4" and ctx.results["restore.db-entries"] == "11"


def test_restore_of_an_old_charm_archive_counts_the_keys(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    old = tmp_path / "old.tar.gz"
    with tarfile.open(old, "w:gz") as tar:  # no metadata, a copy of the live file: no hash
        data = DB.read_bytes()[:-32]
        info = tarfile.TarInfo("./db")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    ctx = context(actions, etcd, "restore", path=str(old))
    actions.restore(ctx)
    assert ctx.results["restore.keys"] == "4"
    assert ctx.results["restore.hash-check"].startswith("skipped")


def test_restore_reads_an_archive_s_database_once(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    """The metadata vouches for the database (their sha256 and etcd's own hash matched as
    it was unpacked): no etcdutl snapshot status reads it again; its revision and entries
    are the metadata's."""
    source = archive(tmp_path / "a.tar.gz", metadata())
    etcd.entries = 12  # what snapshot status would say: not asked
    ctx = context(actions, etcd, "restore", path=str(source))
    actions.restore(ctx)
    assert not any(a[:2] == ["snapshot", "status"] for _, a in etcd.calls)
    assert (ctx.results["restore.revision"], ctx.results["restore.db-entries"]) == ("6", "11")


def test_restore_reports_keys_it_could_not_count(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    etcd.count_error = "Error: context deadline exceeded\n"
    ctx = context(actions, etcd, "restore", path=str(archive(tmp_path / "a.tar.gz", metadata())))
    actions.restore(ctx)  # the restore happened: not a failure
    assert ctx.results["restore.keys"].startswith(
        "unknown: counting them on the restored member failed (context deadline exceeded)"
    )


def test_restore_names_the_missing_metadata_field(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    source = archive(tmp_path / "a.tar.gz", metadata(etcd_version=None))
    ctx = context(actions, etcd, "restore", path=str(source))
    with pytest.raises(ActionError) as e:
        actions.restore(ctx)
    message = str(e.value)
    assert message.startswith(
        f"{source} cannot be restored: its etcd-snapshot.json is not valid: the field "
        "'etcd_version' is missing. Take a new snapshot with the snapshot action, or restore "
        f"the database alone: extract it in an empty directory (tar -xf {source} db)"
    )
    assert message.endswith("; nothing was changed")
    assert ctx.charm.restored == [] and etcd.calls == []
    assert not (tmp_path / "staging").exists()


def test_restore_refuses_a_backup_target_before_reading_the_snapshot(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system = tmp_path / "usr"
    system.mkdir()
    monkeypatch.setitem(targets.FORBIDDEN, str(system), "the system's programs")
    source = archive(tmp_path / "a.tar.gz", metadata())
    ctx = context(
        actions,
        etcd,
        "restore",
        path=str(source),
        target=str(system / "b"),
        **{"skip-backup": False},
    )
    with pytest.raises(ActionError) as e:
        actions.restore(ctx)
    assert "which holds the system's programs" in str(e.value)
    assert "such as the default /home/ubuntu" in str(e.value)
    assert list(system.iterdir()) == [] and etcd.calls == []
    assert not (tmp_path / "staging").exists() and ctx.charm.restored == []


@pytest.mark.parametrize("sole", [True, False])
def test_the_pre_restore_backup_copies_the_stopped_database_the_restore_replaces(
    actions: ModuleType,
    etcd: FakeEtcd,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    sole: bool,
) -> None:
    """restore skip-backup=false: the backup is taken inside the restore, once the other
    members are removed and etcd is stopped (no write can land after it): a copy of the
    database file, a snapshot of the whole cluster when this member was its only one."""
    from etcd_charm import snapshot_take

    live = tmp_path / "member" / "snap" / "db"
    live.parent.mkdir(parents=True)
    live.write_bytes(DB.read_bytes()[:-32])
    monkeypatch.setattr(snapshot_take, "db_file", lambda: str(live))
    monkeypatch.setattr(snapshot_take.workload, "installed_version", lambda: "3.5.16")
    source = archive(tmp_path / "a.tar.gz", metadata())
    target = tmp_path / "t"
    target.mkdir()
    ctx = context(
        actions, etcd, "restore", path=str(source), target=str(target), **{"skip-backup": False}
    )
    ctx.charm.record.started = True
    ctx.charm.sole = sole
    actions.restore(ctx)
    saved = ctx.results["backup.path"]
    assert Path(saved).parent == target and saved.endswith(".tar.gz")
    unpacked = snap.unpack(saved, str(tmp_path / "staging-check"))
    assert unpacked.meta is not None and unpacked.hash_checked
    assert Path(unpacked.db_path).read_bytes()[:-32] == live.read_bytes()
    assert unpacked.meta.origin == (snap.ORIGIN_CLUSTER if sole else snap.ORIGIN_FILE)
    assert ("backup.origin" in ctx.results) is not sole
    assert not any(a[:2] == ["snapshot", "save"] for _, a in etcd.calls)
    assert ctx.results["backup.id"]  # recorded in the store as a pre-restore backup


def test_the_pre_restore_backup_is_refused_before_anything_changes_without_a_member(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    source = archive(tmp_path / "a.tar.gz", metadata())
    target = tmp_path / "t"
    target.mkdir()
    ctx = context(
        actions, etcd, "restore", path=str(source), target=str(target), **{"skip-backup": False}
    )
    with pytest.raises(ActionError) as e:
        actions.restore(ctx)
    assert "runs no member of its own to save" in str(e.value)
    assert str(e.value).endswith("nothing was changed") and ctx.charm.restored == []


# --- without quorum ------------------------------------------------------------------------


def lost_quorum(actions: ModuleType, monkeypatch: pytest.MonkeyPatch, ctx: Any) -> None:
    """No member answers the member list (2 of 3 gone); this unit ran member 8e9e05c52164694d
    of a 3-member cluster (its last member list)."""
    from etcd_charm import action_context

    def members(self: Any) -> Any:
        raise ActionError("no etcd member answers: https://10.0.0.2:2379: deadline exceeded")

    monkeypatch.setattr(action_context.Context, "members", members)
    last = parse_member_list(capture("3.5.16", "member-list-3")["stdout"])
    ctx.charm.record.remember_members(last)
    ctx.charm.record.started = True
    ctx.charm.record.member_id = last.members[0].id


def test_without_quorum_the_snapshot_is_this_members_own_data_and_says_so(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ctx = context(actions, etcd, "snapshot", target=str(tmp_path / "t"))
    lost_quorum(actions, monkeypatch, ctx)
    actions.snapshot(ctx)
    path = ctx.results["snapshot.path"]
    assert path.endswith("-no-quorum.tar.gz")
    assert "while the cluster had no quorum" in ctx.results["snapshot.origin"]
    assert "writes acknowledged without it are missing" in ctx.results["snapshot.origin"]
    # saved from this unit's member (snapshot save needs no quorum), counted there serializably
    assert [e for e, a in etcd.calls if a[:2] == ["snapshot", "save"]] == [LOCAL]
    assert [e for e, _ in etcd.counts()] == [LOCAL]
    unpacked = snap.unpack(path, str(tmp_path / "staging"))
    assert unpacked.meta is not None and unpacked.meta.origin == snap.ORIGIN_MEMBER
    assert unpacked.meta.members == 3 and unpacked.hash_checked


def test_without_quorum_and_etcd_stopped_the_database_file_is_copied(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etcd_charm import snapshot_action, snapshot_take

    live = tmp_path / "member" / "snap" / "db"  # a database file: no hash appended
    live.parent.mkdir(parents=True)
    live.write_bytes(DB.read_bytes()[:-32])
    monkeypatch.setattr(snapshot_take, "db_file", lambda: str(live))
    monkeypatch.setattr(snapshot_action.workload, "service_active", lambda: False)
    monkeypatch.setattr(snapshot_take.workload, "installed_version", lambda: "3.5.16")
    ctx = context(actions, etcd, "snapshot", target=str(tmp_path / "t"))
    lost_quorum(actions, monkeypatch, ctx)
    etcd.down.add(LOCAL)
    actions.snapshot(ctx)
    assert "a copy of etcd/0's database file" in ctx.results["snapshot.origin"]
    assert ctx.results["snapshot.keys"] == "unknown: etcd is stopped"
    unpacked = snap.unpack(ctx.results["snapshot.path"], str(tmp_path / "staging"))
    # the copy carries a sha256 as etcdctl snapshot save writes it: restored with etcd's check
    assert unpacked.hash_checked and unpacked.meta is not None
    assert unpacked.meta.origin == snap.ORIGIN_FILE and unpacked.meta.keys is None
    assert Path(unpacked.db_path).read_bytes()[:-32] == live.read_bytes()
    assert not any(a[:2] == ["snapshot", "save"] for _, a in etcd.calls)


def test_without_quorum_a_running_member_that_does_not_answer_is_not_copied(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etcd_charm import snapshot_action

    monkeypatch.setattr(snapshot_action.workload, "service_active", lambda: True)
    target = tmp_path / "t"
    ctx = context(actions, etcd, "snapshot", target=str(target))
    lost_quorum(actions, monkeypatch, ctx)
    etcd.down.add(LOCAL)
    with pytest.raises(ActionError) as e:
        actions.snapshot(ctx)
    assert "no etcd member answers" in str(e.value)
    assert "does not answer either" in str(e.value) and "cannot be copied safely" in str(e.value)
    assert list(target.iterdir()) == []


def test_a_backup_before_a_change_falls_back_only_when_asked(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from etcd_charm import snapshot_action

    ctx = context(actions, etcd, "snapshot", target=str(tmp_path / "t"))
    (tmp_path / "t").mkdir()
    lost_quorum(actions, monkeypatch, ctx)
    with pytest.raises(ActionError) as e:  # snap-upgrade's backup: a consistent one or none
        snapshot_action.save_backup(ctx, str(tmp_path / "t"), "b", "run with backup=false")
    assert "cannot save a backup" in str(e.value) and "no etcd member answers" in str(e.value)
    path = snapshot_action.save_backup(ctx, str(tmp_path / "t"), "b", "x", without_quorum=True)
    assert path.endswith("-no-quorum.tar.gz") and "no quorum" in ctx.results["backup.origin"]


# --- the backup store ----------------------------------------------------------------------


@pytest.fixture
def backup_dir(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Path:
    from etcd_charm import backup_action

    store = tmp_path / "snap-common" / "backups"
    monkeypatch.setattr(backup_action, "LOCAL_DIR", str(store))
    monkeypatch.setattr(backup_action, "WORK_DIR", str(tmp_path / "snap-common" / "work"))
    monkeypatch.setattr(backup_action.hookenv, "model_uuid", lambda: "model-1")
    monkeypatch.setattr(backup_action.hookenv, "application_name", lambda: "etcd")
    return store


def test_create_backup_records_a_restorable_backup_in_the_store(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, backup_dir: Path
) -> None:
    ctx = context(actions, etcd, "create-backup")
    actions.ACTIONS["create-backup"](ctx)
    bid = ctx.results["backup-id"]
    assert sorted(p.name for p in backup_dir.iterdir()) == [f"{bid}.json", f"{bid}.tar.gz"]
    assert ctx.results["backup.location"] == f"etcd/0:{backup_dir}"
    assert ctx.results["backup.sha256"] == snap.sha256_file(str(backup_dir / f"{bid}.tar.gz"))
    assert (ctx.results["backup.revision"], ctx.results["backup.keys"]) == ("6", "4")
    assert "healthy member" in ctx.results["backup.origin"]
    assert [e for e, a in etcd.calls if a[:2] == ["snapshot", "save"]] == [SOURCE]
    work = tmp_path / "snap-common" / "work"
    assert list(work.iterdir()) == []  # nothing left beside the store
    record = json.loads((backup_dir / f"{bid}.json").read_text())
    assert (record["kind"], record["model_uuid"], record["application"]) == (
        "manual",
        "model-1",
        "etcd",
    )
    listed = context(actions, etcd, "list-backups")
    actions.ACTIONS["list-backups"](listed)
    assert listed.results["count"] == "1" and listed.results["newest"] == bid
    row = listed.results["backups"].splitlines()[2]
    assert [c.strip() for c in row.split(" | ")][:4] == [bid, "manual", "6", "4"]
    assert "not-restorable" not in listed.results
    # restore backup-id= restores it, through the same checks as any snapshot
    restore = context(actions, etcd, "restore", **{"backup-id": bid})
    actions.restore(restore)
    assert restore.results["restore.source"] == f"backup {bid} in etcd/0:{backup_dir}"
    assert restore.results["restore.backup-kind"] == "manual"
    assert restore.results["restore.revision"] == "6"
    assert (backup_dir / f"{bid}.tar.gz").exists()  # the store keeps it


def test_restore_of_a_backup_the_store_does_not_hold_changes_nothing(
    actions: ModuleType, etcd: FakeEtcd, backup_dir: Path
) -> None:
    ctx = context(actions, etcd, "restore", **{"backup-id": "2026-01-01T00:00:00Z"})
    with pytest.raises(ActionError) as e:
        actions.restore(ctx)
    assert "cannot restore backup 2026-01-01T00:00:00Z" in str(e.value)
    assert "holds no backup" in str(e.value) and "nothing was changed" in str(e.value)
    assert "charm.restore" not in etcd.events
    both = context(actions, etcd, "restore", **{"backup-id": "x", "path": "/tmp/y"})
    with pytest.raises(ActionError, match="not both"):
        actions.restore(both)


def test_list_backups_names_what_cannot_be_restored(
    actions: ModuleType, etcd: FakeEtcd, backup_dir: Path
) -> None:
    ctx = context(actions, etcd, "create-backup")
    actions.ACTIONS["create-backup"](ctx)
    bid = ctx.results["backup-id"]
    (backup_dir / f"{bid}.json").unlink()  # an interrupted upload
    listed = context(actions, etcd, "list-backups")
    actions.ACTIONS["list-backups"](listed)
    assert listed.results["count"] == "0" and "newest" not in listed.results
    assert listed.results["not-restorable"] == (
        f"{bid} in etcd/0:{backup_dir}: incomplete (archive or metadata missing)"
    )


# --- recover-cluster -----------------------------------------------------------------------


NO_LEADER = "endpoint-status-no-quorum-all-endpoints"  # raft index 47, "no leader"


def test_recover_cluster_is_refused_while_the_cluster_has_quorum(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path
) -> None:
    ctx = context(actions, etcd, "recover-cluster", target=str(tmp_path / "t"))
    ctx.charm.record.started = True
    with pytest.raises(ActionError) as e:
        actions.ACTIONS["recover-cluster"](ctx)
    assert "the cluster has quorum (member" in str(e.value)
    assert str(e.value).endswith("nothing was changed")
    assert "charm.restore" not in etcd.events and not (tmp_path / "t").exists()


def test_recover_cluster_rebuilds_from_this_member_s_own_data(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "t"
    ctx = context(actions, etcd, "recover-cluster", target=str(target))
    lost_quorum(actions, monkeypatch, ctx)
    etcd.status[LOCAL] = NO_LEADER
    etcd.down.add("https://10.0.0.3:2379")
    monkeypatch.setattr(type(ctx), "endpoints", lambda self: [LOCAL, "https://10.0.0.3:2379"])
    actions.ACTIONS["recover-cluster"](ctx)
    # its own member's data, saved first (an archive for the operator, a backup in the store)
    saves = [e for e, a in etcd.calls if a[:2] == ["snapshot", "save"]]
    assert saves == [LOCAL]
    assert etcd.events.index("snapshot save") < etcd.events.index("charm.restore")
    backup = Path(ctx.results["backup.path"])
    assert backup.parent == target and backup.name.endswith("-no-quorum.tar.gz")
    assert ctx.results["backup.sha256sum"] == snap.sha256_file(str(backup))
    store = tmp_path / "store"
    assert (store / f"{ctx.results['backup.id']}.json").exists()
    record = json.loads((store / f"{ctx.results['backup.id']}.json").read_text())
    assert record["kind"] == "pre-recovery" and record["archive_sha256"] == snap.sha256_file(
        str(backup)
    )
    # then the very archive is restored as a new one-member cluster
    assert len(ctx.charm.restored) == 1
    assert "while the cluster had no quorum" in ctx.results["recover.origin"]
    assert ctx.results["recover.revision"] == "6" and ctx.results["recover.keys"] == "4"
    assert ctx.results["recover.rejoining"] == "none: no other unit"
    assert not (tmp_path / "staging").exists()


def test_recover_cluster_refuses_when_another_survivor_is_ahead_unless_forced(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = "https://10.0.0.3:2379"
    target = tmp_path / "t"
    ctx = context(actions, etcd, "recover-cluster", target=str(target))
    lost_quorum(actions, monkeypatch, ctx)
    monkeypatch.setattr(type(ctx), "endpoints", lambda self: [LOCAL, other])
    etcd.status[LOCAL] = NO_LEADER  # raft index 47
    ahead = capture("3.5.16", NO_LEADER)["stdout"].replace('"raftIndex":47', '"raftIndex":90')
    etcd.status[other] = ahead
    with pytest.raises(ActionError) as e:
        actions.ACTIONS["recover-cluster"](ctx)
    assert str(e.value).startswith(
        f"other surviving members applied more than this one: {other} (raft index 90 > 47); "
        "recover from there"
    )
    assert "force=true" in str(e.value) and str(e.value).endswith("nothing was changed")
    assert ctx.charm.restored == [] and not target.exists()
    etcd.status[other] = NO_LEADER  # the same index: not ahead
    actions.ACTIONS["recover-cluster"](ctx)
    assert len(ctx.charm.restored) == 1
    etcd.status[other] = ahead
    forced = context(actions, etcd, "recover-cluster", target=str(tmp_path / "u"), force=True)
    lost_quorum(actions, monkeypatch, forced)
    actions.ACTIONS["recover-cluster"](forced)
    assert len(forced.charm.restored) == 1


def test_recover_cluster_runs_on_the_leader_only(
    actions: ModuleType, etcd: FakeEtcd, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(actions.hookenv, "is_leader", lambda: False)
    ctx = context(actions, etcd, "recover-cluster")
    with pytest.raises(ActionError, match="is not the leader: recover-cluster runs on the Juju"):
        actions.ACTIONS["recover-cluster"](ctx)
    assert etcd.calls == []
