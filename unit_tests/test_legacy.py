"""Reading what the old charm's package install left: /etc/default/etcd as its template
rendered it (layer-etcd templates/defaults, for etcd/0 at 10.0.0.5 in a 3-unit cluster)."""

from __future__ import annotations

from etcd_charm.legacy import LegacyInstall, parse_defaults

OLD_CHARM_DEFAULTS = """\
# This file is rendered by Juju, manual edits will not be persisted
ETCD_DATA_DIR=/var/lib/etcd/default
ETCD_NAME=etcd0
ETCD_ADVERTISE_CLIENT_URLS="https://10.0.0.5:2379"
ETCD_LISTEN_CLIENT_URLS="http://127.0.0.1:4001,https://0.0.0.0:2379"
ETCD_LISTEN_PEER_URLS="https://0.0.0.0:2380"
ETCD_INITIAL_ADVERTISE_PEER_URLS="https://10.0.0.5:2380"

ETCD_INITIAL_CLUSTER="etcd0=https://10.0.0.5:2380,etcd1=https://10.0.0.6:2380"
ETCD_INITIAL_CLUSTER_STATE=existing
ETCD_INITIAL_CLUSTER_TOKEN=10.0.0.5

# SSL CONFIGURATION
ETCD_CERT_FILE=/etc/ssl/etcd/server.crt
ETCD_KEY_FILE=/etc/ssl/etcd/server.key
ETCD_TRUSTED_CA_FILE=/etc/ssl/etcd/ca.crt
ETCD_PEER_CERT_FILE=/etc/ssl/etcd/server.crt
ETCD_PEER_KEY_FILE=/etc/ssl/etcd/server.key
ETCD_PEER_TRUSTED_CA_FILE=/etc/ssl/etcd/ca.crt
# SSL Strict Mode
ETCD_PEER_CLIENT_CERT_AUTH=true
ETCD_CLIENT_CERT_AUTH=true
"""


def test_old_charm_defaults() -> None:
    env = parse_defaults(OLD_CHARM_DEFAULTS)
    assert env["ETCD_LISTEN_CLIENT_URLS"] == "http://127.0.0.1:4001,https://0.0.0.0:2379"
    assert env["ETCD_CLIENT_CERT_AUTH"] == "true"
    legacy = LegacyInstall.from_defaults(env)
    assert legacy.name == "etcd0"
    assert legacy.data_dir == "/var/lib/etcd/default"
    assert legacy.peer_urls == ("https://10.0.0.5:2380",)
    assert legacy.client_urls == ("https://10.0.0.5:2379",)
    assert legacy.token == "10.0.0.5"
    assert legacy.initial_cluster.startswith("etcd0=https://10.0.0.5:2380,")
    assert (legacy.cert, legacy.key, legacy.ca) == (
        "/etc/ssl/etcd/server.crt",
        "/etc/ssl/etcd/server.key",
        "/etc/ssl/etcd/ca.crt",
    )


def test_package_defaults_apply_when_unset() -> None:
    """The Debian package's own /etc/default/etcd sets nothing: etcd.service's defaults."""
    env = parse_defaults('## etcd(1) daemon options\n# ETCD_NAME="hostname"\n\nDAEMON_ARGS=\n')
    legacy = LegacyInstall.from_defaults(env, hostname="juju-1")
    assert legacy.name == "juju-1" and legacy.data_dir == "/var/lib/etcd/default"
    assert legacy.peer_urls == () and legacy.token == ""


def test_odd_lines_are_skipped() -> None:
    env = parse_defaults("export A='x y'\nnot a line\n1BAD=2\nB=\"unterminated\nC=3 # note\n")
    assert env["A"] == "x y" and "1BAD" not in env and env["C"] == "3"
    assert env["B"] == '"unterminated'
