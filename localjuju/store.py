"""The local snap store: its layout, its index, the local ``.snap`` format and the builder.

A store is a directory (see docs/localjuju-snaps.md)::

    <store>/index.json            what is published: snaps, tracks, channels -> revisions
    <store>/snaps/<name>_<rev>.snap

``index.json`` (``"format": 1``)::

    {
      "format": 1,
      "builder": <int>,                  # bumped when the builder's output changes
      "snaps": {
        "etcd": {
          "snap-id": "...", "summary": "...", "description": "...", "license": "...",
          "contact": "...",
          "publisher": {"id": "...", "username": "canonical", "display-name": "Canonical",
                        "validation": "verified"},
          "tracks": ["latest", "3.5", "3.4"],
          "channels": {
            "3.4/stable": {"revision": 423, "version": "3.4.23", "file": "etcd_423.snap",
                           "sha256": "<hex>", "size": <bytes>, "released-at": "<RFC 3339>"},
            ...
          },
          "revisions": {"530": {"revision": 530, "version": "3.5.30", "file": "...", ...}},
          "sources": {"<file>": {"<binary>": "<sha256 of the binary it was built from>"}}
        },
        "core18": {"type": "base", ...}, "core": {"type": "os", ...}
      }
    }

``revisions`` lists every revision the store holds, released in a channel or not (a model's
channel map overlay can release any of them, see :func:`apply_overlay`); ``type`` is the snap's
type (``app`` when absent).

A ``.snap`` file here is a gzip-compressed tar archive whose root holds ``meta/snap.yaml``
(name, version, summary, description, confinement, grade, apps) and the snap's files.
Squashfs snaps are not used by the local model.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml

INDEX_FORMAT = 1
BUILDER_VERSION = 2
RISKS = ("stable", "candidate", "beta", "edge")


class StoreError(Exception):
    """A problem with the store or a snap file, with a message for the operator."""


# ---------------------------------------------------------------------------------------------
# What the store publishes


@dataclass(frozen=True)
class Release:
    """One etcd release of the store: a version, its fixed revision and its channels.

    A release without channels is held by the store but published nowhere until a model's
    channel map overlay releases it; an ``optional`` one is left out when its binaries are not
    in the cache (it is fetched from a Debian suite that may be unreachable)."""

    version: str
    revision: int
    channels: tuple[str, ...]
    optional: bool = False


# Revisions are fixed so that stores built on different hosts agree (100 * minor + patch).
ETCD_RELEASES: tuple[Release, ...] = (
    Release("3.4.23", 423, ("3.4/stable",)),
    Release("3.5.16", 516, ("3.5/stable", "latest/stable")),
    # a newer 3.5 (Debian forky's, else sid's): in the store, in no channel until released
    Release("3.5.30", 530, (), optional=True),
)
ETCD_TRACKS = ("latest", "3.5", "3.4")

ETCD_SUMMARY = "Distributed reliable key-value store"
ETCD_DESCRIPTION = (
    "Etcd is a high availability key-value store, implementing the Raft\n"
    "algorithm to deal with failover within the etcd cluster. Popular\n"
    "as a store of small but important data in distributed systems.\n"
)
ETCD_META: dict[str, Any] = {
    "snap-id": "localjuju-etcd-0000000000000001",
    "summary": ETCD_SUMMARY,
    "description": ETCD_DESCRIPTION,
    "license": "Apache-2.0",
    "contact": "",
    "publisher": {
        "id": "canonical",
        "username": "canonical",
        "display-name": "Canonical",
        "validation": "verified",
    },
}

# The daemon wrapper: the same behaviour as the etcd snap's bin/snap-wrap.sh (data in
# $SNAP_DATA, configuration $SNAP_COMMON/etcd.conf.yml; no configuration -> say so and exit 0;
# a 2.x etcd.conf -> refuse), written for the local model.
ETCD_WRAPPER = r"""#!/bin/bash
# etcd daemon wrapper (localjuju's etcd snap; behaves as the etcd snap's snap-wrap.sh)
if [[ $EUID -ne 0 ]]; then
  DATA_DIR=$SNAP_USER_DATA
  CONF_DIR=$SNAP_USER_COMMON
  echo "Running as user with data in $DATA_DIR"
else
  DATA_DIR=$SNAP_DATA
  CONF_DIR=$SNAP_COMMON
  echo "Running as system with data in $DATA_DIR"
fi

if [ -e "$CONF_DIR/etcd.conf" ]; then
  echo "etcd 3.x is not compatible with a 2.x configuration: found $CONF_DIR/etcd.conf."
  echo "Upgrade through the 3.0, 3.1, 3.2 and 3.3 channels first."
  exit 1
fi

TARGET_CONF=$CONF_DIR/etcd.conf.yml
if [ -e "$TARGET_CONF" ]; then
  echo "Configuration from $TARGET_CONF"
else
  echo "No config found, please create one at $TARGET_CONF"
  echo "See $SNAP/etcd.conf.yml.sample for an example."
  exit 0
fi

case "$(uname -m)" in
  aarch64) export ETCD_UNSUPPORTED_ARCH=arm64 ;;
  s390x) export ETCD_UNSUPPORTED_ARCH=s390x ;;
  *) export ETCD_UNSUPPORTED_ARCH= ;;
esac

exec "$SNAP/bin/etcd" --config-file "$TARGET_CONF" "$@"
"""

ETCD_SAMPLE_CONFIG = """\
# A sample etcd configuration for the etcd snap: copy it to
# /var/snap/etcd/common/etcd.conf.yml and adapt it (see 'etcd --help').

# Human-readable name for this member.
name: 'default'

# Path to the data directory (empty: <name>.etcd in the working directory, $SNAP_DATA).
data-dir:

# Time (in milliseconds) of a heartbeat interval, and for an election to time out.
heartbeat-interval: 100
election-timeout: 1000

# Comma separated URLs to listen on for peer and client traffic.
listen-peer-urls: http://localhost:2380
listen-client-urls: http://localhost:2379

# This member's URLs to advertise to the rest of the cluster and to clients.
initial-advertise-peer-urls: http://localhost:2380
advertise-client-urls: http://localhost:2379

# Initial cluster configuration for bootstrapping.
initial-cluster: 'default=http://localhost:2380'
initial-cluster-token: 'etcd-cluster'
initial-cluster-state: 'new'
"""


def etcd_snap_yaml(version: str) -> dict[str, Any]:
    """The ``meta/snap.yaml`` of the etcd snap (names as in the real etcd snap)."""
    return {
        "name": "etcd",
        "version": version,
        "summary": ETCD_SUMMARY,
        "description": ETCD_DESCRIPTION,
        "architectures": [host_architecture()],
        "base": "core18",
        "confinement": "strict",
        "grade": "stable",
        "apps": {
            "etcd": {
                "command": "bin/snap-wrap.sh",
                "daemon": "simple",
                "restart-condition": "on-failure",
                "plugs": ["network-bind", "removable-media"],
            },
            "etcdctl": {"command": "bin/etcdctl", "plugs": ["home", "network-bind"]},
        },
    }


@dataclass(frozen=True)
class BaseSnap:
    """A base snap of the store: only ``meta/snap.yaml`` (nothing runs from it locally)."""

    name: str
    type: str  # "base" (core18) or "os" (core)
    version: str
    revision: int
    summary: str
    description: str

    @property
    def file(self) -> str:
        return f"{self.name}_{self.revision}.snap"

    def snap_yaml(self) -> dict[str, Any]:
        """As the real snaps declare it (no ``base:``; type base or os)."""
        return {
            "name": self.name,
            "version": self.version,
            "summary": self.summary,
            "description": self.description,
            "architectures": [host_architecture()],
            "confinement": "strict",
            "grade": "stable",
            "type": self.type,
        }


#: the etcd snap's base, and the old ``core`` that layer-etcd installs (``snap install core``);
#: versions and revisions are those of a real pair published together (early 2024)
BASE_SNAPS: tuple[BaseSnap, ...] = (
    BaseSnap(
        "core18",
        "base",
        "20231027",
        2812,
        "Runtime environment based on Ubuntu 18.04",
        "The base snap based on the Ubuntu 18.04 release.",
    ),
    BaseSnap(
        "core",
        "os",
        "16-2.61.2",
        16928,
        "snapd runtime environment",
        "The core runtime environment for snapd",
    ),
)
#: a fixed mtime for the base snaps' members (2023-10-27), so their files are reproducible
BASE_SNAP_MTIME = 1698364800


def host_architecture() -> str:
    machine = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf"}.get(machine, machine)


# ---------------------------------------------------------------------------------------------
# Channels


@dataclass(frozen=True)
class Channel:
    track: str
    risk: str

    @property
    def full(self) -> str:
        return f"{self.track}/{self.risk}"

    @property
    def short(self) -> str:
        """As snapd shows it: ``latest/`` is dropped."""
        return self.risk if self.track == "latest" else self.full

    def __str__(self) -> str:
        return self.full


def parse_channel(text: str | None) -> Channel:
    """``""`` -> latest/stable, ``edge`` -> latest/edge, ``3.4`` -> 3.4/stable, ``3.4/beta``.

    Raises :class:`StoreError` for a malformed channel (e.g. with a branch or empty parts).
    """
    text = (text or "").strip()
    if not text:
        return Channel("latest", "stable")
    parts = text.split("/")
    if len(parts) == 1:
        if parts[0] in RISKS:
            return Channel("latest", parts[0])
        return Channel(parts[0], "stable")
    if len(parts) == 2 and parts[0] and parts[1] in RISKS:
        return Channel(parts[0], parts[1])
    if len(parts) == 2 and parts[0] in RISKS and parts[1]:
        raise StoreError(f"channel {text!r}: branches are not published in the local store")
    if len(parts) == 3 and parts[0] and parts[1] in RISKS:
        raise StoreError(f"channel {text!r}: branches are not published in the local store")
    raise StoreError(f"invalid channel name {text!r}")


# ---------------------------------------------------------------------------------------------
# Reading a store


@dataclass(frozen=True)
class ChannelEntry:
    channel: str  # "" for a revision the store holds but has not released
    revision: int
    version: str
    file: str
    sha256: str
    size: int
    released_at: str


@dataclass
class StoreSnap:
    name: str
    meta: dict[str, Any]
    tracks: list[str]
    channels: dict[str, ChannelEntry] = field(default_factory=dict)
    revisions: dict[int, ChannelEntry] = field(default_factory=dict)

    def publisher(self) -> dict[str, str]:
        return dict(self.meta.get("publisher") or {})

    @property
    def type(self) -> str:
        return str(self.meta.get("type") or "app")


@dataclass
class Store:
    path: str
    snaps: dict[str, StoreSnap]

    def snap(self, name: str) -> StoreSnap | None:
        return self.snaps.get(name)

    def file_path(self, entry: ChannelEntry) -> str:
        return os.path.join(self.path, "snaps", entry.file)


def _entry(channel: str, e: dict[str, Any]) -> ChannelEntry:
    return ChannelEntry(
        channel=channel,
        revision=int(e["revision"]),
        version=str(e["version"]),
        file=str(e["file"]),
        sha256=str(e["sha256"]),
        size=int(e.get("size", 0)),
        released_at=str(e.get("released-at", "")),
    )


def load_store(path: str) -> Store:
    """Read ``<path>/index.json``. A missing store reads as an empty one."""
    index_path = os.path.join(path, "index.json")
    try:
        with open(index_path, encoding="utf-8") as f:
            index = json.load(f)
    except FileNotFoundError:
        return Store(path, {})
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read the snap store index {index_path}: {e}") from e
    if index.get("format") != INDEX_FORMAT:
        raise StoreError(f"{index_path}: unsupported store format {index.get('format')!r}")
    snaps: dict[str, StoreSnap] = {}
    for name, data in (index.get("snaps") or {}).items():
        meta = {
            k: v
            for k, v in data.items()
            if k not in ("channels", "tracks", "sources", "revisions")
        }
        entries = {ch: _entry(ch, e) for ch, e in (data.get("channels") or {}).items()}
        revisions = {int(r): _entry("", e) for r, e in (data.get("revisions") or {}).items()}
        for ce in entries.values():
            revisions.setdefault(ce.revision, dataclasses.replace(ce, channel=""))
        snaps[name] = StoreSnap(name, meta, list(data.get("tracks") or []), entries, revisions)
    return Store(path, snaps)


# ---------------------------------------------------------------------------------------------
# A model's view of the store: the channel map overlay
#
# The store is shared by every model and never changes while models run. What a model's
# machines see is the store with the model's overlay applied: ``<dir>/overlay.json``, where
# ``<dir>`` is the model's ``store/`` directory, bound read-only into each machine at
# /var/lib/localjuju/store-overlay and written only by the model's controller::
#
#     {"format": 1,
#      "reachable": true,                        # false: the store cannot be reached
#      "auto-refresh": 0,                        # seconds between snapd's refresh checks, 0 off
#      "snaps": {"etcd": {"channels": {"3.5/stable": 530, "3.5/edge": null},
#                         "removed-tracks": ["3.4"]}}}
#
# ``channels`` releases a revision the store holds into a channel (or closes it: null);
# ``removed-tracks`` hides whole tracks. ``<dir>/auto-refresh`` repeats ``auto-refresh`` as a
# bare number for the machine's snapd.service loop (a shell script).

OVERLAY_FORMAT = 1
OVERLAY_FILE = "overlay.json"
AUTO_REFRESH_FILE = "auto-refresh"
#: the host a machine's snap would reach the store at: the local store's own name (snapd
#: names its configured store's API host in its network errors)
STORE_API_HOST = "snap-store.localjuju"


class StoreUnreachable(StoreError):
    """The model's store cannot be reached (``localjuju-snap-store-reachable=false``)."""

    def url_error(self, method: str, path: str) -> str:
        """snapd's error for a request that failed to resolve the store's host: Go's
        ``*url.Error`` around the resolver's error, wrapped by httputil.RetryRequest as a
        ``PersistentNetworkError`` (httputil/retry.go) when DNS is unavailable."""
        host = STORE_API_HOST
        op = method[:1].upper() + method[1:].lower()  # Go's urlErrorOp: "Post", "Get"
        return (
            f'persistent network error: {op} "https://{host}/{path}": dial tcp: '
            f"lookup {host}: Temporary failure in name resolution"
        )


@dataclass
class Overlay:
    reachable: bool = True
    auto_refresh: int = 0
    snaps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": OVERLAY_FORMAT,
            "reachable": self.reachable,
            "auto-refresh": self.auto_refresh,
            "snaps": self.snaps,
        }


def load_overlay(directory: str | None) -> Overlay:
    """The overlay in ``directory`` (none, or no directory: the store as it is)."""
    if not directory:
        return Overlay()
    path = os.path.join(directory, OVERLAY_FILE)
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        return Overlay()
    except (OSError, ValueError) as e:
        raise StoreError(f"cannot read the store overlay {path}: {e}") from e
    if data.get("format") != OVERLAY_FORMAT:
        raise StoreError(f"{path}: unsupported overlay format {data.get('format')!r}")
    return Overlay(
        reachable=bool(data.get("reachable", True)),
        auto_refresh=int(data.get("auto-refresh") or 0),
        snaps=dict(data.get("snaps") or {}),
    )


def save_overlay(directory: str, overlay: Overlay) -> None:
    """Write the overlay atomically (machines read it at any time)."""
    os.makedirs(directory, exist_ok=True)
    for name, text in (
        (OVERLAY_FILE, json.dumps(overlay.to_json(), indent=1, sort_keys=True) + "\n"),
        (AUTO_REFRESH_FILE, f"{overlay.auto_refresh}\n"),
    ):
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, os.path.join(directory, name))


def apply_overlay(store: Store, overlay: Overlay) -> Store:
    """The store as the model sees it (a new :class:`Store`; ``store`` is not changed)."""
    snaps = dict(store.snaps)
    for name, o in overlay.snaps.items():
        base = store.snaps.get(name)
        if base is None:
            continue
        removed = set(o.get("removed-tracks") or [])
        channels = dict(base.channels)
        tracks = list(base.tracks)
        for ch, rev in (o.get("channels") or {}).items():
            if rev is None:
                channels.pop(ch, None)
                continue
            entry = base.revisions.get(int(rev))
            if entry is None:
                continue  # a revision this store does not hold (another store's overlay)
            channels[ch] = dataclasses.replace(entry, channel=ch)
            track = ch.split("/")[0]
            if track not in tracks:
                tracks.append(track)
        channels = {c: e for c, e in channels.items() if c.split("/")[0] not in removed}
        tracks = [t for t in tracks if t not in removed]
        snaps[name] = StoreSnap(name, base.meta, tracks, channels, base.revisions)
    return Store(store.path, snaps)


def open_store(path: str, overlay_dir: str | None) -> Store:
    """The store a machine reads: ``path`` with the overlay of ``overlay_dir`` applied.

    Raises :class:`StoreUnreachable` when the overlay says the store cannot be reached: every
    store operation of a machine's ``snap`` goes through here."""
    overlay = load_overlay(overlay_dir)
    if not overlay.reachable:
        raise StoreUnreachable("the snap store is unreachable")
    return apply_overlay(load_store(path), overlay)


def _overlay_snap(store: Store, overlay: Overlay, name: str) -> tuple[StoreSnap, dict]:
    snap = store.snap(name)
    if snap is None:
        raise StoreError(f'snap "{name}" is not in the store {store.path}')
    return snap, overlay.snaps.setdefault(name, {})


def overlay_release(
    store: Store, overlay: Overlay, name: str, revision: int, channels: Iterable[str]
) -> list[str]:
    """Release ``revision`` of ``name`` into ``channels`` (as ``snapcraft release``)."""
    snap, o = _overlay_snap(store, overlay, name)
    if revision not in snap.revisions:
        held = ", ".join(str(r) for r in sorted(snap.revisions))
        raise StoreError(f'snap "{name}" has no revision {revision} (the store holds {held})')
    done = []
    for text in channels:
        ch = parse_channel(text)
        chans = o.setdefault("channels", {})
        removed = o.get("removed-tracks") or []
        if ch.track in removed:  # a new track: none of the store's channels of it come back
            removed.remove(ch.track)
            for c in snap.channels:
                if c.split("/")[0] == ch.track:
                    chans.setdefault(c, None)
        chans[ch.full] = revision
        done.append(ch.full)
    if not done:
        raise StoreError("name at least one channel to release into")
    return done


def overlay_close(store: Store, overlay: Overlay, name: str, channels: Iterable[str]) -> list[str]:
    """Close channels (as ``snapcraft close``): nothing is published there any more."""
    _, o = _overlay_snap(store, overlay, name)
    done = []
    for text in channels:
        ch = parse_channel(text)
        o.setdefault("channels", {})[ch.full] = None
        done.append(ch.full)
    return done


def overlay_remove_track(store: Store, overlay: Overlay, name: str, track: str) -> None:
    """Make the model's store offer no ``track`` at all for ``name``."""
    snap, o = _overlay_snap(store, overlay, name)
    if track not in snap.tracks and track not in {
        c.split("/")[0] for c in (o.get("channels") or {})
    }:
        raise StoreError(f'snap "{name}" has no track {track!r}')
    removed = o.setdefault("removed-tracks", [])
    if track not in removed:
        removed.append(track)
    o["channels"] = {
        c: r for c, r in (o.get("channels") or {}).items() if c.split("/")[0] != track
    }


def file_digest(path: str, algorithm: str) -> str:
    """The hex digest of a file's content (read in 1 MiB chunks)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_file(path: str) -> str:
    return file_digest(path, "sha256")


# ---------------------------------------------------------------------------------------------
# The .snap format


def read_snap_yaml(snap_file: str) -> dict[str, Any]:
    """The ``meta/snap.yaml`` of a local ``.snap`` file."""
    try:
        with tarfile.open(snap_file, "r:*") as tar:
            try:
                member = tar.getmember("meta/snap.yaml")
            except KeyError:
                raise StoreError(f"{snap_file}: not a snap (no meta/snap.yaml)") from None
            f = tar.extractfile(member)
            if f is None:
                raise StoreError(f"{snap_file}: meta/snap.yaml is not a file")
            data = yaml.safe_load(f.read())
    except (OSError, tarfile.TarError) as e:
        raise StoreError(f"cannot read snap file {snap_file}: {e}") from e
    except yaml.YAMLError as e:
        raise StoreError(f"{snap_file}: invalid meta/snap.yaml: {e}") from e
    if not isinstance(data, dict) or not data.get("name") or not data.get("version"):
        raise StoreError(f"{snap_file}: meta/snap.yaml needs a name and a version")
    return data


def extract_snap(snap_file: str, dest: str) -> None:
    """Unpack ``snap_file`` into the new directory ``dest`` (refusing unsafe members)."""
    try:
        with tarfile.open(snap_file, "r:*") as tar:
            members = tar.getmembers()
            for m in members:
                norm = os.path.normpath(m.name)
                if norm.startswith(("/", "..")) or m.isdev():
                    raise StoreError(f"{snap_file}: unsafe member {m.name!r}")
                if m.issym() or m.islnk():
                    target = os.path.normpath(os.path.join(os.path.dirname(norm), m.linkname))
                    if m.linkname.startswith("/") or target.startswith(".."):
                        raise StoreError(f"{snap_file}: link {m.name!r} leaves the snap")
            os.makedirs(dest)
            tar.extractall(dest, members=members, numeric_owner=True)
    except (OSError, tarfile.TarError) as e:
        raise StoreError(f"cannot unpack snap file {snap_file}: {e}") from e


def build_snap_file(
    out: str, snap_yaml: dict[str, Any], files: dict[str, str | bytes], mtime: int
) -> None:
    """Write a ``.snap`` (deterministic gzip'd tar) with ``meta/snap.yaml`` and ``files``.

    ``files`` maps a path inside the snap to a source file path (copied with its mode) or to
    bytes (written executable if they start with ``#!``).
    """
    entries: list[tuple[str, bytes | str, int]] = [
        ("meta/snap.yaml", yaml.safe_dump(snap_yaml, sort_keys=False).encode(), 0o644)
    ]
    for arcname, src in files.items():
        if isinstance(src, bytes):
            entries.append((arcname, src, 0o755 if src.startswith(b"#!") else 0o644))
        else:
            entries.append((arcname, src, os.stat(src).st_mode & 0o777))
    dirs: set[str] = set()
    for arcname, _, _ in entries:
        d = os.path.dirname(arcname)
        while d:
            dirs.add(d)
            d = os.path.dirname(d)
    tmp = out + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=mtime) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                for d in sorted(dirs):
                    info = tarfile.TarInfo(d)
                    info.type = tarfile.DIRTYPE
                    info.mode, info.mtime = 0o755, mtime
                    tar.addfile(info)
                for arcname, src, mode in sorted(entries, key=lambda e: e[0]):
                    info = tarfile.TarInfo(arcname)
                    info.mode, info.mtime = mode, mtime
                    if isinstance(src, bytes):
                        info.size = len(src)
                        tar.addfile(info, io.BytesIO(src))
                    else:
                        info.size = os.stat(src).st_size
                        with open(src, "rb") as f:
                            tar.addfile(info, f)
    os.replace(tmp, out)


# ---------------------------------------------------------------------------------------------
# Building the store


def _released_at(path: str) -> str:
    ts = int(os.stat(path).st_mtime)
    return _dt.datetime.fromtimestamp(ts, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _write_index(store: str, index: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(dir=store, prefix=".index.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2, sort_keys=False)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, os.path.join(store, "index.json"))


def _up_to_date(
    same_builder: bool, old: dict[str, Any], file_name: str, path: str, sources: Any
) -> dict[str, Any] | None:
    """The old index's entry for ``file_name`` when the file need not be rebuilt."""
    prior = next(
        (e for e in (old.get("revisions") or {}).values() if e.get("file") == file_name),
        None,
    ) or next(
        (e for e in (old.get("channels") or {}).values() if e.get("file") == file_name), None
    )
    if (
        same_builder
        and prior is not None
        and (old.get("sources") or {}).get(file_name) == sources
        and os.path.exists(path)
        and os.path.getsize(path) == prior.get("size")
    ):
        return prior
    return None


def build_etcd_store(cache: str, store: str, releases: Iterable[Release] = ETCD_RELEASES) -> bool:
    """Build (or verify) the store at ``store``: the etcd snaps from
    ``<cache>/<version>/{etcd,etcdctl}`` and the base snaps :data:`BASE_SNAPS`.

    An optional release whose binaries are missing is left out. Returns True when something
    was (re)built, False when the store was already up to date.
    """
    releases = tuple(releases)
    os.makedirs(os.path.join(store, "snaps"), exist_ok=True)
    index_path = os.path.join(store, "index.json")
    try:
        with open(index_path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    old_snaps = old.get("snaps") or {}
    same_builder = old.get("format") == INDEX_FORMAT and old.get("builder") == BUILDER_VERSION
    changed = not same_builder
    index_snaps: dict[str, Any] = {}

    # etcd
    old_etcd = old_snaps.get("etcd") or {}
    channels: dict[str, dict[str, Any]] = {}
    revisions: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    for rel in releases:
        bins = {b: os.path.join(cache, rel.version, b) for b in ("etcd", "etcdctl")}
        missing = [b for b, p in bins.items() if not os.access(p, os.X_OK)]
        if missing and rel.optional:
            continue
        for b in missing:
            raise StoreError(
                f"missing {b} {rel.version} binary {bins[b]} (run scripts/fetch-etcd)"
            )
        file_name = f"etcd_{rel.revision}.snap"
        snap_path = os.path.join(store, "snaps", file_name)
        src_sums = {b: sha256_file(p) for b, p in bins.items()}
        prior = _up_to_date(same_builder, old_etcd, file_name, snap_path, src_sums)
        if prior is None:
            build_snap_file(
                snap_path,
                etcd_snap_yaml(rel.version),
                {
                    "bin/etcd": bins["etcd"],
                    "bin/etcdctl": bins["etcdctl"],
                    "bin/snap-wrap.sh": ETCD_WRAPPER.encode(),
                    "etcd.conf.yml.sample": ETCD_SAMPLE_CONFIG.encode(),
                },
                mtime=int(os.stat(bins["etcd"]).st_mtime),
            )
            changed = True
        entry = {
            "revision": rel.revision,
            "version": rel.version,
            "file": file_name,
            "sha256": sha256_file(snap_path) if prior is None else prior["sha256"],
            "size": os.path.getsize(snap_path),
            "released-at": _released_at(bins["etcd"]),
        }
        for ch in rel.channels:
            channels[ch] = entry
        revisions[str(rel.revision)] = entry
        sources[file_name] = src_sums
    if set(channels) != set(old_etcd.get("channels") or {}):
        changed = True
    if set(revisions) != set(old_etcd.get("revisions") or {}):
        changed = True
    index_snaps["etcd"] = {
        **ETCD_META,
        "tracks": list(ETCD_TRACKS),
        "channels": channels,
        "revisions": revisions,
        "sources": sources,
    }

    # the base snaps
    for base in BASE_SNAPS:
        path = os.path.join(store, "snaps", base.file)
        old_base = old_snaps.get(base.name) or {}
        prior = _up_to_date(same_builder, old_base, base.file, path, {})
        if prior is None:
            build_snap_file(path, base.snap_yaml(), {}, mtime=BASE_SNAP_MTIME)
            changed = True
        entry = {
            "revision": base.revision,
            "version": base.version,
            "file": base.file,
            "sha256": sha256_file(path) if prior is None else prior["sha256"],
            "size": os.path.getsize(path),
            "released-at": _dt.datetime.fromtimestamp(BASE_SNAP_MTIME, _dt.timezone.utc).strftime(
                "%Y-%m-%dT%H:%M:%S+00:00"
            ),
        }
        index_snaps[base.name] = {
            "snap-id": f"localjuju-{base.name}-{base.revision:016d}",
            "type": base.type,
            "summary": base.summary,
            "description": base.description + "\n",
            "license": "unset",
            "contact": "",
            "publisher": dict(ETCD_META["publisher"]),
            "tracks": ["latest"],
            "channels": {"latest/stable": entry},
            "revisions": {str(base.revision): entry},
            "sources": {base.file: {}},
        }
        if base.name not in old_snaps:
            changed = True

    if not changed:
        return False
    _write_index(store, {"format": INDEX_FORMAT, "builder": BUILDER_VERSION, "snaps": index_snaps})
    keep = {e["file"] for snap in index_snaps.values() for e in snap["revisions"].values()}
    for name in os.listdir(os.path.join(store, "snaps")):
        if name.endswith(".snap") and name not in keep:
            os.unlink(os.path.join(store, "snaps", name))
    return True


def base_snap_path(store: str, name: str) -> str:
    """The file of a base snap in the store (``core18_<rev>.snap``), e.g. for a test to attach
    it as a charm resource or install it with ``snap install --dangerous``."""
    for base in BASE_SNAPS:
        if base.name == name:
            return os.path.join(store, "snaps", base.file)
    raise StoreError(f"no base snap {name!r} in the store (there are: core18, core)")


def verify_store(store: str) -> list[str]:
    """Problems with the store's files (missing, size or sha256 mismatch); empty when sound."""
    problems = []
    st = load_store(store)
    if not st.snaps:
        return [f"{store}: no index.json or no snaps"]
    for snap in st.snaps.values():
        for entry in snap.revisions.values():
            path = st.file_path(entry)
            what = f"{snap.name} revision {entry.revision}"
            if not os.path.exists(path):
                problems.append(f"{what}: missing {path}")
            elif os.path.getsize(path) != entry.size:
                problems.append(f"{what}: size mismatch for {path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localjuju.store")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build or verify the store (etcd and the base snaps)")
    b.add_argument("--cache", required=True, help="directory with <version>/{etcd,etcdctl}")
    b.add_argument("--store", required=True)
    s = sub.add_parser("show", help="print the store's channels and revisions")
    s.add_argument("--store", required=True)
    s.add_argument("--overlay", help="a model's store overlay directory to apply")
    r = sub.add_parser("release", help="release a revision into channels of an overlay")
    c = sub.add_parser("close", help="close channels in an overlay")
    t = sub.add_parser("remove-track", help="hide a track in an overlay")
    for p in (r, c, t):
        p.add_argument("--store", required=True)
        p.add_argument("--overlay", required=True, help="the overlay directory to edit")
        p.add_argument("snap")
    r.add_argument("revision", type=int)
    for p in (r, c):
        p.add_argument("channels", nargs="+")
    t.add_argument("track")
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            built = build_etcd_store(args.cache, args.store)
            problems = verify_store(args.store)
            if problems:
                for problem in problems:
                    print(f"store: error: {problem}", file=sys.stderr)
                return 1
            print(f"store: {'built' if built else 'up to date'}: {args.store}")
        elif args.cmd == "show":
            st = apply_overlay(load_store(args.store), load_overlay(args.overlay))
            for snap in st.snaps.values():
                for ch, e in snap.channels.items():
                    print(f"{snap.name}\t{ch}\t{e.version}\t{e.revision}\t{e.file}")
                released = {e.revision for e in snap.channels.values()}
                for rev, e in sorted(snap.revisions.items()):
                    if rev not in released:
                        print(f"{snap.name}\t-\t{e.version}\t{e.revision}\t{e.file}")
        else:
            st = load_store(args.store)
            overlay = load_overlay(args.overlay)
            if args.cmd == "release":
                overlay_release(st, overlay, args.snap, args.revision, args.channels)
            elif args.cmd == "close":
                overlay_close(st, overlay, args.snap, args.channels)
            else:
                overlay_remove_track(st, overlay, args.snap, args.track)
            save_overlay(args.overlay, overlay)
    except StoreError as e:
        print(f"store: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
    "BASE_SNAPS",
    "BaseSnap",
    "Overlay",
    "StoreUnreachable",
    "apply_overlay",
    "base_snap_path",
    "load_overlay",
    "open_store",
    "overlay_close",
    "overlay_release",
    "overlay_remove_track",
    "save_overlay",
    "Channel",
    "ChannelEntry",
    "ETCD_RELEASES",
    "Release",
    "Store",
    "StoreError",
    "StoreSnap",
    "build_etcd_store",
    "build_snap_file",
    "extract_snap",
    "load_store",
    "parse_channel",
    "read_snap_yaml",
    "verify_store",
]
