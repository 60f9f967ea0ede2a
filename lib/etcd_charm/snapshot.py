"""Snapshot archives: what the ``snapshot`` action writes and the ``restore`` action reads.

An archive is a gzip'd tar holding

* ``db``: the snapshot exactly as ``etcdctl snapshot save`` wrote it. etcd appends the
  sha256 of the database to the file (its size is then 32 bytes past a multiple of 512);
  ``snapshot restore`` checks it, and so do we before anything is touched;
* ``etcd-snapshot.json``: what the snapshot is (etcd version, revision, the number of
  keys at that revision, etcd's count of database entries, cluster id, members, time, unit)
  and the sha256 of ``db`` (:class:`Meta`).

The same members in a plain (uncompressed) tar are read too: the kind of file is told by
its content, never by its name. Archives of the old charm (a copy of the live database
file as ``./db``, no hash, no metadata) are read too: they carry nothing to check them by,
so they restore with etcd's hash check skipped and the result says so. A bare snapshot
file (``.db``, as the upgrade keeps before each step) is accepted when its embedded hash is
sound.

Nothing here talks to etcd or Juju; the functions read and write files only.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shlex
import shutil
import tarfile
import time
import zlib
from dataclasses import asdict, dataclass, replace
from typing import Any, BinaryIO, Literal

from .settings import version_tuple
from .workload import atomic_file

DB_NAME = "db"
META_NAME = "etcd-snapshot.json"
#: 1: ``total_keys`` (etcd's entry count); 2: ``db_entries`` (the same) and ``keys``;
#: 3: ``origin``
FORMAT = 3
META_MAX = 64 * 1024
#: etcd: a snapshot file carries its sha256 when ``size % 512 == 32``
HASH_SIZE = 32


#: where a snapshot's data came from (``origin``; an archive without it: the cluster)
ORIGIN_CLUSTER = "cluster"
ORIGIN_MEMBER = "member without quorum"
ORIGIN_FILE = "stopped member's database file"
ORIGINS = (ORIGIN_CLUSTER, ORIGIN_MEMBER, ORIGIN_FILE)


def origin_note(origin: str, unit: str) -> str:
    """What a snapshot of ``origin`` (taken on ``unit``) holds, for the operator."""
    if origin == ORIGIN_MEMBER:
        return (
            f"taken from {unit}'s own member while the cluster had no quorum: it holds what "
            "that member had applied; writes acknowledged without it are missing"
        )
    if origin == ORIGIN_FILE:
        return (
            f"a copy of {unit}'s database file, its etcd stopped and no member answering: it "
            "holds what that member had written to its database; entries only in its "
            "write-ahead log are missing"
        )
    return "a healthy member of the cluster: every write acknowledged up to its revision"


class SnapshotError(Exception):
    """The file is not a snapshot we can restore; the message says why (nothing changed)."""


WHOLE = "a whole number (0 or more)"
#: the required fields of etcd-snapshot.json: name -> (type, how a message calls it)
_META_FIELDS: dict[str, tuple[type, str]] = {
    "etcd_version": (str, "a string"),
    "revision": (int, WHOLE),
    "db_entries": (int, WHOLE),
    "cluster_id": (str, "a string"),
    "members": (int, WHOLE),
    "created": (str, "a string"),
    "unit": (str, "a string"),
    "sha256": (str, "a string"),
    "size": (int, WHOLE),
}


@dataclass(frozen=True)
class Meta:
    """What ``etcd-snapshot.json`` says about the snapshot in ``db``.

    ``keys`` is the number of keys a client sees at ``revision`` (None in the metadata of
    format 1, which did not record it); ``db_entries`` is etcd's ``totalKey`` (``snapshot
    status``): every entry of the database, etcd's own included (members, meta, auth, leases)
    and every revision of every key. Format 1 called it ``total_keys``."""

    etcd_version: str
    revision: int
    db_entries: int
    cluster_id: str  # hex
    members: int
    created: str  # UTC, ISO 8601
    unit: str
    sha256: str  # of the db file
    size: int  # of the db file
    keys: int | None = None
    format: int = FORMAT
    origin: str = ORIGIN_CLUSTER

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Meta:
        """Raises :class:`MetaError` naming the field that is missing or wrong."""
        try:
            d = json.loads(text)
        except ValueError as e:
            raise MetaError(f"it is not valid JSON ({e})") from None
        if not isinstance(d, dict):
            raise MetaError(f"it holds {type(d).__name__}, not a JSON object")
        if "db_entries" not in d and "total_keys" in d:  # format 1
            d = {**d, "db_entries": d["total_keys"]}
        values = {
            name: _meta_field(d, name, kind, what) for name, (kind, what) in _META_FIELDS.items()
        }
        keys = d.get("keys")
        if keys is not None:
            keys = _meta_field(d, "keys", int, WHOLE)
        fmt = _meta_field(d, "format", int, WHOLE) if "format" in d else 1
        origin = _meta_field(d, "origin", str, "a string") if "origin" in d else ORIGIN_CLUSTER
        if origin not in ORIGINS:
            raise MetaError(f"the field 'origin' is {origin!r}, not one of {', '.join(ORIGINS)}")
        return cls(**values, keys=keys, format=fmt, origin=origin)


class MetaError(SnapshotError):
    """etcd-snapshot.json cannot be read; the message says which field is wrong."""


def _meta_field(d: dict[str, Any], name: str, kind: type, what: str) -> Any:
    if name not in d:
        raise MetaError(f"the field {name!r} is missing")
    value = d[name]
    ok = isinstance(value, kind) and not isinstance(value, bool)
    if ok and kind is int and value < 0:
        ok = False
    if not ok:
        shown = json.dumps(value)
        shown = shown if len(shown) <= 40 else shown[:37] + "..."
        raise MetaError(f"the field {name!r} is {shown}, not {what}")
    return value


def sha256_file(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def human_size(size: int) -> str:
    """Like ``du -h``: 512 -> 512B, 69632 -> 68K, 1153433 -> 1.1M."""
    value = float(size)
    for unit in ("B", "K", "M", "G", "T"):
        if value < 1024 or unit == "T":
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    return f"{size}B"  # pragma: no cover


@dataclass(frozen=True)
class Entry:
    """One member of a tar written by :func:`write_private_tar`."""

    name: str
    mode: int
    data: bytes | None = None  # the content (None and no path: a directory)
    path: str | None = None  # a file streamed in instead of data


def write_private_tar(out_path: str, entries: list[Entry]) -> None:
    """A gzip'd tar, mode 0600 from its creation on, written beside ``out_path`` first and
    renamed into place (never a partial file under the final name)."""
    now = int(time.time())
    with atomic_file(out_path, 0o600) as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for e in entries:
            info = tarfile.TarInfo(e.name)
            info.mode, info.mtime = e.mode, now
            if e.path is not None:
                info.size = os.path.getsize(e.path)
                with open(e.path, "rb") as f:
                    tar.addfile(info, f)
            elif e.data is not None:
                info.size = len(e.data)
                tar.addfile(info, io.BytesIO(e.data))
            else:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)


#: a database at most this large is always compressed (it costs little either way)
SMALL = 16 << 20
#: how much of a larger database is compressed first to judge it: slices spread over it
SAMPLE_SLICES, SAMPLE_SLICE = 16, 64 << 10
#: compress (gzip level 1) only when the sample shrinks to this fraction or less; above it
#: the database is stored in the gzip stream uncompressed (level 0): gzip's level 1 runs at
#: about 80 MB/s against 1 GB/s or more stored, 3-4 times the snapshot itself on a large
#: keyspace, to save a quarter of the space at best (random or already compressed values)
WORTH_IT = 0.5
CHUNK = 1 << 20


def compress_level(db_path: str) -> int:
    """The gzip level the archive of ``db_path`` is written with: 1 when its content
    compresses well (a sample of it halves or better, or the file is small), else 0 (the
    gzip stream stores it as it is, at the speed of the disk)."""
    size = os.path.getsize(db_path)
    if size <= SMALL:
        return 1
    raw = packed = 0
    step = size // SAMPLE_SLICES
    with open(db_path, "rb") as f:
        for i in range(SAMPLE_SLICES):
            f.seek(i * step)
            block = f.read(SAMPLE_SLICE)
            raw += len(block)
            packed += len(zlib.compress(block, 1))
    return 1 if packed <= WORTH_IT * raw else 0


class _Hashing:
    """A file read through (``read``) or written through (``write``) with its sha256 and
    byte count kept on the way: the one pass that copies a file also hashes it."""

    def __init__(self, f: BinaryIO) -> None:
        self.f, self.hash, self.size = f, hashlib.sha256(), 0

    def read(self, n: int = -1) -> bytes:
        data = self.f.read(n)
        self.hash.update(data)
        self.size += len(data)
        return data

    def write(self, data: bytes) -> int:
        self.hash.update(data)
        self.size += len(data)
        return self.f.write(data)

    def flush(self) -> None:
        self.f.flush()


@dataclass(frozen=True)
class Written:
    """An archive :func:`write_archive` wrote: the metadata it holds (with the database's
    sha256 and size, taken while it was written), and its own sha256 and size."""

    path: str
    meta: Meta
    sha256: str
    size: int
    level: int  # the gzip level (0: stored uncompressed)

    @property
    def compression(self) -> str:
        return "gzip level 1" if self.level else "none (stored in a gzip stream)"


def write_archive(out_path: str, db_path: str, meta: Meta, level: int | None = None) -> Written:
    """The snapshot archive in one read of the database: ``db``, then ``etcd-snapshot.json``
    (``meta`` with the sha256 and size of ``db`` as it was read into the archive), both 0600,
    gzip'd at :func:`compress_level` unless ``level`` says; the archive's own sha256 is taken
    as it is written. Written beside ``out_path`` and renamed into place."""
    if level is None:
        level = compress_level(db_path)
    now = int(time.time())
    with atomic_file(out_path, 0o600) as raw:
        out = _Hashing(raw)
        with tarfile.open(
            fileobj=out, mode="w:gz", compresslevel=level  # type: ignore[call-overload]
        ) as tar:
            info = tarfile.TarInfo(DB_NAME)
            info.mode, info.mtime = 0o600, now
            with open(db_path, "rb") as f:
                info.size = os.fstat(f.fileno()).st_size
                src = _Hashing(f)
                tar.addfile(info, src)
            if src.size != info.size:
                raise SnapshotError(f"{db_path} changed size while it was archived")
            meta = replace(meta, sha256=src.hash.hexdigest(), size=src.size)
            data = meta.to_json().encode()
            info = tarfile.TarInfo(META_NAME)
            info.mode, info.mtime, info.size = 0o600, now, len(data)
            tar.addfile(info, io.BytesIO(data))
        raw.flush()
    return Written(out_path, meta, out.hash.hexdigest(), out.size, level)


@dataclass(frozen=True)
class Unpacked:
    db_path: str  # the extracted database, in the staging directory
    meta: Meta | None  # None for an archive of the old charm or a bare snapshot file
    hash_checked: bool  # etcd's embedded sha256 was present and matched


#: where a tar header carries its magic (POSIX "ustar\0", GNU "ustar  \0")
TAR_MAGIC_OFFSET = 257


def _kind(path: str) -> str:
    """What the file is, by its content: "gzip", "tar" (uncompressed) or "other"."""
    with open(path, "rb") as f:
        head = f.read(TAR_MAGIC_OFFSET + 8)
    if head[:2] == b"\x1f\x8b":
        return "gzip"
    if head[TAR_MAGIC_OFFSET : TAR_MAGIC_OFFSET + 5] == b"ustar":
        return "tar"
    return "other"


ACCEPTED = (
    "restore takes an archive from the snapshot action (.tar.gz, or the same members in a "
    "plain .tar), an archive of the old charm, or a snapshot file from etcdctl snapshot save"
)


def unpack(source: str, staging: str) -> Unpacked:
    """Extract and check the snapshot in ``source`` into ``staging`` (created, 0700).

    Raises :class:`SnapshotError` with the reason when the file is not a complete, intact
    snapshot; ``staging`` is then removed again."""
    if not os.path.isfile(source):
        raise SnapshotError(f"{source} does not exist or is not a file")
    if os.path.getsize(source) == 0:
        raise SnapshotError(f"{source} is empty")
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging, mode=0o700)
    try:
        return _unpack(source, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _unpack(source: str, staging: str) -> Unpacked:
    kind = _kind(source)
    db_path = os.path.join(staging, DB_NAME)
    if kind == "other":
        return _copy_bare(source, db_path)
    meta, copied = _extract(source, "r|gz" if kind == "gzip" else "r|", db_path)
    return Unpacked(db_path, meta, _check_db(copied, meta))


@dataclass(frozen=True)
class _Copied:
    """What one pass over a database found as it copied it."""

    size: int
    sha256: str
    embedded_ok: bool | None  # etcd's appended sha256 matched; None: the file carries none


def _copy_checked(src: BinaryIO, size: int, db_path: str) -> _Copied:
    """``size`` bytes of ``src`` into ``db_path`` (0600, a new file), hashed on the way in
    one sha256 pass: etcd's embedded hash covers all but the last 32 bytes, and the whole
    file's sha256 is that hash's state carried on over those 32 bytes."""
    carries = size >= HASH_SIZE and size % 512 == HASH_SIZE
    body = size - HASH_SIZE if carries else size
    h, done, trailer = hashlib.sha256(), 0, b""
    fd = os.open(db_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        while True:
            chunk = src.read(CHUNK)
            if not chunk:
                break
            out.write(chunk)
            if done + len(chunk) <= body:
                h.update(chunk)
            else:
                h.update(chunk[: max(0, body - done)])
                trailer += chunk[max(0, body - done) :]
            done += len(chunk)
    if done != size:
        raise SnapshotError(f"its database ends after {done} of {size} bytes: truncated")
    whole = h.copy()
    whole.update(trailer)
    ok = (h.digest() == trailer) if carries else None
    return _Copied(done, whole.hexdigest(), ok)


def _copy_bare(source: str, db_path: str) -> Unpacked:
    """A bare snapshot file: only with etcd's own hash to vouch for it."""
    size = os.path.getsize(source)
    with open(source, "rb") as f:
        ok = _copy_checked(f, size, db_path).embedded_ok
    if not ok:
        why = (
            "its embedded sha256 (its last 32 bytes) does not match its content: corrupt"
            if ok is False
            else f"it carries no etcd hash ({size} bytes, not 32 past a multiple of 512 as "
            "etcdctl snapshot save writes them): truncated, a copy of a live database file, "
            "or not a snapshot at all"
        )
        raise SnapshotError(
            f"{source} ({human_size(size)}) is neither a gzip'd nor a plain tar archive, and "
            f"as a bare snapshot file {why}; {ACCEPTED}"
        )
    return Unpacked(db_path, None, True)


def _is_db(name: str) -> bool:
    return name.lstrip("./") == DB_NAME or name.endswith("/" + DB_NAME)


def _extract(
    source: str, mode: Literal["r|gz", "r|"], db_path: str
) -> tuple[Meta | None, _Copied]:
    """The archive's ``db`` extracted to ``db_path`` (0600) in the one pass that reads the
    archive (a stream: the database is hashed as it is copied), and its metadata, if any."""
    meta_text: str | None = None
    copied: _Copied | None = None
    names: list[str] = []
    db_name = ""
    try:
        with tarfile.open(source, mode=mode) as tar:
            for m in tar:
                names.append(m.name)
                if _is_db(m.name):
                    if copied is not None:
                        raise SnapshotError(
                            f"it holds more than one etcd database ({db_name}, {m.name})"
                        )
                    if not m.isfile():
                        raise SnapshotError(f"its {m.name} is not a regular file")
                    f = tar.extractfile(m)
                    assert f is not None
                    db_name, copied = m.name, _copy_checked(f, m.size, db_path)  # type: ignore[arg-type]
                elif m.name.lstrip("./") == META_NAME and m.isfile():
                    if m.size > META_MAX:
                        raise SnapshotError(f"its {META_NAME} is too large")
                    f = tar.extractfile(m)
                    assert f is not None
                    meta_text = f.read().decode("utf-8", "replace")
    except SnapshotError:
        raise
    except (tarfile.TarError, EOFError, OSError, zlib.error, gzip.BadGzipFile) as e:
        raise SnapshotError(
            f"it is not a complete snapshot archive (truncated or corrupt: {e})"
        ) from None
    if copied is None:
        if any("member/wal" in n or "member/snap" in n for n in names):
            raise SnapshotError(
                "it is a v2 backup (a member directory): etcd 3.4 and later restore "
                "v3 snapshots only; take a new snapshot with keys-version=v3"
            )
        raise SnapshotError(
            f"it holds no etcd database ({DB_NAME}); found: " + (", ".join(names[:5]) or "nothing")
        )
    if meta_text is None:
        return None, copied
    try:
        return Meta.from_json(meta_text), copied
    except MetaError as e:
        raise SnapshotError(
            f"its {META_NAME} is not valid: {e}. Take a new snapshot with the snapshot "
            "action, or restore the database alone: extract it in an empty directory "
            f"(tar -xf {shlex.quote(source)} {shlex.quote(db_name)}) and run restore with "
            f"path=<that directory>/{os.path.normpath(db_name)} (a bare snapshot file is "
            "accepted when the sha256 etcd embeds in it is intact)"
        ) from None


def _check_db(copied: _Copied, meta: Meta | None) -> bool:
    """The extracted database (as :func:`_copy_checked` found it) against its metadata and
    etcd's embedded hash; whether that hash was there (an archive of the old charm holds a
    copy of the live file: none)."""
    if meta is not None:
        if copied.size != meta.size:
            raise SnapshotError(
                f"its database has {copied.size} bytes where the archive's {META_NAME} says "
                f"{meta.size}: truncated or altered"
            )
        if copied.sha256 != meta.sha256:
            raise SnapshotError(
                f"its database's sha256 {copied.sha256[:16]}... does not match the archive's "
                f"{META_NAME} ({meta.sha256[:16]}...): corrupt or altered"
            )
    if copied.embedded_ok is False:
        raise SnapshotError("the database's embedded sha256 does not match: corrupt snapshot")
    if copied.embedded_ok is None and meta is not None:
        raise SnapshotError(
            "the database carries no embedded sha256 although the snapshot action always "
            "writes one: truncated or altered"
        )
    return bool(copied.embedded_ok)


def version_refusal(snapshot_version: str, installed_version: str) -> str:
    """Why a snapshot taken with etcd ``snapshot_version`` must not be restored into etcd
    ``installed_version`` ("" when it may): etcd reads the data of its own and older minor
    versions, never newer ones."""
    if not snapshot_version or not installed_version:
        return ""
    snap, inst = version_tuple(snapshot_version)[:2], version_tuple(installed_version)[:2]
    if snap > inst:
        return (
            f"the snapshot was taken with etcd {snapshot_version}, newer than this cluster's "
            f"{installed_version}: upgrade the cluster first (juju config etcd "
            f"channel={snap[0]}.{snap[1]}/stable), then restore"
        )
    return ""
