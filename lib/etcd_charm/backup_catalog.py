"""The backup store's layout and catalogue: backup ids, object names, what ``list-backups``
shows and what retention prunes. Pure: nothing here reads a store (docs/backup-research.md,
section 6, is the design this follows).

Layout, the same in a local directory and under an S3 prefix::

    <prefix>/<id>.tar.gz   the snapshot archive, exactly as the snapshot action writes it
                           (db and etcd-snapshot.json: restore path= and the old charm's
                           restore read it as it is)
    <prefix>/<id>.json     what the backup is (:class:`backups.Backup`: the archive's
                           metadata, its sha256 and size, kind, model and application),
                           written last: a backup without it is incomplete (an interrupted
                           upload) and is never listed as restorable

A backup id is the UTC time the backup started, ``YYYY-MM-DDTHH:MM:SSZ`` (as the data charms
and charmed-etcd name theirs), with ``-<n>`` added when two start in the same second.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

ID_RE = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)(?:-(\d+))?$")
META_SUFFIX = ".json"
DATA_SUFFIX = ".tar.gz"


def backup_id(started: datetime.datetime, taken: set[str]) -> str:
    """The id of a backup started at ``started`` (aware), unique among ``taken``."""
    if started.tzinfo is None:
        raise ValueError("a backup's start time must carry its time zone")
    base = started.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    if base not in taken:
        return base
    n = 1
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def meta_name(bid: str) -> str:
    return f"{bid}{META_SUFFIX}"


def data_name(bid: str) -> str:
    return f"{bid}{DATA_SUFFIX}"


def id_key(bid: str) -> tuple[str, int]:
    """Sort key: by time, then by the same-second counter."""
    m = ID_RE.match(bid)
    if not m:
        raise ValueError(f"{bid!r} is not a backup id")
    return m.group(1), int(m.group(2) or 0)


@dataclass(frozen=True)
class Listing:
    """What a store holds, by backup id: complete backups (metadata and data) and the
    incomplete ones (data without metadata, or metadata whose data is gone)."""

    complete: tuple[str, ...]
    incomplete: tuple[str, ...]


def catalogue(names: list[str]) -> Listing:
    """Sort a store's object names (relative to its prefix) into backups; names that are no
    backup of this layout are ignored (the prefix may hold other files)."""
    metas: set[str] = set()
    datas: set[str] = set()
    for name in names:
        if name.endswith(META_SUFFIX) and ID_RE.match(name[: -len(META_SUFFIX)]):
            metas.add(name[: -len(META_SUFFIX)])
        elif name.endswith(DATA_SUFFIX) and ID_RE.match(name[: -len(DATA_SUFFIX)]):
            datas.add(name[: -len(DATA_SUFFIX)])
    complete = sorted(metas & datas, key=id_key)
    incomplete = sorted(metas ^ datas, key=id_key)
    return Listing(tuple(complete), tuple(incomplete))


def to_prune(complete: tuple[str, ...], retention: int) -> list[str]:
    """The complete backups retention removes, oldest first: all but the newest
    ``retention`` (0 keeps everything: retention off)."""
    if retention < 0:
        raise ValueError("retention is a whole number (0: keep every backup)")
    if retention == 0 or len(complete) <= retention:
        return []
    ordered = sorted(complete, key=id_key)
    return ordered[: len(ordered) - retention]
