"""The etcdctl wrapper against output captured from real etcd 3.4 and 3.5 clusters."""

from __future__ import annotations

import pytest

from etcd_charm.etcdctl import (
    Etcdctl,
    EtcdctlError,
    dump_member_list,
    initial_cluster,
    parse_endpoint_health,
    parse_endpoint_status,
    parse_member_add,
    parse_member_list,
)

from .fixtures import VERSIONS, Replay, capture, context


@pytest.mark.parametrize("version", VERSIONS)
def test_member_list_three_members(version: str) -> None:
    ctx = context(version)
    ml = parse_member_list(capture(version, "member-list-3")["stdout"])
    names = {m.name for m in ml.members}
    assert names == {"etcd0", "etcd1", "etcd2"}
    for m in ml.members:
        assert m.id == ctx["members"][m.name]["id"]
        assert m.hex_id == ctx["members"][m.name]["id_hex"]
        assert m.peer_urls == (ctx["members"][m.name]["peer_url"],)
        assert not m.is_learner and m.started
    assert len(ml.voters) == 3 and ml.learners == ()
    assert ml.cluster_id > 0


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("name", ["member-list-3", "member-list-learner-unstarted"])
def test_member_list_dump_round_trips(version: str, name: str) -> None:
    ml = parse_member_list(capture(version, name)["stdout"])
    assert parse_member_list(dump_member_list(ml)) == ml


@pytest.mark.parametrize("version", VERSIONS)
def test_learner_before_and_after_start(version: str) -> None:
    unstarted = parse_member_list(capture(version, "member-list-learner-unstarted")["stdout"])
    learner = unstarted.learners[0]
    assert learner.name == "" and not learner.started and learner.client_urls == ()
    started = parse_member_list(capture(version, "member-list-learner-started")["stdout"])
    assert started.learners[0].started and started.learners[0].id == learner.id


@pytest.mark.parametrize("version", VERSIONS)
def test_member_add_learner_and_initial_cluster(version: str) -> None:
    ctx = context(version)
    new, ml = parse_member_add(capture(version, "member-add-learner-etcd1")["stdout"])
    assert new.is_learner and new.id == ctx["members"]["etcd1"]["id"]
    assert ml.by_id(new.id) is not None
    text = initial_cluster(ml.members, "etcd1", new.id)
    assert sorted(text.split(",")) == sorted(
        f"{n}={ctx['members'][n]['peer_url']}" for n in ("etcd0", "etcd1")
    )


@pytest.mark.parametrize("version", VERSIONS)
def test_endpoint_status(version: str) -> None:
    ctx = context(version)
    (st,) = parse_endpoint_status(capture(version, "endpoint-status-1")["stdout"])
    assert st.member_id == st.leader == ctx["members"]["etcd0"]["id"]
    assert st.version == version and st.errors == () and not st.is_learner
    (learner,) = parse_endpoint_status(capture(version, "endpoint-status-learner")["stdout"])
    assert learner.is_learner
    (lost,) = parse_endpoint_status(capture(version, "endpoint-status-no-quorum")["stdout"])
    assert lost.leader == 0 and lost.errors == ("etcdserver: no leader",)


@pytest.mark.parametrize("version", VERSIONS)
def test_endpoint_health_reports_every_endpoint_even_when_etcdctl_fails(version: str) -> None:
    c = capture(version, "endpoint-health-one-down")
    assert c["rc"] == 1
    health = parse_endpoint_health(c["stdout"])
    assert [h.healthy for h in health] == [True, True, False]
    assert health[2].error == "context deadline exceeded"
    replay = Replay(version, {("endpoint", "health"): "endpoint-health-one-down"})
    ctl = Etcdctl(["https://127.0.0.1:1"], "ca", "cert", "key", runner=replay)
    assert ctl.endpoint_health() == health
    lost = Replay(version, {("endpoint", "health"): "endpoint-health-no-quorum-all-endpoints"})
    ctl = Etcdctl(["https://127.0.0.1:1"], "ca", "cert", "key", runner=lost)
    assert not any(h.healthy for h in ctl.endpoint_health())


@pytest.mark.parametrize("version", VERSIONS)
def test_endpoint_status_partial_keeps_the_members_that_answered(version: str) -> None:
    replay = Replay(version, {("endpoint", "status"): "endpoint-status-one-down"})
    ctl = Etcdctl(["https://127.0.0.1:1"], "ca", "cert", "key", runner=replay)
    with pytest.raises(EtcdctlError, match="Failed to get the status"):
        ctl.endpoint_status()
    answered = ctl.endpoint_status(partial=True)
    assert len(answered) == 2 and all(st.leader for st in answered)
    refused = Replay(version, {("endpoint", "status"): "member-list-refused"})
    ctl = Etcdctl(["https://127.0.0.1:1"], "ca", "cert", "key", runner=refused)
    with pytest.raises(EtcdctlError):  # no JSON at all: still an error
        ctl.endpoint_status(partial=True)


def test_errors_carry_etcds_reason() -> None:
    c = capture("3.5.16", "member-promote-learner-unstarted")
    e = EtcdctlError(["member", "promote", "x"], c["rc"], c["stderr"])
    assert e.detail == "etcdserver: can only promote a learner member which is in sync with leader"
    assert e.mentions("in sync with leader")
    refused = capture("3.5.16", "member-list-refused")
    assert EtcdctlError([], refused["rc"], refused["stderr"]).detail == "context deadline exceeded"


@pytest.mark.parametrize("version", VERSIONS)
def test_promote_confirmed_by_member_list_when_the_json_printer_panics(version: str) -> None:
    ctx = context(version)
    etcd1 = ctx["members"]["etcd1"]["id_hex"]
    c = capture(version, "member-promote-etcd1")
    assert c["rc"] == 2 and "panic: runtime error" in c["stderr"]
    replay = Replay(
        version,
        {
            ("member", "promote", etcd1): "member-promote-etcd1",
            ("member", "list"): "member-list-2",
        },
    )
    ctl = Etcdctl(["https://127.0.0.1:1"], "ca", "cert", "key", runner=replay)
    ctl.member_promote(int(etcd1, 16))
    assert replay.calls == [["member", "promote", etcd1], ["member", "list"]]


@pytest.mark.parametrize("version", VERSIONS)
def test_promote_not_confirmed_raises(version: str) -> None:
    ctx = context(version)
    etcd1 = ctx["members"]["etcd1"]["id_hex"]
    replay = Replay(
        version,
        {
            ("member", "promote", etcd1): "member-promote-etcd1",
            ("member", "list"): "member-list-learner-started",
        },
    )
    ctl = Etcdctl(["https://127.0.0.1:1"], "ca", "cert", "key", runner=replay)
    with pytest.raises(EtcdctlError, match="promotion not confirmed"):
        ctl.member_promote(int(etcd1, 16))


def test_argv_has_credentials_and_json_but_errors_do_not_show_them() -> None:
    seen: list[list[str]] = []

    def runner(argv: list[str], env: dict[str, str], timeout: float):  # noqa: ANN202
        seen.append(argv)
        c = capture("3.5.16", "member-remove-unknown")
        import subprocess

        return subprocess.CompletedProcess(argv, c["rc"], c["stdout"], c["stderr"])

    ctl = Etcdctl(["https://10.0.0.1:2379"], "/ca", "/cert", "/key", runner=runner)
    with pytest.raises(EtcdctlError) as info:
        ctl.member_remove(0xABC)
    argv = seen[0]
    assert argv[0] == "/snap/bin/etcd.etcdctl"
    assert {"--cacert=/ca", "--cert=/cert", "--key=/key"} <= set(argv)
    assert argv[argv.index("-w") + 1] == "json"
    assert argv[-3:] == ["member", "remove", "abc"]
    assert "/key" not in str(info.value)
    assert info.value.detail == "etcdserver: member not found"
