"""Reading what the old charm's package install left: /etc/default/etcd as its template
rendered it (layer-etcd templates/defaults, for etcd/0 at 10.0.0.5 in a 3-unit cluster)."""

from __future__ import annotations

import pytest

from etcd_charm.legacy import (
    LegacyInstall,
    migration_refusal,
    parse_defaults,
    snap_channel,
    upstream_version,
    version_refusal,
)

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


@pytest.mark.parametrize(
    "package, upstream, channel",
    [
        ("3.4.23-4+b1", "3.4.23", "3.4/stable"),
        ("3.4.23-4", "3.4.23", "3.4/stable"),
        ("3.2.26+dfsg-6ubuntu0.2", "3.2.26", "3.2/stable"),
        ("1:3.5.16-3", "3.5.16", "3.5/stable"),
        ("garbage", "", ""),
        ("", "", ""),
    ],
)
def test_versions_and_channel(package: str, upstream: str, channel: str) -> None:
    assert upstream_version(package) == upstream
    assert snap_channel(package) == channel


def test_version_refusal_keeps_the_minor_version() -> None:
    assert version_refusal("3.4.23-4+b1", "3.4.23") == ""
    assert version_refusal("3.4.23-4+b1", "3.4.30") == ""
    newer = version_refusal("3.4.23-4+b1", "3.5.16")
    assert "the snap has etcd 3.5.16 and the package runs etcd 3.4.23" in newer
    assert "use a 3.4/stable snap" in newer
    assert version_refusal("3.4.23-4", "3.3.27") != ""
    assert "cannot compare" in version_refusal("3.4.23-4", "")


def test_migration_refusal() -> None:
    legacy = LegacyInstall.from_defaults(parse_defaults(OLD_CHARM_DEFAULTS), version="3.4.23-4")
    assert migration_refusal(legacy, "etcd0", "https://10.0.0.5:2380") == ""
    assert "named 'etcd0'" in migration_refusal(legacy, "etcd3", "https://10.0.0.5:2380")
    moved = migration_refusal(legacy, "etcd0", "https://10.0.0.9:2380")
    assert "peer URL is https://10.0.0.5:2380" in moved and "https://10.0.0.9:2380" in moved
    unconfigured = LegacyInstall.from_defaults(parse_defaults("DAEMON_ARGS=\n"), "juju-1")
    assert "not the etcd charm's package install" in migration_refusal(
        unconfigured, "juju-1", "https://10.0.0.5:2380"
    )
    assert legacy.client_url == "https://10.0.0.5:2379"
    assert unconfigured.client_url == "http://127.0.0.1:2379"
