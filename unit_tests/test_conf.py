"""etcd.conf.yml as a function of settings, identity and the bootstrap record."""

from __future__ import annotations

from pathlib import Path

import yaml

from etcd_charm import etcd_conf as C
from etcd_charm.settings import DEFAULT_CIPHER_SUITES, parse_settings

from .fixtures import config_defaults

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = (ROOT / "templates" / "etcd3.conf").read_text()
DEFAULTS = config_defaults()
IDENTITY = C.Identity("etcd/3", "10.0.0.3", "10.0.1.3", "10.0.0.3", "10.0.1.3")
BOOT = C.Bootstrap("etcd0=https://10.0.0.1:2380,etcd3=https://10.0.0.3:2380", "tok", "existing")


def render(version: str = "3.5.16", **change: object) -> dict:
    settings, errors = parse_settings({**DEFAULTS, **change})
    assert settings is not None, errors
    return yaml.safe_load(C.render(TEMPLATE, C.conf_context(settings, IDENTITY, BOOT, version)))


def test_defaults() -> None:
    conf = render()
    assert conf["name"] == "etcd3"
    assert conf["data-dir"] == "/var/snap/etcd/current"
    assert conf["listen-peer-urls"] == "https://0.0.0.0:2380"
    assert conf["listen-client-urls"] == "https://0.0.0.0:2379"
    assert conf["initial-advertise-peer-urls"] == "https://10.0.0.3:2380"
    assert conf["advertise-client-urls"] == "https://10.0.1.3:2379"
    assert conf["initial-cluster"] == BOOT.initial_cluster
    assert (conf["initial-cluster-token"], conf["initial-cluster-state"]) == ("tok", "existing")
    assert conf["strict-reconfig-check"] is True
    for side in ("client-transport-security", "peer-transport-security"):
        assert conf[side]["client-cert-auth"] is True
        assert conf[side]["trusted-ca-file"] == "/var/snap/etcd/common/ca.crt"
        assert conf[side]["key-file"] == "/var/snap/etcd/common/server.key"
    assert conf["cipher-suites"] == list(DEFAULT_CIPHER_SUITES)
    assert conf["tls-min-version"] == "TLS1.2"
    assert (conf["heartbeat-interval"], conf["election-timeout"]) == (100, 1000)
    assert conf["snapshot-count"] == 100000


def test_etcd_34_gets_no_tls_min_version_key() -> None:
    # etcd 3.4 has no such option (its TLS floor is 1.2 already)
    assert "tls-min-version" not in render("3.4.23")


def test_bind_to_the_relation_addresses_and_insecure_localhost() -> None:
    conf = render(bind_to_all_interfaces=False, bind_with_insecure_http=True, port=2381)
    assert conf["listen-peer-urls"] == "https://10.0.0.3:2380"
    assert conf["listen-client-urls"] == (
        "https://10.0.1.3:2381,https://127.0.0.1:2381,http://127.0.0.1:4001"
    )


def test_config_values_flow_through() -> None:
    conf = render(
        heartbeat_interval=200,
        election_timeout=2000,
        snapshot_count="5000",
        tls_cipher_suites="TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        management_port=2390,
    )
    assert (conf["heartbeat-interval"], conf["election-timeout"]) == (200, 2000)
    assert conf["snapshot-count"] == 5000
    assert conf["cipher-suites"] == ["TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384"]
    assert conf["initial-advertise-peer-urls"] == "https://10.0.0.3:2390"


def test_helpers() -> None:
    assert C.build_uri("https", "fd00::1", 2379) == "https://[fd00::1]:2379"
    assert C.member_name("etcd/12") == "etcd12"
    assert C.conf_hash("a") == C.conf_hash("a") != C.conf_hash("b")


def test_a_metrics_listener_only_when_asked() -> None:
    # off (the default): the file is what it was before the option existed, byte for byte
    # (the template without its metrics block), so that a charm refresh restarts nothing
    import re

    block = re.compile(r"\{% if listen_metrics_urls %\}.*?\{% endif %\}", re.S)
    assert len(block.findall(TEMPLATE)) == 1
    before = block.sub("", TEMPLATE)
    for version in ("3.4.23", "3.5.16"):
        settings, _ = parse_settings(DEFAULTS)
        assert settings is not None
        context = C.conf_context(settings, IDENTITY, BOOT, version)
        assert C.render(TEMPLATE, context) == C.render(before, context)
    assert "listen-metrics-urls" not in render()
    assert render(metrics_port=9379)["listen-metrics-urls"] == "http://0.0.0.0:9379"
    assert render(metrics_port=9379, bind_to_all_interfaces=False)["listen-metrics-urls"] == (
        "http://10.0.1.3:9379,http://127.0.0.1:9379"
    )
    # the TLS listeners are what they were
    assert render(metrics_port=9379)["listen-client-urls"] == "https://0.0.0.0:2379"


def test_force_new_cluster_only_for_the_one_start_that_asks_for_it() -> None:
    settings, _ = parse_settings(DEFAULTS)
    assert settings is not None
    text = C.render(TEMPLATE, C.conf_context(settings, IDENTITY, BOOT, "3.5.16"))
    assert yaml.safe_load(text)["force-new-cluster"] is False
    forced = C.forcing_new_cluster(text)
    assert yaml.safe_load(forced) == {**yaml.safe_load(text), "force-new-cluster": True}
    try:
        C.forcing_new_cluster(forced)
    except ValueError:
        pass
    else:
        raise AssertionError("a config without the force-new-cluster: false line was taken")
