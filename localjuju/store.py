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
          "sources": {"<file>": {"<binary>": "<sha256 of the binary it was built from>"}}
        }
      }
    }

A ``.snap`` file here is a gzip-compressed tar archive whose root holds ``meta/snap.yaml``
(name, version, summary, description, confinement, grade, apps) and the snap's files.
Squashfs snaps are not used by the local model.
"""

from __future__ import annotations

import argparse
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
BUILDER_VERSION = 1
RISKS = ("stable", "candidate", "beta", "edge")


class StoreError(Exception):
    """A problem with the store or a snap file, with a message for the operator."""


# ---------------------------------------------------------------------------------------------
# What the store publishes


@dataclass(frozen=True)
class Release:
    """One etcd release of the store: a version, its fixed revision and its channels."""

    version: str
    revision: int
    channels: tuple[str, ...]


# Revisions are fixed so that stores built on different hosts agree (100 * minor + patch).
ETCD_RELEASES: tuple[Release, ...] = (
    Release("3.4.23", 423, ("3.4/stable",)),
    Release("3.5.16", 516, ("3.5/stable", "latest/stable")),
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
    channel: str
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

    def publisher(self) -> dict[str, str]:
        return dict(self.meta.get("publisher") or {})


@dataclass
class Store:
    path: str
    snaps: dict[str, StoreSnap]

    def snap(self, name: str) -> StoreSnap | None:
        return self.snaps.get(name)

    def file_path(self, entry: ChannelEntry) -> str:
        return os.path.join(self.path, "snaps", entry.file)


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
        meta = {k: v for k, v in data.items() if k not in ("channels", "tracks", "sources")}
        entries = {
            ch: ChannelEntry(
                channel=ch,
                revision=int(e["revision"]),
                version=str(e["version"]),
                file=str(e["file"]),
                sha256=str(e["sha256"]),
                size=int(e.get("size", 0)),
                released_at=str(e.get("released-at", "")),
            )
            for ch, e in (data.get("channels") or {}).items()
        }
        snaps[name] = StoreSnap(name, meta, list(data.get("tracks") or []), entries)
    return Store(path, snaps)


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


def build_etcd_store(cache: str, store: str, releases: Iterable[Release] = ETCD_RELEASES) -> bool:
    """Build (or verify) the store at ``store`` from ``<cache>/<version>/{etcd,etcdctl}``.

    Returns True when something was (re)built, False when the store was already up to date.
    """
    releases = tuple(releases)
    os.makedirs(os.path.join(store, "snaps"), exist_ok=True)
    index_path = os.path.join(store, "index.json")
    try:
        with open(index_path, encoding="utf-8") as f:
            old = json.load(f)
    except (OSError, ValueError):
        old = {}
    old_etcd = (old.get("snaps") or {}).get("etcd") or {}
    old_channels = old_etcd.get("channels") or {}
    old_sources = old_etcd.get("sources") or {}
    same_builder = old.get("format") == INDEX_FORMAT and old.get("builder") == BUILDER_VERSION

    channels: dict[str, dict[str, Any]] = {}
    sources: dict[str, dict[str, str]] = {}
    changed = not same_builder
    for rel in releases:
        bins = {b: os.path.join(cache, rel.version, b) for b in ("etcd", "etcdctl")}
        for b, p in bins.items():
            if not os.access(p, os.X_OK):
                raise StoreError(f"missing {b} {rel.version} binary {p} (run scripts/fetch-etcd)")
        file_name = f"etcd_{rel.revision}.snap"
        snap_path = os.path.join(store, "snaps", file_name)
        src_sums = {b: sha256_file(p) for b, p in bins.items()}
        prior = next((c for c in old_channels.values() if c.get("file") == file_name), None)
        up_to_date = (
            same_builder
            and prior is not None
            and old_sources.get(file_name) == src_sums
            and os.path.exists(snap_path)
            and os.path.getsize(snap_path) == prior.get("size")
        )
        if not up_to_date:
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
            "sha256": (
                sha256_file(snap_path) if not up_to_date or prior is None else prior["sha256"]
            ),
            "size": os.path.getsize(snap_path),
            "released-at": _released_at(bins["etcd"]),
        }
        for ch in rel.channels:
            channels[ch] = entry
        sources[file_name] = src_sums
    if set(channels) != set(old_channels):
        changed = True
    if not changed:
        return False
    index = {
        "format": INDEX_FORMAT,
        "builder": BUILDER_VERSION,
        "snaps": {
            "etcd": {
                **ETCD_META,
                "tracks": list(ETCD_TRACKS),
                "channels": channels,
                "sources": sources,
            }
        },
    }
    fd, tmp = tempfile.mkstemp(dir=store, prefix=".index.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(index, f, indent=2, sort_keys=False)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, index_path)
    keep = {e["file"] for e in channels.values()}
    for name in os.listdir(os.path.join(store, "snaps")):
        if name.endswith(".snap") and name not in keep:
            os.unlink(os.path.join(store, "snaps", name))
    return True


def verify_store(store: str) -> list[str]:
    """Problems with the store's files (missing, size or sha256 mismatch); empty when sound."""
    problems = []
    st = load_store(store)
    if not st.snaps:
        return [f"{store}: no index.json or no snaps"]
    for snap in st.snaps.values():
        for entry in snap.channels.values():
            path = st.file_path(entry)
            if not os.path.exists(path):
                problems.append(f"{snap.name} {entry.channel}: missing {path}")
            elif os.path.getsize(path) != entry.size:
                problems.append(f"{snap.name} {entry.channel}: size mismatch for {path}")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m localjuju.store")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build or verify the etcd snap store")
    b.add_argument("--cache", required=True, help="directory with <version>/{etcd,etcdctl}")
    b.add_argument("--store", required=True)
    s = sub.add_parser("show", help="print the store's channels")
    s.add_argument("--store", required=True)
    args = parser.parse_args(argv)
    try:
        if args.cmd == "build":
            built = build_etcd_store(args.cache, args.store)
            problems = verify_store(args.store)
            if problems:
                for p in problems:
                    print(f"store: error: {p}", file=sys.stderr)
                return 1
            print(f"store: {'built' if built else 'up to date'}: {args.store}")
        else:
            st = load_store(args.store)
            for snap in st.snaps.values():
                for ch, e in snap.channels.items():
                    print(f"{snap.name}\t{ch}\t{e.version}\t{e.revision}\t{e.file}")
    except StoreError as e:
        print(f"store: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())


__all__ = [
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
