"""Snapshot archives: written, read back, and every way a file can be unfit for a restore.

The database is a real snapshot (``etcdctl snapshot save`` of an etcd 3.5.16 member, with
the sha256 etcd appends); the archives are made with the module under test or, for the old
charm's format, as that charm made them (``tar cvfz`` of a directory holding ``db``)."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import subprocess
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
        db_entries=9,
        keys=1,
        cluster_id="cdf8a14ad7e9c732",
        members=3,
        created="2026-11-21T20:29:04Z",
        unit="etcd/0",
        sha256=snap.sha256_file(str(db)),
        size=db.stat().st_size,
    )


def intact_meta() -> bytes:
    """etcd-snapshot.json of the intact snapshot, to pair with an altered database."""
    return meta_for(DB).to_json().encode()


def test_real_snapshot_carries_a_sound_hash() -> None:
    assert DB.stat().st_size % 512 == 32
    data = DB.read_bytes()
    assert hashlib.sha256(data[: -snap.HASH_SIZE]).digest() == data[-snap.HASH_SIZE :]


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
    # the metadata of the intact file, with the altered database
    archive_of(tmp_path / "a.tar.gz", {"db": bytes(data), snap.META_NAME: intact_meta()})
    refused(tmp_path, tmp_path / "a.tar.gz", "sha256", "corrupt or altered")
    # without metadata only etcd's hash vouches for it, and it does not match
    old_charm_archive(tmp_path / "b.tar.gz", bytes(data))
    refused(tmp_path, tmp_path / "b.tar.gz", "embedded sha256 does not match")
    refused(
        tmp_path,
        bad,
        f"{bad} (20K) is neither a gzip'd nor a plain tar archive",
        "embedded sha256 (its last 32 bytes) does not match its content: corrupt",
        "restore takes an archive from the snapshot action",
    )


def test_truncated_archive_is_refused(tmp_path: Path) -> None:
    snap.write_archive(str(tmp_path / "a.tar.gz"), str(DB), meta_for(DB))
    whole = (tmp_path / "a.tar.gz").read_bytes()
    (tmp_path / "t.tar.gz").write_bytes(whole[: len(whole) // 2])
    refused(tmp_path, tmp_path / "t.tar.gz", "not a complete snapshot archive")


def test_truncated_database_with_metadata_is_refused(tmp_path: Path) -> None:
    short = tmp_path / "short.db"
    short.write_bytes(DB.read_bytes()[:4096])
    archive_of(tmp_path / "a.tar.gz", {"db": short.read_bytes(), snap.META_NAME: intact_meta()})
    refused(tmp_path, tmp_path / "a.tar.gz", "4096 bytes", "truncated or altered")


def test_foreign_files_are_refused(tmp_path: Path) -> None:
    text = tmp_path / "notes.txt"
    text.write_text("not a snapshot\n" * 100)
    refused(
        tmp_path,
        text,
        f"{text} (1.5K) is neither a gzip'd nor a plain tar archive",
        "no etcd hash (1500 bytes, not 32 past a multiple of 512",
        "truncated, a copy of a live database file, or not a snapshot at all",
        "restore takes an archive from the snapshot action (.tar.gz, or the same members in "
        "a plain .tar), an archive of the old charm, or a snapshot file from etcdctl "
        "snapshot save",
    )
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


def archive_of(path: Path, members: dict[str, bytes], gz: bool = True) -> Path:
    """A tar (gzip'd or plain) holding ``members`` as they are given."""
    with tarfile.open(path, "w:gz" if gz else "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


def test_metadata_records_the_keys_and_etcds_entries_apart(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    snap.write_archive(str(archive), str(DB), meta_for(DB))
    with tarfile.open(archive) as tar:
        text = tar.extractfile(snap.META_NAME).read()  # type: ignore[union-attr]
    written = json.loads(text)
    assert written["keys"] == 1 and written["db_entries"] == 9 and written["format"] == 3
    assert written["origin"] == "cluster"
    assert "total_keys" not in written  # etcd's entry count is not a number of keys
    assert snap.unpack(str(archive), str(tmp_path / "staging")).meta == meta_for(DB)


def format_1_metadata(db: Path) -> dict[str, object]:
    """etcd-snapshot.json as the snapshot action wrote it before it counted the keys."""
    return {
        "cluster_id": "cdf8a14ad7e9c732",
        "created": "2026-11-21T20:29:04Z",
        "etcd_version": "3.5.16",
        "format": 1,
        "members": 3,
        "revision": 2,
        "sha256": snap.sha256_file(str(db)),
        "size": db.stat().st_size,
        "total_keys": 9,
        "unit": "etcd/0",
    }


def test_archive_with_format_1_metadata_still_restores(tmp_path: Path) -> None:
    meta = json.dumps(format_1_metadata(DB)).encode()
    archive = archive_of(
        tmp_path / "a.tar.gz", {"etcd-snapshot.json": meta, "db": DB.read_bytes()}
    )
    out = snap.unpack(str(archive), str(tmp_path / "staging"))
    assert out.meta is not None and out.hash_checked
    assert (out.meta.keys, out.meta.db_entries, out.meta.format) == (None, 9, 1)


REMEDY = (
    "Take a new snapshot with the snapshot action, or restore the database alone: extract "
    "it in an empty directory (tar -xf {archive} db) and run restore with "
    "path=<that directory>/db (a bare snapshot file is accepted when the sha256 etcd "
    "embeds in it is intact)"
)


@pytest.mark.parametrize(
    "field", ["etcd_version", "revision", "total_keys", "cluster_id", "sha256", "size"]
)
def test_metadata_without_a_field_says_which_and_what_to_do(tmp_path: Path, field: str) -> None:
    meta = format_1_metadata(DB)
    del meta[field]
    archive = archive_of(
        tmp_path / "a.tar.gz",
        {"etcd-snapshot.json": json.dumps(meta).encode(), "db": DB.read_bytes()},
    )
    missing = "db_entries" if field == "total_keys" else field
    refused(
        tmp_path,
        archive,
        f"its etcd-snapshot.json is not valid: the field '{missing}' is missing. ",
        REMEDY.format(archive=archive),
    )
    # and what it says works: the database alone, etcd's hash intact, is accepted
    with tarfile.open(archive) as tar:  # tar -xf <archive> db
        (tmp_path / "db").write_bytes(tar.extractfile("db").read())  # type: ignore[union-attr]
    out = snap.unpack(str(tmp_path / "db"), str(tmp_path / "staging"))
    assert out.meta is None and out.hash_checked


@pytest.mark.parametrize(
    "change,said",
    [
        ({"revision": "2"}, "the field 'revision' is \"2\", not a whole number (0 or more)"),
        ({"size": -1}, "the field 'size' is -1, not a whole number (0 or more)"),
        ({"members": True}, "the field 'members' is true, not a whole number (0 or more)"),
        ({"etcd_version": 3.5}, "the field 'etcd_version' is 3.5, not a string"),
        ({"keys": "many"}, "the field 'keys' is \"many\", not a whole number (0 or more)"),
    ],
)
def test_metadata_with_a_wrong_type_says_which_field(
    tmp_path: Path, change: dict[str, object], said: str
) -> None:
    meta = {**format_1_metadata(DB), **change}
    archive = archive_of(
        tmp_path / "a.tar.gz",
        {"etcd-snapshot.json": json.dumps(meta).encode(), "db": DB.read_bytes()},
    )
    refused(tmp_path, archive, f"its etcd-snapshot.json is not valid: {said}. ", "snapshot action")


def test_metadata_that_is_no_json_object_is_refused(tmp_path: Path) -> None:
    for text, said in ((b"{not json", "it is not valid JSON"), (b"[1, 2]", "it holds list")):
        archive = archive_of(
            tmp_path / "a.tar.gz", {"etcd-snapshot.json": text, "db": DB.read_bytes()}
        )
        refused(tmp_path, archive, f"its etcd-snapshot.json is not valid: {said}", "tar -xf")


def plain(gzipped: Path, out: Path) -> Path:
    """The same tar, uncompressed (gunzip)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(gzip.decompress(gzipped.read_bytes()))
    return out


def test_plain_tar_of_an_archive_is_accepted_by_its_content(tmp_path: Path) -> None:
    snap.write_archive(str(tmp_path / "a.tar.gz"), str(DB), meta_for(DB))
    for name in ("a.tar", "a.tar.gz", "snapshot.db"):  # the name does not matter
        tar = plain(tmp_path / "a.tar.gz", tmp_path / "plain" / name)
        assert tarfile.is_tarfile(tar) and tar.read_bytes()[:2] != b"\x1f\x8b"
        out = snap.unpack(str(tar), str(tmp_path / "staging"))
        assert out.meta == meta_for(DB) and out.hash_checked
        assert Path(out.db_path).read_bytes() == DB.read_bytes()


def test_plain_tar_of_the_old_charm_is_accepted(tmp_path: Path) -> None:
    old_charm_archive(tmp_path / "old.tar.gz", DB.read_bytes()[:-32])
    tar = plain(tmp_path / "old.tar.gz", tmp_path / "old.tar")
    out = snap.unpack(str(tar), str(tmp_path / "staging"))
    assert out.meta is None and not out.hash_checked


def test_plain_tar_gets_the_same_checks(tmp_path: Path) -> None:
    data = bytearray(DB.read_bytes())
    data[5000] ^= 0xFF
    (tmp_path / "bad.db").write_bytes(bytes(data))
    archive_of(tmp_path / "f.tar.gz", {"db": bytes(data), snap.META_NAME: intact_meta()})
    flipped = plain(tmp_path / "f.tar.gz", tmp_path / "flipped.tar")
    refused(tmp_path, flipped, "sha256", "corrupt or altered")
    snap.write_archive(str(tmp_path / "a.tar.gz"), str(DB), meta_for(DB))
    whole = plain(tmp_path / "a.tar.gz", tmp_path / "whole.tar").read_bytes()
    (tmp_path / "truncated.tar").write_bytes(whole[: len(whole) // 2])
    refused(tmp_path, tmp_path / "truncated.tar", "not a complete snapshot archive")
    foreign = archive_of(tmp_path / "foreign.tar", {"README": b"hello"}, gz=False)
    refused(tmp_path, foreign, "holds no etcd database", "README")
    meta = format_1_metadata(DB)
    del meta["etcd_version"]
    no_version = archive_of(
        tmp_path / "m.tar",
        {"etcd-snapshot.json": json.dumps(meta).encode(), "db": DB.read_bytes()},
        gz=False,
    )
    refused(tmp_path, no_version, "'etcd_version' is missing", REMEDY.format(archive=no_version))


def test_the_archive_records_what_it_read_not_what_it_was_told(tmp_path: Path) -> None:
    """One pass: the database's sha256 and size come from the read that archived it, and
    the archive's own sha256 from the bytes written."""
    template = snap.Meta(**{**meta_for(DB).__dict__, "sha256": "", "size": 0})
    written = snap.write_archive(str(tmp_path / "a.tar.gz"), str(DB), template)
    assert written.meta == meta_for(DB)
    assert written.sha256 == snap.sha256_file(written.path)
    assert written.size == (tmp_path / "a.tar.gz").stat().st_size
    with tarfile.open(written.path) as tar:  # the metadata last: it marks a whole archive
        assert tar.getnames() == ["db", "etcd-snapshot.json"]
    assert snap.unpack(written.path, str(tmp_path / "staging")).meta == meta_for(DB)


def big_file(path: Path, block: bytes) -> Path:
    with path.open("wb") as f:
        for _ in range(snap.SMALL // len(block) + 64):
            f.write(block)
    return path


def test_compression_is_chosen_by_what_a_sample_saves(tmp_path: Path) -> None:
    assert snap.compress_level(str(DB)) == 1  # small: always compressed
    rng = random.Random(7)
    noise = big_file(tmp_path / "noise.db", rng.randbytes(1 << 16))
    assert snap.compress_level(str(noise)) == 0  # it would not shrink: stored
    text = big_file(tmp_path / "text.db", b'{"kind":"Pod","metadata":{"name":"web-%d"}}\n' * 1500)
    assert snap.compress_level(str(text)) == 1
    # stored or compressed, the archive is a gzip'd tar that GNU tar lists and we restore
    for db, level, bound in ((noise, 0, 1.01), (text, 1, 0.2)):
        meta = snap.Meta(**{**meta_for(DB).__dict__, "sha256": "", "size": 0})
        written = snap.write_archive(str(tmp_path / f"{db.stem}.tar.gz"), str(db), meta)
        assert written.level == level
        assert written.size <= bound * db.stat().st_size
        listed = subprocess.run(
            ["tar", "-tzf", written.path], capture_output=True, text=True, check=True
        ).stdout.split()
        assert listed == ["db", "etcd-snapshot.json"]


def test_an_archive_with_two_databases_is_refused(tmp_path: Path) -> None:
    archive = archive_of(
        tmp_path / "two.tar.gz", {"db": DB.read_bytes(), "backup/db": DB.read_bytes()}
    )
    refused(tmp_path, archive, "more than one etcd database (db, backup/db)")


def test_a_database_cut_short_inside_the_archive_is_refused(tmp_path: Path) -> None:
    written = snap.write_archive(str(tmp_path / "a.tar.gz"), str(DB), meta_for(DB), level=0)
    whole = gzip.decompress(Path(written.path).read_bytes())
    (tmp_path / "cut.tar").write_bytes(whole[: 512 + 10000])  # the header and part of db
    refused(tmp_path, tmp_path / "cut.tar", "not a complete snapshot archive")
