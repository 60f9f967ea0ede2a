"""Snapshot archives: written, read back, and every way a file can be unfit for a restore.

The database is a real snapshot (``etcdctl snapshot save`` of an etcd 3.5.16 member, with
the sha256 etcd appends); the archives are made with the module under test or, for the old
charm's format, as that charm made them (``tar cvfz`` of a directory holding ``db``)."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pytest

from etcd_charm import snapshot as snap

from .fixtures import DATA

DB = DATA / "snapshots" / "etcd-3.5.16.db"


def meta_for(db: Path) -> snap.Meta:
    return snap.Meta(
        etcd_version="3.5.16",
        revision=2,
        total_keys=9,
        cluster_id="cdf8a14ad7e9c732",
        members=3,
        created="2026-11-21T20:29:04Z",
        unit="etcd/0",
        sha256=snap.sha256_file(str(db)),
        size=db.stat().st_size,
    )


def test_real_snapshot_carries_a_sound_hash() -> None:
    assert DB.stat().st_size % 512 == 32
    assert snap.embedded_hash_ok(str(DB)) is True


def test_archive_round_trip(tmp_path: Path) -> None:
    archive = tmp_path / "etcd-snapshot.tar.gz"
    snap.write_archive(str(archive), str(DB), meta_for(DB))
    assert archive.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [archive.name]  # no partial file
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["db", "etcd-snapshot.json"]
    out = snap.unpack(str(archive), str(tmp_path / "staging"))
    assert out.meta == meta_for(DB)
    assert out.hash_checked
    assert Path(out.db_path).read_bytes() == DB.read_bytes()
    assert (tmp_path / "staging").stat().st_mode & 0o777 == 0o700


def test_bare_snapshot_file_is_accepted(tmp_path: Path) -> None:
    out = snap.unpack(str(DB), str(tmp_path / "staging"))
    assert out.meta is None and out.hash_checked


def old_charm_archive(path: Path, db: bytes) -> None:
    """As the old charm's snapshot action made it: ``cd dir && tar cvfz ../x.tar.gz .``."""
    with tarfile.open(path, "w:gz") as tar:
        d = tarfile.TarInfo(".")
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
        info = tarfile.TarInfo("./db")
        info.size = len(db)
        tar.addfile(info, io.BytesIO(db))


def test_old_charm_archive_restores_without_hash_check(tmp_path: Path) -> None:
    live_copy = DB.read_bytes()[:-32]  # a copy of the live database file: no hash
    old_charm_archive(tmp_path / "old.tar.gz", live_copy)
    out = snap.unpack(str(tmp_path / "old.tar.gz"), str(tmp_path / "staging"))
    assert out.meta is None and not out.hash_checked


def refused(tmp_path: Path, source: Path, *fragments: str) -> None:
    staging = tmp_path / "staging"
    with pytest.raises(snap.SnapshotError) as e:
        snap.unpack(str(source), str(staging))
    for f in fragments:
        assert f in str(e.value)
    assert not staging.exists()  # nothing left behind


def test_flipped_byte_in_the_database_is_refused(tmp_path: Path) -> None:
    data = bytearray(DB.read_bytes())
    data[5000] ^= 0xFF
    bad = tmp_path / "bad.db"
    bad.write_bytes(bytes(data))
    meta = meta_for(DB)  # the metadata of the intact file
    snap.write_archive(str(tmp_path / "a.tar.gz"), str(bad), meta)
    refused(tmp_path, tmp_path / "a.tar.gz", "sha256", "corrupt or altered")
    # without metadata only etcd's hash vouches for it, and it does not match
    old_charm_archive(tmp_path / "b.tar.gz", bytes(data))
    refused(tmp_path, tmp_path / "b.tar.gz", "embedded sha256 does not match")
    refused(tmp_path, bad, "neither a snapshot archive")


def test_truncated_archive_is_refused(tmp_path: Path) -> None:
    snap.write_archive(str(tmp_path / "a.tar.gz"), str(DB), meta_for(DB))
    whole = (tmp_path / "a.tar.gz").read_bytes()
    (tmp_path / "t.tar.gz").write_bytes(whole[: len(whole) // 2])
    refused(tmp_path, tmp_path / "t.tar.gz", "not a complete snapshot archive")


def test_truncated_database_with_metadata_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.db"
    short.write_bytes(DB.read_bytes()[:4096])
    snap.write_archive(str(tmp_path / "a.tar.gz"), str(short), meta_for(DB))
    refused(tmp_path, tmp_path / "a.tar.gz", "4096 bytes", "truncated or altered")


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a snapshot\n" * 100)
    refused(tmp_path, text, "neither a snapshot archive")
    gz = tmp_path / "x.gz"
    gz.write_bytes(gzip.compress(b"plain gzip, not a tar" * 50))
    refused(tmp_path, gz, "not a complete snapshot archive")
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("README")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    refused(tmp_path, other, "holds no etcd database", "README")
    empty = tmp_path / "empty"
    empty.write_bytes(b"")
    refused(tmp_path, empty, "is empty")
    refused(tmp_path, tmp_path / "missing.tar.gz", "does not exist")


def test_v2_backup_is_refused_with_the_reason(tmp_path: Path) -> None:
    v2 = tmp_path / "v2.tar.gz"
    with tarfile.open(v2, "w:gz") as tar:
        for name in ("./member/wal/0.wal", "./member/snap/0.snap"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"abc"))
    refused(tmp_path, v2, "v2 backup", "keys-version=v3")


def test_newer_minor_version_is_refused() -> None:
    why = snap.version_refusal("3.5.16", "3.4.23")
    assert "newer than this cluster's 3.4.23" in why and "channel=3.5/stable" in why
    assert snap.version_refusal("3.4.23", "3.5.16") == ""
    assert snap.version_refusal("3.5.1", "3.5.16") == ""
    assert snap.version_refusal("", "3.5.16") == ""


@pytest.mark.parametrize(
    "size,shown",
    [(512, "512B"), (20512, "20K"), (69632, "68K"), (1153433, "1.1M"), (150 << 20, "150M")],
)
def test_human_size(size: int, shown: str) -> None:
    assert snap.human_size(size) == shown
