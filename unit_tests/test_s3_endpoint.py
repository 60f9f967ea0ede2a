"""The s3-credentials endpoint (S3Requires, lib/etcd_charm/endpoints.py) over fake hook tools:
the leader's bucket request in the application bag, and the provider's bag read only once a
provider unit joined (before that charms.reactive names no remote application, and Juju
refuses a unit that is not the leader its own application's bag)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from etcd_charm import s3_relation

from .relation_tools import Tools, forget, open_endpoint


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[object, Tools]]:
    ep, tools = open_endpoint(monkeypatch, "s3-credentials", {}, "s3-integrator/0")
    yield ep, tools
    forget()


def test_the_provider_s_bag_is_read_before_any_of_its_units_joined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An application's data can change before its first unit joined: the provider is named
    by relation-list --app, not after a joined unit (charms.reactive would then name this
    application, whose bag Juju refuses to a non-leader)."""
    ep, tools = open_endpoint(monkeypatch, "s3-credentials", {}, "s3-integrator/0")
    from etcd_charm import context, endpoints

    tools.joined = False  # no remote unit yet
    tools.leader = False
    tools.remote_app = {"bucket": "b", "access-key": "k", "secret-key": "s"}
    asked: list[str] = []

    def remote(rid: str) -> str:
        asked.append(rid)
        return "s3-integrator"

    monkeypatch.setattr(endpoints, "remote_application", remote)
    forget()
    ep = context.action_endpoint("s3-credentials")
    assert type(ep).__name__ == "S3Requires"
    assert ep.provided() == {"bucket": "b", "access-key": "k", "secret-key": "s"}
    assert asked == ["s3-credentials:7"]
    monkeypatch.setattr(endpoints, "remote_application", lambda rid: "")  # the tool failed
    assert ep.provided() is None
    forget()


def test_the_leader_asks_for_its_bucket_once(s3: tuple[object, Tools]) -> None:
    from etcd_charm.context import flush_action_endpoints

    ep, tools = s3
    ep.request(s3_relation.requested_bucket)  # type: ignore[attr-defined]
    flush_action_endpoints()
    assert tools.app_sets == [{"bucket": "relation-7"}]
    assert tools.sets == []  # nothing in this unit's own bucket
