"""What an old revision of the etcd charm left on a unit when it installed etcd from the
distribution's package (revision 24 and earlier): etcd.service of the ``etcd`` package,
configured by ``/etc/default/etcd``, data under ``/var/lib/etcd/default``, certificates under
``/etc/ssl/etcd``. The ``snap-upgrade`` action migrates such a unit to the snap. Pure."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

DEFAULTS = "/etc/default/etcd"
SERVICE = "etcd"
DATA_DIR = "/var/lib/etcd/default"
CERT_DIR = "/etc/ssl/etcd"
PACKAGES = ("etcd", "etcd-server", "etcd-client")


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

    @classmethod
    def from_defaults(cls, env: dict[str, str], hostname: str = "") -> LegacyInstall:
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
        )
