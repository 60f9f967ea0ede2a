"""Backups in a store: record one (the archive, then its metadata), list them, fetch one for
a restore (checked against what was recorded), prune what retention no longer keeps.

A backup is a snapshot archive (:mod:`snapshot`: ``db`` and ``etcd-snapshot.json``) under
``<id>.tar.gz`` and, written after it, ``<id>.json``: :class:`Backup`, the archive's metadata
with its sha256 and size, the kind of backup and the model and application that took it.
Everything here works on a :class:`backup_store.Store`; nothing talks to etcd or Juju.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import asdict, dataclass
from typing import Any

from . import backup_catalog as B
from . import snapshot as snap
from .backup_store import Store, StoreError

#: what took a backup: the schedule, the create-backup action, or an operation that saves
#: the data first
KINDS = ("scheduled", "manual", "pre-restore", "pre-upgrade", "pre-migration", "pre-recovery")
#: 1: the first layout
FORMAT = 1


class BackupError(Exception):
    """A backup cannot be recorded, read or fetched; the message says why."""


@dataclass(frozen=True)
class Backup:
    id: str
    kind: str
    model_uuid: str
    application: str
    archive_sha256: str
    archive_size: int
    compression: str
    snapshot: snap.Meta
    format: int = FORMAT

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Backup:
        try:
            d = json.loads(text)
        except ValueError as e:
            raise BackupError(f"it is not valid JSON ({e})") from None
        if not isinstance(d, dict):
            raise BackupError(f"it holds {type(d).__name__}, not a JSON object")
        values: dict[str, Any] = {}
        for name, kind in (
            ("id", str),
            ("kind", str),
            ("model_uuid", str),
            ("application", str),
            ("archive_sha256", str),
            ("archive_size", int),
            ("compression", str),
            ("format", int),
        ):
            value = d.get(name)
            if not isinstance(value, kind) or isinstance(value, bool):
                raise BackupError(f"the field {name!r} is missing or not a {kind.__name__}")
            values[name] = value
        if not isinstance(d.get("snapshot"), dict):
            raise BackupError("the field 'snapshot' is missing or not an object")
        try:
            meta = snap.Meta.from_json(json.dumps(d["snapshot"]))
        except snap.MetaError as e:
            raise BackupError(f"its snapshot metadata is not valid: {e}") from None
        return cls(snapshot=meta, **values)


def record(
    store: Store,
    written: snap.Written,
    kind: str,
    model_uuid: str,
    application: str,
    now: datetime.datetime,
) -> Backup:
    """Put the archive ``written`` into ``store`` as a new backup (the archive first, its
    metadata last: a backup is listed only once both are there). The archive file may be
    moved into the store."""
    if kind not in KINDS:
        raise ValueError(f"unknown kind of backup {kind!r}")
    names = store.names()
    listing = B.catalogue(names)
    bid = B.backup_id(now, set(listing.complete) | set(listing.incomplete))
    backup = Backup(
        id=bid,
        kind=kind,
        model_uuid=model_uuid,
        application=application,
        archive_sha256=written.sha256,
        archive_size=written.size,
        compression=written.compression,
        snapshot=written.meta,
    )
    store.put_file(B.data_name(bid), written.path, written.sha256)
    store.put_bytes(B.meta_name(bid), backup.to_json().encode())
    return backup


@dataclass(frozen=True)
class Listed:
    """What a store holds: the complete backups, oldest first; the ids of incomplete ones
    (an interrupted upload or prune); those whose metadata cannot be read, with why."""

    backups: tuple[Backup, ...]
    incomplete: tuple[str, ...]
    unreadable: tuple[tuple[str, str], ...]

    def by_id(self, bid: str) -> Backup | None:
        return next((b for b in self.backups if b.id == bid), None)


def listing(store: Store) -> Listed:
    cat = B.catalogue(store.names())
    found: list[Backup] = []
    bad: list[tuple[str, str]] = []
    for bid in cat.complete:
        try:
            backup = Backup.from_json(store.get_bytes(B.meta_name(bid)).decode("utf-8", "replace"))
        except (BackupError, StoreError) as e:
            bad.append((bid, str(e)))
            continue
        if backup.id != bid:
            bad.append((bid, f"its metadata names another backup ({backup.id})"))
            continue
        found.append(backup)
    return Listed(tuple(found), cat.incomplete, tuple(bad))


def fetch(store: Store, bid: str, workdir: str) -> tuple[Backup, str]:
    """The backup ``bid`` and a local path of its archive, whose transfer is checked against
    the recorded sha256 and size (what S3 stores is not checked by every server)."""
    listed = listing(store)
    backup = listed.by_id(bid)
    if backup is None:
        why = next((w for b, w in listed.unreadable if b == bid), "")
        if why:
            raise BackupError(f"backup {bid} in {store.location} cannot be read: {why}")
        if bid in listed.incomplete:
            raise BackupError(
                f"backup {bid} in {store.location} is incomplete (its archive or its "
                "metadata is missing): an interrupted upload or removal"
            )
        ids = [b.id for b in listed.backups]
        newest = f"; the newest are {', '.join(ids[-3:])}" if ids else "; it holds none"
        raise BackupError(f"{store.location} holds no backup {bid}{newest} (list-backups)")
    path, digest = store.fetch(B.data_name(bid), workdir)
    if digest is not None and digest != backup.archive_sha256:
        raise BackupError(
            f"backup {bid}'s archive arrived with sha256 {digest[:16]}... where its metadata "
            f"records {backup.archive_sha256[:16]}...: corrupt in the store or in transit"
        )
    return backup, path


def prune(store: Store, retention: int, model_uuid: str, application: str) -> list[str]:
    """Remove the scheduled backups of this application beyond the newest ``retention``
    (0: keep every one); each backup's metadata first, then its archive, so that an
    interrupted prune leaves an incomplete backup, never a listed one without its data.
    Backups of other kinds, models or applications are never pruned."""
    listed = listing(store)
    ours = tuple(
        b.id
        for b in listed.backups
        if b.kind == "scheduled" and b.model_uuid == model_uuid and b.application == application
    )
    removed = B.to_prune(ours, retention)
    for bid in removed:
        store.delete(B.meta_name(bid))
        store.delete(B.data_name(bid))
    return removed


def table(backups: tuple[Backup, ...], location: str) -> str:
    """``list-backups``' text: one line per backup, newest first."""
    rows = [("backup-id", "kind", "revision", "keys", "size", "cluster-id", "etcd", "origin")]
    for b in sorted(backups, key=lambda b: B.id_key(b.id), reverse=True):
        m = b.snapshot
        rows.append(
            (
                b.id,
                b.kind,
                str(m.revision),
                "?" if m.keys is None else str(m.keys),
                snap.human_size(b.archive_size),
                m.cluster_id or "?",
                m.etcd_version,
                "cluster" if m.origin == snap.ORIGIN_CLUSTER else "NO QUORUM",
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join([f"backups in {location}:", *lines])
