"""Taking over the snap-era etcd charm's cluster (lib/etcd_charm/takeover.py): its member on a
unit, its leader data, what etcd runs with, the certificates and what it left behind."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from etcd_charm import etcd_conf as C
from etcd_charm import takeover as T
from etcd_charm.etcd_json import Member, MemberList
from etcd_charm.settings import parse_settings

from .fixtures import config_defaults
from .test_conf import TEMPLATE
from .test_snap_era_fixture import C as OLD
from .test_snap_era_fixture import fields

ADDR = "10.10.0.12"
IDENTITY = C.Identity("etcd/1", ADDR, ADDR, ADDR, ADDR)
OLD_CONF = OLD.render_conf(fields())  # etcd1 of etcd0 (founder) and etcd1, token Q7ZK2M
OLD_MEMBER = T.OldMember.from_conf(T.parse_conf(OLD_CONF))


def members(*named: tuple[int, str, str]) -> MemberList:
    return MemberList(
        cluster_id=0xC1,
        member_id=named[0][0] if named else 0,
        raft_term=2,
        members=tuple(
            Member(i, name, (f"https://{url}:2380",), (f"https://{url}:2379",), False)
            for i, name, url in named
        ),
    )


CLUSTER = members((0xA0, "etcd0", "10.10.0.11"), (0xA1, "etcd1", ADDR))


def ours(version: str = "3.4.23", **change: object) -> str:
    settings, errors = parse_settings({**config_defaults(), **change})
    assert settings is not None, errors
    assert OLD_MEMBER is not None
    context = C.conf_context(settings, IDENTITY, OLD_MEMBER.bootstrap(""), version)
    return C.render(TEMPLATE, context)


def test_the_old_member_is_read_from_its_etcd_conf() -> None:
    assert OLD_MEMBER == T.OldMember(
        name="etcd1",
        data_dir="/var/snap/etcd/current",
        initial_cluster="etcd0=https://10.10.0.11:2380,etcd1=https://10.10.0.12:2380",
        token="Q7ZK2M",
        peer_urls=("https://10.10.0.12:2380",),
        client_urls=("https://10.10.0.12:2379",),
    )
    # recorded as started with data: initial-* are never read again
    assert OLD_MEMBER.bootstrap("OTHER") == C.Bootstrap(
        OLD_MEMBER.initial_cluster, "Q7ZK2M", "existing"
    )


def test_a_token_rendered_before_the_leader_set_one_is_the_leaders() -> None:
    old = T.OldMember.from_conf(T.parse_conf(OLD.render_conf(fields(token=None))))
    assert old is not None and old.token == ""
    assert old.bootstrap("LEADER").token == "LEADER"


@pytest.mark.parametrize("text", ["", "name: [", "- a list", "data-dir: /x"])
def test_no_member_in_a_file_that_configures_none(text: str) -> None:
    assert T.OldMember.from_conf(T.parse_conf(text)) is None


@pytest.mark.parametrize(
    "flags, expected",
    [
        ({"etcd.registered", "snap.installed.etcd"}, True),
        ({"etcd.leader.configured"}, True),
        ({"snap.installed.etcd", "etcd.ssl.placed"}, False),  # never registered
        (set(), False),
    ],
)
def test_only_a_unit_the_old_charm_configured_has_a_member(flags: set, expected: bool) -> None:
    assert T.had_member(flags) is expected


BOOT = C.Bootstrap(
    "etcd0=https://10.10.0.11:2380,etcd1=https://10.10.0.12:2380", "Q7ZK2M", "existing"
)


@pytest.mark.parametrize(
    "old, name, local, listed, expected",
    [
        # the module's table, row by row
        (None, "etcd1", 0xA1, CLUSTER, None),
        (OLD_MEMBER, "etcd2", 0xA1, CLUSTER, T.Refuse),
        (OLD_MEMBER, "etcd1", 0xA1, CLUSTER, T.Adopt(0xA1, BOOT)),
        (OLD_MEMBER, "etcd1", 0xA1, None, T.Adopt(0xA1, BOOT)),
        (OLD_MEMBER, "etcd1", None, CLUSTER, T.Adopt(0xA1, BOOT)),  # its etcd is stopped
        (OLD_MEMBER, "etcd1", None, members((0xA0, "etcd0", "10.10.0.11")), T.Refuse),
        (OLD_MEMBER, "etcd1", None, None, T.Hold),
        # its own etcd answers as another member
        (OLD_MEMBER, "etcd1", 0xA0, CLUSTER, T.Refuse),
        # found by peer URL when etcd has not filled in its name (added, never started)
        (
            OLD_MEMBER,
            "etcd1",
            None,
            members((0xA0, "etcd0", "10.10.0.11"), (0xA1, "", ADDR)),
            T.Adopt(0xA1, BOOT),
        ),
    ],
)
def test_adoption(
    old: T.OldMember | None,
    name: str,
    local: int | None,
    listed: MemberList | None,
    expected: Any,
) -> None:
    got = T.adoption(old, name, "LEADER", local, listed)
    if isinstance(expected, type):
        assert isinstance(got, expected), got
        assert got.reason  # type: ignore[union-attr]
    else:
        assert got == expected


def test_a_removed_member_says_what_to_do() -> None:
    got = T.adoption(OLD_MEMBER, "etcd1", "", None, members((0xA0, "etcd0", "10.10.0.11")))
    assert isinstance(got, T.Refuse)
    assert "no member etcd1" in got.reason and "remove this unit" in got.reason


@pytest.mark.parametrize(
    "leader, expected",
    [
        # layer-etcd's keys, nothing of ours: the cluster exists
        (
            {
                "token": "Q7ZK2M",
                "cluster": "etcd0=https://10.10.0.11:2380",
                "leader_address": "https://10.10.0.11:2379",
                "snapd_refresh": "thu2",
            },
            {"bootstrapped": "etcd0"},
        ),
        (
            {"token": "Q7ZK2M", "cluster": "etcd3=https://a:2380,etcd0=https://b:2380"},
            {"bootstrapped": "etcd3"},
        ),
        # the old leader set its token, never bootstrapped: nothing exists
        ({"token": "Q7ZK2M"}, {}),
        ({"cluster": "etcd0=https://10.10.0.11:2380"}, {}),
        # already recorded (by this charm)
        ({"token": "T", "cluster": "etcd0=https://a:2380", "bootstrapped": "etcd0"}, {}),
        ({}, {}),
    ],
)
def test_leader_record(leader: dict, expected: dict) -> None:
    assert T.leader_record(leader) == expected


def test_etcd_runs_the_old_configuration_and_ours_the_same_way() -> None:
    # the defaults of both charms, etcd 3.4 (what the snap-era charm installs)
    assert T.same_runtime(OLD_CONF, ours())
    # the founder's file says "new": read only at the first start
    assert T.same_runtime(OLD.render_conf(fields(cluster_state="new")), ours())


@pytest.mark.parametrize(
    "old_fields, change, version",
    [
        ({}, {"heartbeat_interval": 200}, "3.4.23"),
        ({"heartbeat_interval": 150}, {}, "3.4.23"),
        ({"bind_with_insecure_http": True}, {}, "3.4.23"),
        ({"tls_cipher_suites": "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"}, {}, "3.4.23"),
        ({}, {}, "3.5.16"),  # ours sets tls-min-version on etcd 3.5
        ({"cluster_address": "10.10.0.99"}, {}, "3.4.23"),  # moved: only read at first start
    ],
)
def test_what_etcd_runs_differently(old_fields: dict, change: dict, version: str) -> None:
    same = T.same_runtime(OLD.render_conf(fields(**old_fields)), ours(version, **change))
    assert same is ("cluster_address" in old_fields)


def test_no_configuration_is_never_the_same() -> None:
    assert not T.same_runtime("", ours())
    assert not T.same_runtime(OLD_CONF, "")


def test_url_lists_compare_as_sets() -> None:
    a = yaml.safe_load(ours())
    b = dict(a, **{"listen-client-urls": "https://127.0.0.1:2379,https://10.0.0.1:2379"})
    a["listen-client-urls"] = "https://10.0.0.1:2379,https://127.0.0.1:2379"
    assert T.same_runtime(yaml.safe_dump(a), yaml.safe_dump(b))


OLD_SANS = sorted({ADDR, "10.10.0.11", "10.10.0.13", "juju-etcd-1", "127.0.0.1"})


@pytest.mark.parametrize(
    "needed, requested, expected",
    [
        # the old request holds every peer's address: kept (no reissue, no restart)
        ([ADDR, "127.0.0.1", "juju-etcd-1"], OLD_SANS, OLD_SANS),
        # ours adds localhost, which the old one lacks: never connected by, the old one
        ([ADDR, "127.0.0.1", "juju-etcd-1", "localhost"], OLD_SANS, OLD_SANS),
        # an address the old request lacks (the db binding moved): ours
        (["10.9.9.9", "127.0.0.1", "localhost"], OLD_SANS, ["10.9.9.9", "127.0.0.1", "localhost"]),
        # nothing requested yet, or garbage on the relation
        ([ADDR], None, [ADDR]),
        ([ADDR], "not a list", [ADDR]),
        ([ADDR], [ADDR, 5], [ADDR]),
        # this charm's own request: the same
        ([ADDR, "127.0.0.1"], [ADDR, "127.0.0.1"], [ADDR, "127.0.0.1"]),
    ],
)
def test_server_sans(needed: list, requested: Any, expected: list) -> None:
    assert T.server_sans(needed, requested) == expected


def pem(tag: str) -> str:
    return f"-----BEGIN CERTIFICATE-----\nMII{tag}\n-----END CERTIFICATE-----\n"


SHARED = (pem("shared"), "shared-key")
OWN = (pem("own"), "own-key")


@pytest.mark.parametrize(
    "shared, own, placed, expected",
    [
        # the old charm placed the shared one: its clients keep it
        (SHARED, OWN, pem("shared"), SHARED),
        (SHARED, None, pem("shared").strip(), SHARED),
        # placed with Vault's chain after it
        (SHARED, OWN, pem("shared") + "\n" + pem("intermediate"), SHARED),
        # this charm's earlier revisions placed their own: kept
        (SHARED, OWN, pem("own"), OWN),
        # nothing placed: the shared one, as the old charm hands out
        (SHARED, OWN, "", SHARED),
        (None, OWN, "", OWN),
        (None, OWN, pem("shared"), OWN),  # the CA no longer offers it
        (None, None, pem("own"), None),
    ],
)
def test_client_pair(shared: Any, own: Any, placed: str, expected: Any) -> None:
    assert T.client_pair(shared, own, placed) == expected


def test_with_chain_as_layer_tls_client_writes_it() -> None:
    assert T.with_chain("CERT", "") == "CERT"
    assert T.with_chain("CERT", "CHAIN") == "CERT\nCHAIN"


KICKER = OLD.kicker_script(["snap.etcd.etcd"])


def test_the_kicker_of_etcd_alone_goes() -> None:
    assert T.kicker_services(KICKER) == ("snap.etcd.etcd",)
    assert T.kicker_without(KICKER, "snap.etcd.etcd") is None


def test_the_kicker_keeps_kicking_another_charms_services() -> None:
    both = OLD.kicker_script(["snap.etcd.etcd", "snap.kube-apiserver.daemon"])
    rest = T.kicker_without(both, "snap.etcd.etcd")
    assert rest is not None
    assert T.kicker_services(rest) == ("snap.kube-apiserver.daemon",)
    assert (
        rest.replace('"snap.kube-apiserver.daemon"', '"snap.etcd.etcd snap.kube-apiserver.daemon"')
        == both
    )


def test_a_script_that_is_not_the_kickers_is_left_alone() -> None:
    assert T.kicker_services("#!/bin/sh\necho hi\n") is None
    assert T.kicker_without("#!/bin/sh\necho hi\n", "snap.etcd.etcd") == "#!/bin/sh\necho hi\n"
    other = OLD.kicker_script(["snap.kubelet.daemon"])
    assert T.kicker_without(other, "snap.etcd.etcd") == other


def test_bash_aliases_lose_only_the_old_charms_exports() -> None:
    old = OLD.bash_aliases("3.4.23")
    assert old is not None and old.count("export ETCDCTL_") == 3
    assert T.aliases_without(old, C.CERT_FILES) == ""
    mine = "alias ll='ls -l'\nexport ETCDCTL_CERT=/home/me/cert.pem\n"
    assert T.aliases_without(mine + old, C.CERT_FILES) == mine


def test_the_old_request_as_the_fixture_publishes_it_is_a_json_list() -> None:
    # what rel.to_publish["sans"] decodes on a unit the old charm asked from
    assert T.server_sans([ADDR], json.loads(json.dumps(OLD_SANS))) == OLD_SANS
