"""The restore's quarantine (quarantine.py): the port, the configuration, what clients are
told, and when the leader lifts it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
import yaml

from etcd_charm import etcd_conf as C
from etcd_charm import plan as P
from etcd_charm import quarantine as Q
from etcd_charm.etcd_json import Member, MemberList
from etcd_charm.settings import Settings, parse_settings

from .fixtures import config_defaults
from .test_plan import member, members, obs, unit

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE = (ROOT / "templates" / "etcd3.conf").read_text()
IDENTITY = C.Identity("etcd/3", "10.0.0.3", "10.0.1.3", "10.0.0.3", "10.0.1.3")
BOOT = C.Bootstrap("etcd3=https://10.0.0.3:2380", "tok", "new")


def settings(**change: object) -> Settings:
    parsed, errors = parse_settings({**config_defaults(), **change})
    assert parsed is not None, errors
    return parsed


@pytest.mark.parametrize(
    "change, expected",
    [
        ({}, 12379),
        ({"port": 60000}, 50000),  # 70000 is no port
        ({"port": 2379, "management_port": 12379}, 12380),  # moved past the peer port
        ({"port": 2379, "metrics_port": 12379, "management_port": 12380}, 12381),
        ({"port": 65535, "management_port": 55535}, 55536),
    ],
)
def test_the_quarantine_port_avoids_the_ports_in_use(change: dict, expected: int) -> None:
    assert Q.port(settings(**change)) == expected


def test_apply_changes_only_the_client_side_and_only_when_set() -> None:
    s = settings(bind_with_insecure_http=True)
    assert Q.apply(s, "") is s
    q = Q.apply(s, "token")
    assert (q.port, q.client_port, q.quarantine_port) == (2379, 12379, 12379)
    assert q.bind_with_insecure_http is False
    assert replace(q, quarantine_port=0, bind_with_insecure_http=True) == s


def render(s: Settings) -> dict:
    return yaml.safe_load(C.render(TEMPLATE, C.conf_context(s, IDENTITY, BOOT, "3.5.16")))


def test_quarantined_etcd_listens_and_advertises_only_the_quarantine_port() -> None:
    s = settings(bind_to_all_interfaces=False, bind_with_insecure_http=True)
    usual, quarantined = render(s), render(Q.apply(s, "token"))
    assert usual["listen-client-urls"] == (
        "https://10.0.1.3:2379,https://127.0.0.1:2379,http://127.0.0.1:4001"
    )
    assert quarantined["listen-client-urls"] == "https://10.0.1.3:12379,https://127.0.0.1:12379"
    assert quarantined["advertise-client-urls"] == "https://10.0.1.3:12379"
    # peers are untouched: the members still form one cluster
    for key in ("listen-peer-urls", "initial-advertise-peer-urls"):
        assert quarantined[key] == usual[key]
    assert IDENTITY.client_url(Q.apply(s, "token")) == "https://10.0.1.3:12379"


@pytest.mark.parametrize(
    "text, port",
    [
        ("advertise-client-urls: https://10.0.1.3:12379\n", 12379),
        ("name: x\nadvertise-client-urls: https://[fd00::3]:2379,https://10.0.0.3:2379\n", 2379),
        ("# advertise-client-urls: https://10.0.1.3:1\n", 0),
        ("advertise-client-urls: https://10.0.1.3:notaport\n", 0),
        ("", 0),
    ],
)
def test_the_serving_port_is_the_one_the_written_configuration_advertises(
    text: str, port: int
) -> None:
    assert Q.advertised_port(text) == port


def on(port: int, *ns: int) -> MemberList:
    ms = [
        Member(
            id=1000 + n,
            name=f"etcd{n}",
            peer_urls=(f"https://10.0.0.{n}:2380",),
            client_urls=(f"https://10.0.0.{n}:{port if n in ns else 2379}",),
            is_learner=False,
        )
        for n in range(3)
    ]
    return MemberList(cluster_id=7, member_id=1000, raft_term=2, members=tuple(ms))


def test_clients_are_told_nothing_until_no_voter_is_on_the_quarantine_port() -> None:
    s = settings()
    assert Q.withheld(s, "token", on(12379))  # set: withheld whatever the members say
    assert Q.withheld(s, "", on(12379, 1))  # lifted, one member still to restart
    assert not Q.withheld(s, "", on(12379))  # every member back on 2379
    assert Q.quarantined_urls(on(12379, 0, 2), s) == [
        "https://10.0.0.0:12379",
        "https://10.0.0.2:12379",
    ]


QUARANTINED = P.LeaderData(token="t2", bootstrapped="etcd0", restored="t2", quarantine="t2")
ALL3 = {"etcd/0": "active", "etcd/1": "active", "etcd/2": "active"}


def restored(*, healthy: set[int] | None, ml: MemberList, **kw: object) -> P.Observed:
    return obs(
        unit(0, member_id=1000),
        unit(1, member_id=kw.pop("m1", 1001)),
        unit(2, member_id=kw.pop("m2", 1002)),
        ml=ml,
        leader=kw.pop("leader", QUARANTINED),
        app_units=kw.pop("app_units", ALL3),
        healthy=frozenset(1000 + n for n in healthy) if healthy is not None else None,
        **kw,
    )


WHOLE = members(member(0), member(1), member(2))


@pytest.mark.parametrize(
    "observed, waiting, lift",
    [
        # every unit a healthy voter: lifted
        (restored(healthy={0, 1, 2}, ml=WHOLE), [], True),
        # health not asked yet (a non-leader's view): nobody counted as down, not lifted
        (restored(healthy=None, ml=WHOLE), [], False),
        # one member does not answer
        (restored(healthy={0, 1}, ml=WHOLE), ["etcd/2"], False),
        # etcd/2 has not rejoined: its old member id is no member of the restored cluster
        (
            restored(healthy={0, 1}, ml=members(member(0), member(1)), m2=1777),
            ["etcd/2"],
            False,
        ),
        # etcd/2 runs as a learner not promoted yet
        (
            restored(
                healthy={0, 1},
                ml=members(member(0), member(1), member(2, learner=True)),
                leader=replace(QUARANTINED, joining=None),
            ),
            ["etcd/2"],
            False,
        ),
        # a unit Juju added that is not on the peer relation yet is waited for
        (
            restored(healthy={0, 1, 2}, ml=WHOLE, app_units={**ALL3, "etcd/3": "waiting"}),
            ["etcd/3"],
            False,
        ),
        # a dying unit is not
        (
            restored(
                healthy={0, 1},
                ml=members(member(0), member(1)),
                m2=0,
                app_units={**ALL3, "etcd/2": "dying"},
            ),
            [],
            True,
        ),
        # nothing quarantined: nothing to lift
        (
            restored(healthy={0, 1, 2}, ml=WHOLE, leader=replace(QUARANTINED, quarantine="")),
            [],
            False,
        ),
    ],
)
def test_the_leader_lifts_the_quarantine_once_every_unit_is_a_healthy_voter(
    observed: P.Observed, waiting: list[str], lift: bool
) -> None:
    assert Q.waiting_for(observed) == waiting
    assert Q.ready_to_lift(observed) is lift
    assert (P.leader_step(observed) == P.LiftQuarantine()) is lift


def test_the_leader_asks_for_health_while_quarantined() -> None:
    assert P.needs_health(restored(healthy=None, ml=WHOLE))
    assert not P.needs_health(
        restored(healthy=None, ml=WHOLE, leader=replace(QUARANTINED, quarantine=""))
    )


def test_learners_join_before_the_quarantine_lifts() -> None:
    """A rejoining unit is added (rule 7) before anything is lifted."""
    observed = restored(healthy={0, 1}, ml=members(member(0), member(1)), m2=0)
    step = P.leader_step(observed)
    assert isinstance(step, P.AddLearner) and step.unit.unit == "etcd/2"


def test_the_status_says_who_it_waits_for_and_then_that_clients_come_back() -> None:
    s = settings()
    waiting = restored(healthy={0, 1}, ml=members(member(0), member(1)), m2=0)
    assert Q.note(s, waiting) == (
        "clients quarantined after a restore: port 2379 refused until etcd/2 rejoined"
    )
    lifted = restored(healthy=None, ml=on(12379, 2), leader=replace(QUARANTINED, quarantine=""))
    assert Q.note(s, lifted) == "clients return to port 2379 as the members restart"
    done = restored(healthy=None, ml=on(12379), leader=replace(QUARANTINED, quarantine=""))
    assert Q.note(s, done) == ""
