"""lib/etcd_charm/quiet.py: when an update-status may leave the status as the last full
reconcile set it (one etcd round trip), and when it must reconcile in full."""

from __future__ import annotations

from dataclasses import replace

import pytest

from etcd_charm import quiet as Q
from etcd_charm.etcd_json import EndpointStatus, Member, MemberList

ME, TWO, THREE = 0xA1, 0xA2, 0xA3
LOCAL = "https://127.0.0.1:2379"


def member(i: int, n: int) -> Member:
    return Member(
        i, f"etcd{n}", (f"https://10.0.0.{n}:2380",), (f"https://10.0.0.{n}:2379",), False
    )


MEMBERS = MemberList(7, ME, 4, (member(ME, 1), member(TWO, 2), member(THREE, 3)))
QUIET = Q.Quiet(1000.0, "Healthy with 3 known peers", 4, ME,
                (LOCAL, "https://10.0.0.2:2379", "https://10.0.0.3:2379"))  # fmt: skip


def status(term: int = 4, errors: tuple[str, ...] = (), leader: int = TWO) -> EndpointStatus:
    return EndpointStatus(LOCAL, ME, 7, leader, term, 100, "3.5.16", 1 << 20, False, errors)


ALL = frozenset({ME, TWO, THREE})


@pytest.mark.parametrize(
    "quiet, now, st, up, stands",
    [
        (QUIET, 1010.0, status(), ALL, True),
        (QUIET, 1000.0 + Q.FULL_EVERY, status(), ALL, False),  # an hour on: in full
        (QUIET, 999.0, status(), ALL, False),  # the clock went back
        (QUIET, 1010.0, status(term=5), ALL, False),  # a new raft term
        (QUIET, 1010.0, status(), frozenset({ME, TWO}), False),  # a member down
        (QUIET, 1010.0, status(errors=("alarm:NOSPACE",)), ALL, False),
        (QUIET, 1010.0, status(leader=0), ALL, False),  # no leader
        (QUIET, 1010.0, None, frozenset(), False),  # this member does not answer
        (None, 1010.0, status(), ALL, False),  # no full reconcile recorded it
        (replace(QUIET, message="Healthy with 2 known peers"), 1010.0, status(), ALL, False),
    ],
)
def test_when_the_status_stands(
    quiet: Q.Quiet | None, now: float, st: EndpointStatus | None, up: frozenset, stands: bool
) -> None:
    assert Q.still(quiet, now, MEMBERS, st, None, up, up) is stands


def test_quiet_round_trips_and_a_broken_record_is_none() -> None:
    assert Q.Quiet.from_json(QUIET.to_json()) == QUIET
    assert Q.Quiet.from_json({}) is None
    assert Q.Quiet.from_json({**QUIET.to_json(), "raft_term": "x"}) is None
    led = replace(QUIET, store={"channel": "3.5/stable", "revision": "516", "version": "3.5.16",
                                "available": {}})  # fmt: skip
    assert Q.Quiet.from_json(led.to_json()) == led


SNAP_INFO = """name: etcd
channels:
  3.5/stable:    {version} {date} ({revision}) 9MB -
installed:       3.5.16 (516) 9MB -
"""
STORE = {"channel": "3.5/stable", "revision": "516", "version": "3.5.16", "available": {}}


@pytest.mark.parametrize(
    "leader, info, store, stands",
    [
        ("true", SNAP_INFO.format(version="3.5.16", date="2026-01-01", revision="516"), STORE,
         True),  # fmt: skip
        # the store offers a newer revision the status does not say yet: in full
        ("true", SNAP_INFO.format(version="3.5.30", date="2026-02-01", revision="600"), STORE,
         False),  # fmt: skip
        # ... which the status says already: it stands
        ("true", SNAP_INFO.format(version="3.5.30", date="2026-02-01", revision="600"),
         {**STORE, "available": {"channel": "3.5/stable", "revision": "600",
                                 "version": "3.5.30"}}, True),  # fmt: skip
        # no longer the leader, or no store: in full
        ("false", SNAP_INFO.format(version="3.5.16", date="2026-01-01", revision="516"), STORE,
         False),  # fmt: skip
        ("true", "name: etcd\ninstalled: 3.5.16 (516) 9MB -\n", STORE, False),
    ],
)
def test_the_leader_s_status_stands_while_the_store_offers_the_same(
    monkeypatch: pytest.MonkeyPatch, leader: str, info: str, store: dict, stands: bool
) -> None:
    import subprocess

    def run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        out = {"is-leader": leader, "snap": info}[argv[0]]
        return subprocess.CompletedProcess(argv, 0, out, "")

    monkeypatch.setattr(subprocess, "run", run)
    assert Q.store_stands(store) is stands


def test_the_leader_asks_the_store_in_one_quiet_update_status_in_store_every() -> None:
    store: dict = {"channel": "3.5/stable", "revision": "516", "version": "3.5.16",
                   "available": {}}  # fmt: skip
    asked = []
    for _ in range(3 * Q.STORE_EVERY):
        ask = Q.store_due(store)
        asked.append(ask)
        store = Q.counted(store, ask)
    # a full reconcile asked it just before (its record has no count): STORE_EVERY - 1 quiet
    # ones do not, the next one does, and so on
    assert asked == ([False] * (Q.STORE_EVERY - 1) + [True]) * 3
    assert Q.store_due({**store, "unasked": "garbage"}) is True


def test_between_asks_the_leader_asks_only_whether_it_still_leads(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import subprocess

    called: list[str] = []

    def run(argv: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
        called.append(argv[0])
        return subprocess.CompletedProcess(argv, 0, {"is-leader": "true"}[argv[0]], "")

    monkeypatch.setattr(subprocess, "run", run)
    assert Q.store_stands(STORE, ask=False) is True
    assert called == ["is-leader"]
