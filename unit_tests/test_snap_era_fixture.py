"""The pure parts of the etcd-snap-era test fixture (tests/charms/etcd-snap-era/src/charm.py):
what it renders, parses and keeps as the snap-era layer-etcd charm does."""

from __future__ import annotations

import importlib.util
import json
import sqlite3
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

SRC = Path(__file__).resolve().parents[1] / "tests" / "charms" / "etcd-snap-era" / "src"


def _load() -> Any:
    sys.path.insert(0, str(SRC))  # its hooktools
    try:
        spec = importlib.util.spec_from_file_location("snap_era_charm", SRC / "charm.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses look their module up
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SRC))


C = _load()


def fields(**kw: Any) -> Any:
    base: dict[str, Any] = dict(
        unit_name="etcd1",
        cluster_bind_address="0.0.0.0",
        cluster_address="10.10.0.12",
        db_address="10.10.0.12",
        db_bind_address="0.0.0.0",
        port=2379,
        management_port=2380,
        heartbeat_interval=100,
        election_timeout=1000,
        snapshot_count=100000,
        cluster="etcd0=https://10.10.0.11:2380,etcd1=https://10.10.0.12:2380",
        token="Q7ZK2M",
        cluster_state="existing",
        bind_with_insecure_http=False,
        tls_cipher_suites="",
    )
    base.update(kw)
    return C.ConfFields(**base)


def test_conf_has_the_real_charms_keys_and_values() -> None:
    conf = yaml.safe_load(C.render_conf(fields()))
    assert conf["name"] == "etcd1"
    assert conf["enable-v2"] is True
    assert conf["data-dir"] == "/var/snap/etcd/current"
    assert conf["listen-peer-urls"] == "https://0.0.0.0:2380"
    assert conf["listen-client-urls"] == "https://0.0.0.0:2379"
    assert conf["initial-advertise-peer-urls"] == "https://10.10.0.12:2380"
    assert conf["advertise-client-urls"] == "https://10.10.0.12:2379"
    assert conf["initial-cluster"] == "etcd0=https://10.10.0.11:2380,etcd1=https://10.10.0.12:2380"
    assert conf["initial-cluster-token"] == "Q7ZK2M"
    assert conf["initial-cluster-state"] == "existing"
    assert conf["strict-reconfig-check"] is True
    assert conf["proxy"] == "off"
    assert conf["cors"] is None and conf["discovery"] is None
    for side in ("client-transport-security", "peer-transport-security"):
        assert conf[side] == {
            "cert-file": "/var/snap/etcd/common/server.crt",
            "key-file": "/var/snap/etcd/common/server.key",
            "client-cert-auth": True,
            "trusted-ca-file": "/var/snap/etcd/common/ca.crt",
            "auto-tls": False,
        }
    assert len(conf["cipher-suites"]) == 6
    assert "wal-dir" not in conf and "log-package-levels" not in conf
    assert not C.render_conf(fields()).endswith("\n")


def test_conf_variants() -> None:
    conf = yaml.safe_load(
        C.render_conf(
            fields(
                bind_with_insecure_http=True,
                tls_cipher_suites="TLS_A,TLS_B",
                cluster="",
                token=None,
                cluster_address="fd00::12",
            )
        )
    )
    assert conf["listen-client-urls"] == "http://127.0.0.1:4001,https://0.0.0.0:2379"
    assert conf["cipher-suites"] == ["TLS_A", "TLS_B"]
    assert conf["initial-cluster"] is None
    assert conf["initial-cluster-token"] == "None"  # Jinja renders the missing token so
    assert conf["initial-advertise-peer-urls"] == "https://[fd00::12]:2380"


def test_refresh_timer_max_is_yesterdays_weekday_and_occurrence() -> None:
    assert C.refresh_timer("max", datetime(2025, 6, 13)) == "thu2"  # Thursday the 12th
    assert C.refresh_timer("max", datetime(2025, 7, 1)) == "mon5"  # Monday the 30th
    assert C.refresh_timer("fri,23:00", datetime(2025, 7, 1)) == "fri,23:00"
    assert C.refresh_timer("", datetime(2025, 7, 1)) == ""


def test_snapshot_count() -> None:
    assert C.snapshot_count("auto", "auto") == 100000
    assert C.snapshot_count("auto", "3.4/stable") == 100000
    assert C.snapshot_count("auto", "3.1/stable") == 10000
    assert C.snapshot_count("5000", "auto") == 5000


V2_LIST = (
    "4f24ee16c889f6c1: name=etcd0 peerURLs=https://10.10.0.11:2380 "
    "clientURLs=https://10.10.0.11:2379 isLeader=true\n"
    "edc0dsa81479d7e8[unstarted]: peerURLs=https://10.10.0.13:2380\n"
)


def test_member_list_v2() -> None:
    members = C.parse_member_list_v2(V2_LIST)
    assert members["etcd0"] == {
        "unit_id": "4f24ee16c889f6c1",
        "name": "etcd0",
        "peer_urls": "https://10.10.0.11:2380",
        "client_urls": "https://10.10.0.11:2379",
    }
    assert members["unstarted"] == {
        "unit_id": "edc0dsa81479d7e8",
        "peer_urls": "https://10.10.0.13:2380",
    }


def test_member_add_v2() -> None:
    out = (
        "Added member named etcd12 with ID b9ab5b5a2e4baec5 to cluster\n\n"
        'ETCD_NAME="etcd12"\n'
        'ETCD_INITIAL_CLUSTER="etcd11=https://10.113.96.26:2380,etcd12=https://10.113.96.206:2380"\n'
        'ETCD_INITIAL_CLUSTER_STATE="existing"\n'
    )
    assert (
        C.parse_member_add_v2(out)
        == "etcd11=https://10.113.96.26:2380,etcd12=https://10.113.96.206:2380"
    )
    assert C.parse_member_add_v2("") == ""


@pytest.mark.parametrize(
    "line,peers,expected",
    [
        ("cluster is healthy", 3, ("active", "Healthy with 3 known peers")),
        ("cluster is healthy", 1, ("active", "Healthy with 1 known peer")),
        (None, 3, ("blocked", "UnHealthy with 3 known peers")),
        ("cluster is healthy", None, ("blocked", "Errored with 0 known peers")),
    ],
)
def test_health_status(line: str | None, peers: int | None, expected: tuple[str, str]) -> None:
    assert C.health_status(line, peers) == expected


def test_status_recorder_sets_the_worst() -> None:
    rec = C.StatusRecorder()
    assert rec.final() is None
    rec.record("active", "Healthy with 3 known peers")
    rec.record("waiting", "Waiting to retry etcd registration")
    assert rec.final() == ("waiting", "Waiting to retry etcd registration")
    rec.record("blocked", "Missing relation to certificate authority.")
    assert rec.final() == ("blocked", "Missing relation to certificate authority.")


def test_certificate_request() -> None:
    req = C.certificate_request("etcd/2", "10.10.0.13", ["127.0.0.1", "10.10.0.13", "juju-1"])
    assert req == {
        "unit_name": "etcd_2",
        "common_name": "10.10.0.13",
        "sans": '["10.10.0.13", "127.0.0.1", "juju-1"]',
        "certificate_name": "etcd_2",
    }
    assert C.certificate_request("etcd/2", "a", [], "kept")["certificate_name"] == "kept"


def test_bash_aliases() -> None:
    assert C.bash_aliases("3.4.23") == (
        "export ETCDCTL_KEY=/var/snap/etcd/common/client.key\n"
        "export ETCDCTL_CERT=/var/snap/etcd/common/client.crt\n"
        "export ETCDCTL_CACERT=/var/snap/etcd/common/ca.crt\n"
    )
    assert "ETCDCTL_CA_FILE" in C.bash_aliases("3.2.10")
    assert C.bash_aliases("n/a") is None


def test_connection_string_and_uris() -> None:
    assert C.connection_string(["10.0.0.1", "fd00::2"], 2379) == (
        "https://10.0.0.1:2379,https://[fd00::2]:2379"
    )
    assert C.first_address(["fd00::2", "10.0.0.9", "10.0.0.1"]) == "10.0.0.9"
    assert C.member_name("etcd/12") == "etcd12"


def test_unit_state_round_trip(tmp_path: Path) -> None:
    db = tmp_path / ".unit-state.db"
    conn = sqlite3.connect(str(db))
    conn.execute("create table kv (key text, data text, primary key (key))")
    conn.execute("insert into kv values ('reactive.states.stale', 'null')")
    conn.execute("insert into kv values ('other.key', '1')")  # not the fixture's: kept
    conn.commit()
    conn.close()
    state = C.UnitState.load(db)
    assert state.flags == {"stale"}
    state.flags = {"etcd.registered", "snap.installed.etcd"}
    state.values = {
        "etcd.cluster": "etcd0=https://10.0.0.1:2380",
        "leadership.settings.token": "X",
    }
    state.save(db)
    rows = dict(sqlite3.connect(str(db)).execute("select key, data from kv"))
    assert rows == {
        "other.key": "1",
        "reactive.states.etcd.registered": "null",
        "reactive.states.snap.installed.etcd": "null",
        "etcd.cluster": json.dumps("etcd0=https://10.0.0.1:2380"),
        "leadership.settings.token": '"X"',
    }
    again = C.UnitState.load(db)
    assert again.flags == state.flags and again.values == state.values


def test_a_refresh_from_layer_etcd_breaks_none_of_its_relations() -> None:
    """Every endpoint of layer-etcd's metadata (the fixture keeps the real charm's relations)
    is implemented by this charm with the same role, interface and scope, so that Juju's
    refresh (``Application.SetCharm``'s relation check, as the local model runs it) accepts it
    wherever they are related: prometheus, grafana and nrpe-external-master included."""
    from localjuju.controller.charm import Charm
    from localjuju.controller.controller import endpoint_implemented_by
    from localjuju.controller.state import Endpoint

    root = Path(__file__).resolve().parents[1]
    old = yaml.safe_load(
        (root / "tests" / "charms" / "etcd-snap-era" / "metadata.yaml").read_text()
    )
    new = Charm(path=root, meta=yaml.safe_load((root / "metadata.yaml").read_text()))
    for key, role in (("provides", "provider"), ("requires", "requirer"), ("peers", "peer")):
        for name, spec in (old.get(key) or {}).items():
            ep = Endpoint("etcd", name, role, spec["interface"], spec.get("scope", "global"))
            assert endpoint_implemented_by(ep, new), (name, spec)
    assert {"prometheus", "grafana", "nrpe-external-master"} <= set(old["provides"])
