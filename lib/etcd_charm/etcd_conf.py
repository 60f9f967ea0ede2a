"""The content of etcd.conf.yml as a function of settings, identity and membership. Pure."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from .settings import INSECURE_HTTP_PORT, Settings, version_tuple

CONF_DIR = "/var/snap/etcd/common"
CONF_PATH = f"{CONF_DIR}/etcd.conf.yml"
DATA_DIR = "/var/snap/etcd/current"
CA_PATH = f"{CONF_DIR}/ca.crt"
SERVER_CERT_PATH = f"{CONF_DIR}/server.crt"
SERVER_KEY_PATH = f"{CONF_DIR}/server.key"
CLIENT_CERT_PATH = f"{CONF_DIR}/client.crt"
CLIENT_KEY_PATH = f"{CONF_DIR}/client.key"
CERT_FILES = (CA_PATH, SERVER_CERT_PATH, SERVER_KEY_PATH, CLIENT_CERT_PATH, CLIENT_KEY_PATH)


def build_uri(scheme: str, address: str, port: int) -> str:
    """``https://10.0.0.1:2379``; IPv6 addresses are bracketed."""
    if ":" in address and not address.startswith("["):
        address = f"[{address}]"
    return f"{scheme}://{address}:{port}"


def member_name(unit_name: str) -> str:
    """etcd member name of a unit, as the layer-etcd charm names them: ``etcd/0`` -> ``etcd0``."""
    return unit_name.replace("/", "")


@dataclass(frozen=True)
class Identity:
    """Who this unit is on the network."""

    unit_name: str
    cluster_address: str  # ingress address on the peer relation
    db_address: str  # ingress address on the db relation
    cluster_bind_address: str
    db_bind_address: str

    @property
    def name(self) -> str:
        return member_name(self.unit_name)

    def peer_url(self, settings: Settings) -> str:
        return build_uri("https", self.cluster_address, settings.management_port)

    def client_url(self, settings: Settings) -> str:
        return build_uri("https", self.db_address, settings.client_port)


@dataclass(frozen=True)
class Bootstrap:
    """How this member first started: fixed once it has started (initial-* are read only then)."""

    initial_cluster: str
    token: str
    state: str  # "new" or "existing"


def conf_context(
    settings: Settings,
    identity: Identity,
    bootstrap: Bootstrap,
    version: str | None,
    data_dir: str = DATA_DIR,
) -> dict[str, Any]:
    if settings.bind_to_all_interfaces:
        peer_bind = client_bind = "0.0.0.0"
    else:
        peer_bind, client_bind = identity.cluster_bind_address, identity.db_bind_address
    listen_client = [build_uri("https", client_bind, settings.client_port)]
    if client_bind != "0.0.0.0":
        listen_client.append(build_uri("https", "127.0.0.1", settings.client_port))
    if settings.bind_with_insecure_http:
        listen_client.append(build_uri("http", "127.0.0.1", INSECURE_HTTP_PORT))
    listen_metrics = []
    if settings.metrics_port:
        listen_metrics = [build_uri("http", client_bind, settings.metrics_port)]
        if client_bind != "0.0.0.0":
            listen_metrics.append(build_uri("http", "127.0.0.1", settings.metrics_port))
    supports_min_version = bool(version) and version_tuple(version or "") >= (3, 5)
    return {
        "name": identity.name,
        "data_dir": data_dir,
        "snapshot_count": settings.effective_snapshot_count(version),
        "heartbeat_interval": settings.heartbeat_interval,
        "election_timeout": settings.election_timeout,
        "listen_peer_urls": [build_uri("https", peer_bind, settings.management_port)],
        "listen_client_urls": listen_client,
        "advertise_peer_urls": [identity.peer_url(settings)],
        "advertise_client_urls": [identity.client_url(settings)],
        "initial_cluster": bootstrap.initial_cluster,
        "token": bootstrap.token,
        "cluster_state": bootstrap.state,
        "server_certificate": SERVER_CERT_PATH,
        "server_key": SERVER_KEY_PATH,
        "ca_certificate": CA_PATH,
        "cipher_suites": list(settings.effective_cipher_suites()),
        "tls_min_version": "TLS1.2" if supports_min_version else "",
        "listen_metrics_urls": listen_metrics,
    }


def data_dir_of(conf_text: str) -> str:
    """The data directory an etcd.conf.yml names (the default when it names none)."""
    import yaml

    try:
        conf = yaml.safe_load(conf_text) or {}
    except yaml.YAMLError:
        conf = {}
    return str(conf.get("data-dir") or DATA_DIR) if isinstance(conf, dict) else DATA_DIR


FORCE_OFF = "\nforce-new-cluster: false\n"


def forcing_new_cluster(text: str) -> str:
    """The config for one start with ``force-new-cluster``: etcd rewrites the membership in
    its data to this member alone, keeping the cluster id, the member id and every key."""
    if FORCE_OFF not in text:
        raise ValueError("the etcd config has no force-new-cluster: false line")
    return text.replace(FORCE_OFF, "\nforce-new-cluster: true\n")


def render(template_text: str, context: dict[str, Any]) -> str:
    import jinja2  # here: a hook that renders no config does not pay for importing it

    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    return env.from_string(template_text).render(**context)


def conf_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:16]
