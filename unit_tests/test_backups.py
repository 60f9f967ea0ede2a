"""Backups in a store (lib/etcd_charm/backups.py) on a real directory (LocalStore): recorded,
listed, fetched and checked, pruned; and every way a store's content can be unfit."""

from __future__ import annotations

import datetime
import json
import os
from pathlib import Path

import pytest

from etcd_charm import backup_catalog as B
from etcd_charm import backups
from etcd_charm import snapshot as snap
from etcd_charm.backup_store import LocalStore, StoreError

from .fixtures import DATA

DB = DATA / "snapshots" / "etcd-3.5.16.db"
UTC = datetime.timezone.utc
T0 = datetime.datetime(2026, 12, 5, 2, 0, 0, tzinfo=UTC)
MODEL = "6f1b3c2a-0000-4000-8000-000000000001"


def meta(unit: str = "etcd/0") -> snap.Meta:
    return snap.Meta(
        etcd_version="3.5.16",
        revision=2,
        db_entries=9,
        keys=1,
        cluster_id="cdf8a14ad7e9c732",
        members=3,
        created="2026-12-05T02:00:00Z",
        unit=unit,
        sha256="",
        size=0,
    )


def archive(tmp_path: Path, name: str = "a.tar.gz") -> snap.Written:
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    return snap.write_archive(str(work / name), str(DB), meta())


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(str(tmp_path / "backups"), "etcd/0")


def test_a_recorded_backup_is_listed_and_restorable_from_the_store(
    tmp_path: Path, store: LocalStore
) -> None:
    written = archive(tmp_path)
    b = backups.record(store, written, "manual", MODEL, "etcd", T0)
    assert b.id == "2026-12-05T02:00:00Z"
    directory = Path(store.directory)
    assert sorted(p.name for p in directory.iterdir()) == [
        "2026-12-05T02:00:00Z.json",
        "2026-12-05T02:00:00Z.tar.gz",
    ]
    assert directory.stat().st_mode & 0o777 == 0o700
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in directory.iterdir())
    assert not Path(written.path).exists()  # moved, not copied (one filesystem)
    listed = backups.listing(store)
    assert listed.backups == (b,) and listed.incomplete == () and listed.unreadable == ()
    got, path = backups.fetch(store, b.id, str(tmp_path / "fetch"))
    assert got == b and snap.sha256_file(path) == written.sha256
    unpacked = snap.unpack(path, str(tmp_path / "staging"))  # what restore does with it
    assert unpacked.meta == written.meta and unpacked.hash_checked
    recorded = json.loads((directory / "2026-12-05T02:00:00Z.json").read_text())
    assert recorded["snapshot"]["revision"] == 2 and recorded["kind"] == "manual"
    assert recorded["archive_sha256"] == written.sha256


def test_two_backups_in_one_second_get_distinct_ids(tmp_path: Path, store: LocalStore) -> None:
    first = backups.record(store, archive(tmp_path, "1.tar.gz"), "manual", MODEL, "etcd", T0)
    second = backups.record(store, archive(tmp_path, "2.tar.gz"), "scheduled", MODEL, "etcd", T0)
    assert (first.id, second.id) == ("2026-12-05T02:00:00Z", "2026-12-05T02:00:00Z-1")
    assert [b.id for b in backups.listing(store).backups] == [first.id, second.id]


def test_an_interrupted_upload_is_never_listed_as_restorable(
    tmp_path: Path, store: LocalStore
) -> None:
    b = backups.record(store, archive(tmp_path), "manual", MODEL, "etcd", T0)
    os.unlink(Path(store.directory) / B.meta_name(b.id))
    listed = backups.listing(store)
    assert listed.backups == () and listed.incomplete == (b.id,)
    with pytest.raises(backups.BackupError, match="is incomplete"):
        backups.fetch(store, b.id, str(tmp_path / "f"))


def test_metadata_that_cannot_be_read_is_reported_not_listed(
    tmp_path: Path, store: LocalStore
) -> None:
    b = backups.record(store, archive(tmp_path), "manual", MODEL, "etcd", T0)
    (Path(store.directory) / B.meta_name(b.id)).write_text('{"id": 3}')
    listed = backups.listing(store)
    assert listed.backups == ()
    assert listed.unreadable == ((b.id, "the field 'id' is missing or not a str"),)
    with pytest.raises(backups.BackupError, match="cannot be read: the field 'id'"):
        backups.fetch(store, b.id, str(tmp_path / "f"))


def test_an_unknown_id_names_the_newest_backups(tmp_path: Path, store: LocalStore) -> None:
    with pytest.raises(backups.BackupError, match="holds no backup .*; it holds none"):
        backups.fetch(store, "2026-01-01T00:00:00Z", str(tmp_path / "f"))
    backups.record(store, archive(tmp_path), "manual", MODEL, "etcd", T0)
    with pytest.raises(backups.BackupError, match="the newest are 2026-12-05T02:00:00Z"):
        backups.fetch(store, "2026-01-01T00:00:00Z", str(tmp_path / "f"))


class Altering(LocalStore):
    """A store whose transfer alters the bytes (what an S3 server that does not check the
    payload hash can hand back)."""

    def fetch(self, name: str, workdir: str) -> tuple[str, str | None]:
        path, _ = super().fetch(name, workdir)
        return path, "0" * 64


def test_a_transfer_that_does_not_match_the_record_is_refused(tmp_path: Path) -> None:
    store = Altering(str(tmp_path / "b"), "etcd/0")
    b = backups.record(store, archive(tmp_path), "manual", MODEL, "etcd", T0)
    with pytest.raises(backups.BackupError, match="corrupt in the store or in transit"):
        backups.fetch(store, b.id, str(tmp_path / "f"))


def test_retention_prunes_only_this_application_s_scheduled_backups(
    tmp_path: Path, store: LocalStore
) -> None:
    ids = {}
    for i, (kind, model, app) in enumerate(
        [
            ("scheduled", MODEL, "etcd"),
            ("manual", MODEL, "etcd"),
            ("scheduled", MODEL, "etcd-old"),  # another application in the same prefix
            ("scheduled", "another-model", "etcd"),
            ("scheduled", MODEL, "etcd"),
            ("pre-restore", MODEL, "etcd"),
            ("scheduled", MODEL, "etcd"),
        ]
    ):
        when = T0 + datetime.timedelta(hours=i)
        ids[i] = backups.record(store, archive(tmp_path, f"{i}.tar.gz"), kind, model, app, when).id
    removed = backups.prune(store, 2, MODEL, "etcd")
    assert removed == [ids[0]]
    left = [b.id for b in backups.listing(store).backups]
    assert left == [ids[i] for i in (1, 2, 3, 4, 5, 6)]
    assert not any(n.startswith(ids[0]) for n in store.names())  # both objects gone
    assert backups.prune(store, 0, MODEL, "etcd") == []  # 0: keep everything


def test_the_table_lists_newest_first_and_marks_no_quorum(
    tmp_path: Path, store: LocalStore
) -> None:
    backups.record(store, archive(tmp_path, "1.tar.gz"), "scheduled", MODEL, "etcd", T0)
    work = tmp_path / "work"
    m = snap.Meta(**{**meta().__dict__, "origin": snap.ORIGIN_MEMBER, "keys": None})
    w = snap.write_archive(str(work / "2.tar.gz"), str(DB), m)
    backups.record(store, w, "manual", MODEL, "etcd", T0 + datetime.timedelta(days=1))
    text = backups.table(backups.listing(store).backups, store.location)
    lines = text.splitlines()
    assert lines[0] == f"backups in etcd/0:{store.directory}:"
    rows = [[c.strip() for c in line.split(" | ")] for line in lines[1:]]
    assert rows[0] == ["backup-id", "kind", "revision", "keys", "size", "cluster-id", "etcd",
                       "origin"]  # fmt: skip
    assert rows[1] == ["2026-12-06T02:00:00Z", "manual", "2", "?", snap.human_size(w.size),
                       "cdf8a14ad7e9c732", "3.5.16", "NO QUORUM"]  # fmt: skip
    assert rows[2][:4] == ["2026-12-05T02:00:00Z", "scheduled", "2", "1"]
    assert rows[2][-1] == "cluster"


def test_the_local_store_refuses_names_outside_its_directory(store: LocalStore) -> None:
    for name in ("../x.json", "", ".hidden", "a/b"):
        with pytest.raises(StoreError):
            store.put_bytes(name, b"{}")
