"""Status verdicts from real endpoint-status captures; certificate requests and files."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography import x509

from etcd_charm import status as S
from etcd_charm import tls
from etcd_charm.etcd_json import parse_endpoint_status, parse_member_list

from .fixtures import DATA, VERSIONS, capture, context

V = "3.5.16"


def test_healthy_counts_members() -> None:
    st = parse_endpoint_status(capture(V, "endpoint-status-3")["stdout"])[0]
    ml = parse_member_list(capture(V, "member-list-3")["stdout"])
    assert S.health(st, None, ml, st.member_id) == S.Status("active", "Healthy with 3 known peers")


@pytest.mark.parametrize("version", VERSIONS)
def test_lost_quorum_says_how_many_answer_and_what_to_do(version: str) -> None:
    """Two of three members stopped (the capture's end): the survivor answers with "no
    leader", the others not at all."""
    answered = parse_endpoint_status(
        capture(version, "endpoint-status-no-quorum-all-endpoints")["stdout"]
    )
    (st,) = answered
    ml = parse_member_list(capture(version, "member-list-3-final")["stdout"])
    others = sorted(m.name for m in ml.voters if m.id != st.member_id)
    up = frozenset(a.member_id for a in answered if not a.errors)
    reached = frozenset(a.member_id for a in answered)
    verdict = S.health(st, None, ml, st.member_id, up, reached)
    assert verdict == S.Status(
        "blocked",
        f"Lost quorum: 1 of 3 members answer ({', '.join(others)} do not) and quorum needs 2; "
        "etcd refuses reads and writes until then. Bring those members back (start their "
        "machines); if they are lost for good, rebuild the cluster from the leader's data: "
        "juju run etcd/leader recover-cluster",
    )
    # every member reached but none leads: an election, not a lost quorum
    everyone = frozenset(m.id for m in ml.voters)
    electing = S.health(st, None, ml, st.member_id, frozenset(), everyone)
    assert electing.message == (
        "No raft leader: 3 of 3 members answer, enough for quorum; they are electing one"
    )
    # the others not asked: no count is claimed
    assert S.health(st, None, ml, st.member_id).message.startswith(
        "No raft leader among 3 members"
    )


def test_unreachable_and_learner() -> None:
    verdict = S.health(None, "context deadline exceeded", None, 0)
    assert verdict == S.Status(
        "blocked", "etcd on this unit does not answer: context deadline exceeded"
    )
    (learner,) = parse_endpoint_status(capture(V, "endpoint-status-learner")["stdout"])
    assert S.health(learner, None, None, learner.member_id).state == "waiting"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_member_that_does_not_answer_is_named(version: str) -> None:
    answered = parse_endpoint_status(capture(version, "endpoint-status-one-down")["stdout"])
    ml = parse_member_list(capture(version, "member-list-one-down")["stdout"])
    me = answered[0]
    up = frozenset(st.member_id for st in answered)
    (down,) = [m for m in ml.voters if m.id not in up]
    verdict = S.health(me, None, ml, me.member_id, up)
    assert verdict == S.Status(
        "blocked",
        f"Degraded: {down.name} does not answer; 2 of 3 members healthy, "
        "one more failure loses quorum",
    )
    # everyone answered: healthy
    all_up = frozenset(m.id for m in ml.voters)
    assert S.health(me, None, ml, me.member_id, all_up).state == "active"
    assert S.degraded(5, ["etcd3"]).message.endswith("quorum survives 1 more failure")


def test_member_added_but_not_started_is_named() -> None:
    ml = parse_member_list(capture(V, "member-list-learner-unstarted")["stdout"])
    (st,) = parse_endpoint_status(capture(V, "endpoint-status-1")["stdout"])
    verdict = S.health(st, None, ml, context(V)["members"]["etcd0"]["id"])
    assert verdict.state == "waiting"
    assert ml.learners[0].hex_id in verdict.message


def test_messages_of_the_etcd_charm() -> None:
    assert S.MISSING_CA == S.Status("blocked", "Missing relation to certificate authority.")
    assert S.invalid_config(["a", "b"]).message == "Invalid config: a; b (nothing was changed)"


def test_server_sans_sorted_and_stable() -> None:
    sans = tls.server_sans(["10.0.0.2", "10.0.1.2", "10.0.0.2", ""], "juju-1")
    assert sans == ["10.0.0.2", "10.0.1.2", "127.0.0.1", "juju-1", "localhost"]
    assert tls.server_sans(["10.0.1.2", "10.0.0.2"], "juju-1") == sans


CERT_PATHS = (
    "CA_PATH",
    "SERVER_CERT_PATH",
    "SERVER_KEY_PATH",
    "CLIENT_CERT_PATH",
    "CLIENT_KEY_PATH",
)


@pytest.fixture
def cert_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """etcd_conf's certificate paths, each in ``tmp_path`` (named as the constant)."""
    from etcd_charm import etcd_conf as C

    paths = {name: tmp_path / name.lower() for name in CERT_PATHS}
    for name, path in paths.items():
        monkeypatch.setattr(C, name, str(path))
    return paths


def test_place_writes_keys_0600(tmp_path: Path, cert_dir: dict[str, Path]) -> None:
    certs = DATA / "certs"
    material = tls.Material(
        ca=(certs / "ca.pem").read_text(),
        server_cert=(certs / "server.pem").read_text(),
        server_key=(certs / "server-key.pem").read_text(),
        client_cert=(certs / "client.pem").read_text(),
        client_key=(certs / "client-key.pem").read_text(),
    )
    placed, changed = tls.place(material)
    assert changed is True
    assert tls.place(material) == (placed, False)  # idempotent: nothing rewritten
    assert all(text.endswith("\n") for text in vars(placed).values())
    assert os.stat(tmp_path / "server_key_path").st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "client_key_path").st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "ca_path").st_mode & 0o777 == 0o644
    x509.load_pem_x509_certificate((tmp_path / "ca_path").read_bytes())


def test_place_keeps_what_an_earlier_charm_wrote(
    tmp_path: Path, cert_dir: dict[str, Path]
) -> None:
    # layer:tls-client wrote the certificates as received (no final newline), 0440: its
    # text is what the clients were handed, so it stays; only the modes change
    texts = {}
    for name, path in cert_dir.items():
        texts[name] = f"-----BEGIN {name}-----\nMII\n-----END {name}-----"
        path.write_text(texts[name])
        path.chmod(0o440)
    material = tls.Material(*(texts[n] + "\n" for n in texts))
    placed, changed = tls.place(material)
    assert changed is True  # the modes
    assert tuple(vars(placed).values()) == tuple(texts.values())
    assert (tmp_path / "server_cert_path").read_text() == texts["SERVER_CERT_PATH"]
    assert os.stat(tmp_path / "server_key_path").st_mode & 0o777 == 0o600
    assert os.stat(tmp_path / "ca_path").st_mode & 0o777 == 0o644
    # another certificate replaces it
    other = tls.Material(*(t.replace("MII", "MIJ") for t in texts.values()))
    placed, changed = tls.place(other)
    assert changed and placed.server_cert.endswith("MIJ\n-----END SERVER_CERT_PATH-----\n")


def test_etcdctl_profile() -> None:
    text = tls.etcdctl_profile(2381)
    assert "export ETCDCTL_ENDPOINTS=https://127.0.0.1:2381\n" in text
    assert "export ETCDCTL_KEY=/var/snap/etcd/common/client.key\n" in text


def test_open_ports_follow_the_client_and_metrics_ports(monkeypatch: pytest.MonkeyPatch) -> None:
    from etcd_charm import health
    from etcd_charm.context import Hook
    from etcd_charm.record import Record

    from .test_install_sources import Kv

    calls: list[tuple[str, int]] = []
    monkeypatch.setattr(health.hookenv, "open_port", lambda p: calls.append(("open", p)))
    monkeypatch.setattr(health.hookenv, "close_port", lambda p: calls.append(("close", p)))
    kv = Kv({"etcd.opened-port": 2379})  # what an earlier revision kept
    hook = Hook("etcd/0", "config-changed", Record(kv), {}, None, [])
    health.open_ports(hook, [2379])
    assert calls == []
    health.open_ports(hook, [2381, 9379])
    assert calls == [("close", 2379), ("open", 2381), ("open", 9379)]
    calls.clear()
    health.open_ports(hook, [2381])  # metrics_port back to 0
    assert calls == [("close", 9379)] and hook.record.opened_ports == [2381]
