"""idle.py: which peer hooks end before the framework loads, and on what inputs."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from charmhelpers.core import unitdata

from etcd_charm import idle


@pytest.mark.parametrize(
    "is_leader,started,certs,takeover,refused,expected",
    [
        (False, False, False, None, "", True),  # waits for its certificates
        (True, False, False, None, "", False),  # the leader founds on its peers' data
        (False, True, False, None, "", False),  # a member runs: its status counts the peers
        (False, False, True, None, "", False),  # may join or found: ready, endpoints
        (False, False, False, object(), "", False),  # an earlier charm's member to take over
        (False, False, False, None, "refused volume", False),
    ],
)
def test_waiting(
    is_leader: bool, started: bool, certs: bool, takeover: object, refused: str, expected: bool
) -> None:
    assert idle.waiting(is_leader, started, certs, takeover, refused) is expected


@pytest.mark.parametrize(
    "is_leader,started,certs,takeover,refused,restart,expected",
    [
        (False, True, True, None, "", "", True),  # a member with nothing of its own to do
        (True, True, True, None, "", "", False),  # the leader decides on every change
        (False, False, True, None, "", "", False),  # may found or join on its peers' data
        (False, False, False, None, "", "", False),  # waiting: the other mode
        (False, True, False, None, "", "", False),  # its member runs without certificates
        (False, True, True, object(), "", "", False),  # an earlier charm's member
        (False, True, True, None, "refused volume", "", False),
        (False, True, True, None, "", "abc", False),  # waits for its turn to restart
    ],
)
def test_settled(
    is_leader: bool,
    started: bool,
    certs: bool,
    takeover: object,
    refused: str,
    restart: str,
    expected: bool,
) -> None:
    assert idle.settled(is_leader, started, certs, takeover, refused, restart) is expected
    assert not (expected and idle.waiting(is_leader, started, certs, takeover, refused))


W, S = idle.record(idle.WAITING, "d1"), idle.record(idle.SETTLED, "d1")


@pytest.mark.parametrize(
    "hook,recorded,leader,current,expected",
    [
        ("cluster-relation-changed", W, False, "d1", True),
        ("cluster-relation-changed", W, False, "d2", False),  # an input changed
        ("cluster-relation-changed", W, True, "d1", False),  # became the leader
        ("cluster-relation-changed", "", False, "", False),  # nothing recorded
        ("cluster-relation-changed", None, False, "d1", False),
        ("cluster-relation-changed", "d1", False, "d1", False),  # no mode: an older record
        ("cluster-relation-changed", "other:d1", False, "d1", False),
        ("cluster-relation-changed", "waiting:", False, "", False),
        ("config-changed", W, False, "d1", True),
        ("start", W, False, "d1", True),
        ("leader-settings-changed", W, False, "d1", True),
        ("leader-settings-changed", W, False, "d2", False),
        ("cluster-relation-departed", W, False, "d1", False),  # maybe this unit leaving
        ("cluster-relation-created", W, False, "d1", False),  # its first publication
        ("certificates-relation-changed", W, False, "d1", True),  # answers to others
        ("certificates-relation-changed", W, False, "d2", False),  # its own answer
        ("leader-elected", W, False, "d1", False),
        ("upgrade-charm", W, False, "d1", False),
        ("install", W, False, "d1", False),
        ("update-status", W, False, "d1", False),
        # a settled member: the CA's answers to others
        ("certificates-relation-changed", S, False, "d1", True),
        ("certificates-relation-changed", S, False, "d2", False),
        ("certificates-relation-changed", S, True, "d1", False),
        # leader settings back to what it saw (joining cleared): etcd's state moved on
        ("leader-settings-changed", S, False, "d1", False),
        ("cluster-relation-changed", S, False, "d1", False),  # a peer's change
        ("start", S, False, "d1", False),  # after a reboot: look at the member
        ("config-changed", S, False, "d1", False),  # the agent restarted
        ("update-status", S, False, "d1", False),  # quiet.py's
        ("cluster-relation-departed", S, False, "d1", False),
    ],
)
def test_decide(hook: str, recorded: object, leader: bool, current: str, expected: bool) -> None:
    asked: list[str] = []

    def now() -> str:
        asked.append(current)
        return current

    assert idle.decide(hook, recorded, leader, now) is expected
    # the inputs are gathered only when everything cheaper allows the hook to end
    mode, _, value = str(recorded or "").partition(":")
    allowed = idle.MODE_HOOKS.get(mode, frozenset())
    assert bool(asked) == (hook in allowed and bool(value) and not leader)


class Tools:
    """Hook tools answering from a dict; records the calls."""

    def __init__(self, answers: dict[tuple[str, ...], str]) -> None:
        self.answers = dict(answers)
        self.calls: list[tuple[str, ...]] = []

    def __call__(self, argv: Sequence[str]) -> str:
        key = tuple(argv)
        self.calls.append(key)
        if key[0] == "juju-log":
            return ""
        return self.answers[key]


def tools(**over: str) -> Tools:
    answers = {
        ("is-leader", "--format=json"): "false",
        ("config-get", "--all", "--format=json"): '{"port":2379}',
        ("unit-get", "public-address", "--format=json"): '"10.0.0.2"',
        ("network-get", "cluster", "--format=json"): '{"ingress-addresses":["10.0.0.2"]}',
        ("network-get", "db", "--format=json"): '{"ingress-addresses":["10.0.0.2"]}',
        ("leader-get", "--format=json"): '{"token":"t1"}',
        ("relation-ids", "certificates", "--format=json"): '["certificates:1"]',
        ("relation-list", "-r", "certificates:1", "--format=json"): '["easyrsa/0"]',
        ("relation-get", "-r", "certificates:1", "-", "easyrsa/0", "--format=json"): (
            '{"ca":"CA","etcd_1.server.cert":""}'
        ),
    }
    names = {
        "config": ("config-get", "--all", "--format=json"),
        "public": ("unit-get", "public-address", "--format=json"),
        "cluster": ("network-get", "cluster", "--format=json"),
        "db": ("network-get", "db", "--format=json"),
        "leader": ("leader-get", "--format=json"),
        "rids": ("relation-ids", "certificates", "--format=json"),
        "units": ("relation-list", "-r", "certificates:1", "--format=json"),
        "ca": ("relation-get", "-r", "certificates:1", "-", "easyrsa/0", "--format=json"),
        "is_leader": ("is-leader", "--format=json"),
    }
    for name, value in over.items():
        answers[names[name]] = value
    return Tools(answers)


@pytest.mark.parametrize(
    "change",
    [
        {"config": '{"port":2380}'},
        {"public": '"10.0.0.3"'},
        {"cluster": '{"ingress-addresses":["10.0.1.2"]}'},
        {"db": '{"ingress-addresses":["10.0.1.2"]}'},
        {"leader": '{"token":"t1","founders":"{}"}'},
        {"ca": '{"ca":"CA","etcd_1.server.cert":"CERT"}'},  # the CA answered
        {"units": "[]"},
        {"rids": "[]"},
    ],
)
def test_the_digest_follows_every_input(change: dict[str, str]) -> None:
    assert idle.digest(tools(**change), "etcd/1") != idle.digest(tools(), "etcd/1")


def test_the_digest_ignores_the_answers_to_other_units() -> None:
    """interface-tls-certificates answers every unit in the CA's one bucket: an answer to
    etcd/2 leaves etcd/1's inputs as they were, its own answer does not."""
    base = '{"ca":"CA","client.cert":"C","client.key":"K","etcd_1.server.cert":""}'
    other = json.loads(base) | {"etcd_2.server.cert": "X", "etcd_2.server.key": "Y",
                                "etcd_12.processed_client_requests": "{}"}  # fmt: skip
    mine = json.loads(base) | {"etcd_1.server.cert": "S", "etcd_1.server.key": "SK"}
    first = idle.digest(tools(ca=base), "etcd/1")
    assert idle.digest(tools(ca=json.dumps(other)), "etcd/1") == first
    assert idle.digest(tools(ca=json.dumps(mine)), "etcd/1") != first
    # what no unit's prefix marks (the CA, a chain, the shared client certificate) counts
    assert idle.digest(tools(ca=json.dumps(json.loads(base) | {"chain": "I"})), "etcd/1") != first
    # another application's unit numbers are other units too; a name with dashes
    assert idle.for_this_unit({"etcd-b_1.server.cert": "x", "ca": "c"}, "etcd-b/1") == {
        "etcd-b_1.server.cert": "x",
        "ca": "c",
    }
    assert idle.for_this_unit({"etcd-b_1.server.cert": "x", "ca": "c"}, "etcd/1") == {"ca": "c"}


def test_the_digest_is_stable_and_leaves_leadership_to_decide() -> None:
    assert idle.digest(tools()) == idle.digest(tools(is_leader="true"))
    assert idle.digest(tools()) == idle.digest(tools())


def write_record(path: Path, value: object) -> None:
    kv = unitdata.Storage(str(path))
    kv.set(idle.KV_IDLE, value)
    kv.flush()
    kv.close()


ENV = {"JUJU_REMOTE_UNIT": "etcd/2", "JUJU_UNIT_NAME": "etcd/1"}


def test_answered_ends_a_peer_hook_on_the_recorded_inputs(tmp_path: Path) -> None:
    """Recorded through charmhelpers' own unit storage, read back without it."""
    digest = idle.digest(tools(), "etcd/1")
    write_record(tmp_path / ".unit-state.db", idle.record(idle.WAITING, digest))
    t = tools()
    assert idle.answered(str(tmp_path), "cluster-relation-changed", ENV, t)
    log = [c for c in t.calls if c[0] == "juju-log"]
    assert len(log) == 1 and "etcd/2" in log[0][-1] and log[0][2] == "DEBUG"
    assert "waits for its certificates" in log[0][-1]
    # an input changed: the full reconcile runs
    t2 = tools(leader='{"token":"t1","founders":"{}"}')
    assert not idle.answered(str(tmp_path), "cluster-relation-changed", ENV, t2)
    assert not [c for c in t2.calls if c[0] == "juju-log"]


def test_answered_ends_only_the_hooks_a_settled_member_has_nothing_new_in(
    tmp_path: Path,
) -> None:
    write_record(tmp_path / ".unit-state.db", idle.record(idle.SETTLED, idle.digest(tools(), "etcd/1")))  # fmt: skip
    env = {"JUJU_REMOTE_UNIT": "easyrsa/0", "JUJU_UNIT_NAME": "etcd/1"}
    answer_to_another = '{"ca":"CA","etcd_1.server.cert":"","etcd_2.server.cert":"X"}'
    t = tools(ca=answer_to_another)
    assert idle.answered(str(tmp_path), "certificates-relation-changed", env, t)
    log = [c for c in t.calls if c[0] == "juju-log"]
    assert len(log) == 1 and "nothing this unit's member has not seen" in log[0][-1]
    hooks = ("leader-settings-changed", "cluster-relation-changed", "start", "config-changed")
    for hook in (*hooks, "update-status"):
        t = tools()
        assert not idle.answered(str(tmp_path), hook, ENV, t), hook
        assert not t.calls, hook  # decided on the record alone: no tool asked
    # its own certificate renewed, a grant in leader settings: in full
    renewed = '{"ca":"CA","etcd_1.server.cert":"NEW"}'
    assert not idle.answered(
        str(tmp_path), "certificates-relation-changed", env, tools(ca=renewed)
    )
    granted = tools(leader='{"token":"t1","restart-grant":"etcd/1"}', ca=answer_to_another)
    assert not idle.answered(str(tmp_path), "certificates-relation-changed", env, granted)


def test_answered_runs_in_full_on_any_doubt(tmp_path: Path) -> None:
    digest = idle.record(idle.WAITING, idle.digest(tools(), "etcd/1"))
    # no unit storage yet, or no record in it
    assert not idle.answered(str(tmp_path), "cluster-relation-changed", ENV, tools())
    write_record(tmp_path / ".unit-state.db", "")
    assert not idle.answered(str(tmp_path), "cluster-relation-changed", ENV, tools())
    write_record(tmp_path / ".unit-state.db", digest)
    # another hook, the leader, a tool that fails
    assert not idle.answered(str(tmp_path), "cluster-relation-departed", ENV, tools())
    assert not idle.answered(
        str(tmp_path), "cluster-relation-changed", ENV, tools(is_leader="true")
    )
    broken = tools()
    del broken.answers[("leader-get", "--format=json")]

    def failing(argv: Sequence[str]) -> str:
        try:
            return broken(argv)
        except KeyError as e:
            raise OSError("tool failed") from e

    assert not idle.answered(str(tmp_path), "cluster-relation-changed", ENV, failing)
    # the storage where charmhelpers is told to keep it
    other = tmp_path / "elsewhere.db"
    write_record(other, digest)
    env = dict(ENV, UNIT_STATE_DB=str(other))
    (tmp_path / ".unit-state.db").unlink()
    assert idle.answered(str(tmp_path), "cluster-relation-changed", env, tools())


def test_a_record_is_json_in_charmhelpers_storage(tmp_path: Path) -> None:
    write_record(tmp_path / "kv.db", "abc")
    assert idle.UnitKv(str(tmp_path / "kv.db")).get(idle.KV_IDLE) == "abc"
    assert idle.UnitKv(str(tmp_path / "kv.db")).get("etcd.other") is None
    assert idle.UnitKv(str(tmp_path / "none.db")).get("x") is None  # no storage yet
