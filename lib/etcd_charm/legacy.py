"""What an old revision of the etcd charm left on a unit when it installed etcd from the
distribution's package (revision 24 and earlier): etcd.service of the ``etcd`` package,
configured by ``/etc/default/etcd``, data under ``/var/lib/etcd/default``, certificates under
``/etc/ssl/etcd``. The ``snap-upgrade`` action migrates such a unit to the snap. Pure."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass

DEFAULTS = "/etc/default/etcd"
SERVICE = "etcd"
DATA_DIR = "/var/lib/etcd/default"
CERT_DIR = "/etc/ssl/etcd"
PACKAGES = ("etcd", "etcd-server", "etcd-client")
#: the package that ships the server (Debian and Ubuntu since 22.04; ``etcd`` before that)
SERVER_PACKAGES = ("etcd-server", "etcd")
ETCDCTL = "/usr/bin/etcdctl"
CLIENT_CERT = f"{CERT_DIR}/client.crt"
CLIENT_KEY = f"{CERT_DIR}/client.key"
#: what the old charm put in /etc/ssl/etcd (removed with the package once migrated)
CERT_FILES = tuple(
    f"{CERT_DIR}/{n}" for n in ("ca.crt", "server.crt", "server.key", "client.crt", "client.key")
)


def parse_defaults(text: str) -> dict[str, str]:
    """``KEY=value`` lines of a shell environment file (as systemd's EnvironmentFile reads
    them: comments, blank lines and quotes handled; no expansion)."""
    env: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        key = key.strip().removeprefix("export ").strip()
        if not key.isidentifier():
            continue
        try:
            words = shlex.split(value, comments=True)
        except ValueError:
            words = [value.strip()]
        env[key] = " ".join(words)
    return env


@dataclass(frozen=True)
class LegacyInstall:
    name: str  # the member name (the old charm: the unit name without "/")
    data_dir: str
    peer_urls: tuple[str, ...]
    client_urls: tuple[str, ...]
    token: str
    initial_cluster: str
    cert: str
    key: str
    ca: str
    version: str = ""  # the package's version (dpkg), e.g. 3.4.23-4+b1

    @property
    def client_url(self) -> str:
        """Where this member serves clients (its advertised URL; etcd.service's default)."""
        return self.client_urls[0] if self.client_urls else "http://127.0.0.1:2379"

    @classmethod
    def from_defaults(
        cls, env: dict[str, str], hostname: str = "", version: str = ""
    ) -> LegacyInstall:
        def urls(key: str) -> tuple[str, ...]:
            return tuple(u.strip() for u in env.get(key, "").split(",") if u.strip())

        return cls(
            # etcd.service's own defaults when the file does not set them
            name=env.get("ETCD_NAME", hostname),
            data_dir=env.get("ETCD_DATA_DIR", DATA_DIR),
            peer_urls=urls("ETCD_INITIAL_ADVERTISE_PEER_URLS"),
            client_urls=urls("ETCD_ADVERTISE_CLIENT_URLS"),
            token=env.get("ETCD_INITIAL_CLUSTER_TOKEN", ""),
            initial_cluster=env.get("ETCD_INITIAL_CLUSTER", ""),
            cert=env.get("ETCD_CERT_FILE", f"{CERT_DIR}/server.crt"),
            key=env.get("ETCD_KEY_FILE", f"{CERT_DIR}/server.key"),
            ca=env.get("ETCD_TRUSTED_CA_FILE", f"{CERT_DIR}/ca.crt"),
            version=version,
        )


def upstream_version(package_version: str) -> str:
    """etcd's own version in a Debian package version: ``3.4.23-4+b1`` -> ``3.4.23``,
    ``1:3.5.16-3`` -> ``3.5.16`` ("" when there is none)."""
    m = re.match(r"^(?:\d+:)?(\d+\.\d+\.\d+)", package_version.strip())
    return m.group(1) if m else ""


def snap_channel(package_version: str) -> str:
    """The snap channel holding the package's minor version: the migration keeps etcd's
    minor version (``3.4.23-4`` -> ``3.4/stable``); moving on is the channel option's job."""
    version = upstream_version(package_version)
    if not version:
        return ""
    major, minor, _ = version.split(".")
    return f"{major}.{minor}/stable"


def version_refusal(package_version: str, snap_version: str) -> str:
    """Why the snap's etcd cannot take over this package's data ("" when it can): the same
    minor version only; an older one cannot read the data and a newer one is an upgrade,
    which the channel option does one minor version at a time with a snapshot first."""
    old, new = upstream_version(package_version), upstream_version(snap_version)
    if not old or not new:
        return f"cannot compare etcd versions {package_version!r} and {snap_version!r}"
    if old.split(".")[:2] == new.split(".")[:2]:
        return ""
    return (
        f"the snap has etcd {new} and the package runs etcd {old}: the migration keeps the "
        f"minor version (use a {snap_channel(package_version)} snap), upgrade afterwards "
        "with the channel option"
    )


def migration_refusal(legacy: LegacyInstall, member_name: str, peer_url: str) -> str:
    """Why this unit's package install cannot be taken over as it is ("" when it can): the
    snap's member keeps the member's name and peer URL, so they must be the charm's."""
    if not legacy.peer_urls or not legacy.initial_cluster:
        return (
            f"{DEFAULTS} does not configure a cluster member (no "
            "ETCD_INITIAL_ADVERTISE_PEER_URLS / ETCD_INITIAL_CLUSTER): this is not the etcd "
            "charm's package install"
        )
    if legacy.name != member_name:
        return (
            f"the running member is named {legacy.name!r} and this unit's member is "
            f"{member_name!r}"
        )
    if peer_url not in legacy.peer_urls:
        return (
            f"the running member's peer URL is {', '.join(legacy.peer_urls)} and this unit's "
            f"is {peer_url} (the cluster binding's address changed?)"
        )
    return ""
