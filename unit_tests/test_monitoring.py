"""The Prometheus scrape job (lib/etcd_charm/monitoring.py) and the prometheus-manual
provider that publishes it (hooks/relations/prometheus-manual/provides.py), the real endpoint
over fake hook tools: the keys and encoding of interface-prometheus-manual's requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etcd_charm import context, monitoring
from etcd_charm.etcd_json import Member, MemberList

from .relation_tools import Tools, forget, open_endpoint

ROOT = Path(__file__).resolve().parent.parent
REQUEST = "request_5b0c7c1e-8a0e-4c9e-9a51-0d1d2b0c3f44"


def members() -> MemberList:
    def m(i: int, url: str, learner: bool = False) -> Member:
        return Member(i, f"etcd{i}", (f"https://{url}:2380",), (f"https://{url}:2379",), learner)

    return MemberList(1, 1, 1, (m(2, "10.0.0.2"), m(1, "10.0.0.1"), m(3, "[fd00::3]"),
                                m(4, "10.0.0.4", learner=True)))  # fmt: skip


def test_the_job_scrapes_every_voter_over_https() -> None:
    job = monitoring.scrape_job(members())
    assert job == {
        "scheme": "https",
        "static_configs": [{"targets": ["10.0.0.1:2379", "10.0.0.2:2379", "[fd00::3]:2379"]}],
        "tls_config": {"ca_file": "", "cert_file": "", "key_file": ""},
    }


def endpoint(
    monkeypatch: pytest.MonkeyPatch, mine: dict[str, str], name: str = "prometheus"
) -> tuple[Any, Tools]:
    return open_endpoint(monkeypatch, name, mine, "prometheus/0")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    forget()


def register(ep: Any) -> None:
    ep.register_job("etcd", monitoring.scrape_job(members()), "CA", "CERT", "KEY")


def test_a_job_is_one_request_key_of_sorted_json(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, tools = endpoint(monkeypatch, {})
    register(ep)
    context.flush_action_endpoints()
    (published,) = tools.sets
    (key,) = published
    assert key.startswith("request_") and len(key) == len("request_") + 36
    value = json.loads(published[key])
    assert published[key] == json.dumps(value, sort_keys=True)
    assert value == {
        "ca_cert": "CA",
        "client_cert": "CERT",
        "client_key": "KEY",
        "job_data": monitoring.scrape_job(members()),
        "job_name": "etcd",
        "request_id": key[len("request_") :],
    }


def test_an_update_keeps_the_request_id(monkeypatch: pytest.MonkeyPatch) -> None:
    old = {"job_name": "etcd", "job_data": {}, "ca_cert": "CA", "client_cert": "CERT",
           "client_key": "KEY", "request_id": REQUEST[len("request_"):]}  # fmt: skip
    ep, tools = endpoint(monkeypatch, {REQUEST: json.dumps(old, sort_keys=True)})
    register(ep)
    context.flush_action_endpoints()
    (published,) = tools.sets
    assert list(published) == [REQUEST]
    assert json.loads(published[REQUEST])["job_data"]["static_configs"][0]["targets"][0] == (
        "10.0.0.1:2379"
    )
    # the same again: nothing to publish
    ep, tools = endpoint(monkeypatch, {REQUEST: published[REQUEST]})
    register(ep)
    context.flush_action_endpoints()
    assert tools.sets == []


def test_a_unit_that_is_not_the_leader_withdraws_its_jobs(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, tools = endpoint(monkeypatch, {REQUEST: "{}", "ingress-address": "10.0.0.1"})
    ep.withdraw()
    context.flush_action_endpoints()
    (published,) = tools.sets
    assert published[REQUEST] is None  # relation-set deletes a key set to nothing


# ---------------------------------------------------------------------- the dashboard

PROMTOOL = "/usr/bin/promtool"


def test_every_dashboard_expression_is_promql_promtool_accepts(tmp_path: Path) -> None:
    # promtool (Debian's prometheus package, installed by scripts/setup) parses each one as
    # the expression of a recording rule
    import os
    import subprocess

    import yaml

    from etcd_charm import dashboard

    if not os.path.exists(PROMTOOL):
        assert not os.environ.get("CI"), "scripts/setup installs prometheus (promtool)"
        pytest.skip("promtool is not installed: run scripts/setup")
    rules = {
        "groups": [
            {
                "name": "dashboard",
                "rules": [
                    {"record": f"etcd:dashboard:{i}", "expr": e}
                    for i, e in enumerate(dashboard.expressions())
                ],
            }
        ]
    }
    path = tmp_path / "rules.yml"
    path.write_text(yaml.safe_dump(rules))
    proc = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"SUCCESS: {len(dashboard.expressions())} rules found" in proc.stdout
    # and a broken one is refused (the check can fail)
    path.write_text(yaml.safe_dump({"groups": [{"name": "x", "rules": [
        {"record": "x:y", "expr": "rate(up[5m]"}]}]}))  # fmt: skip
    assert subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True).returncode


def test_the_dashboard_is_grafana_json_on_the_named_datasource() -> None:
    from etcd_charm import dashboard

    board = dashboard.dashboard(dashboard.datasource_name("prometheus"))
    json.loads(json.dumps(board))  # plain JSON
    assert board["title"] == "etcd" and board["schemaVersion"] >= 27
    panels = board["panels"]
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    titles = {p["title"] for p in panels}
    for wanted in (
        "Members up",
        "Has a leader",
        "Leader changes (1h)",
        "Proposals committed and applied",
        "Proposals pending and failed",
        "Database size against the quota",
        "WAL fsync latency (p99, p50)",
        "Backend commit latency (p99, p50)",
        "Peer round trip time (p99)",
        "Client requests (gRPC)",
        "Health check failures (5m)",
    ):
        assert wanted in titles
    for p in panels:
        assert p["type"] in ("timeseries", "stat")
        assert p["datasource"] == "prometheus - Juju generated source"
        grid = p["gridPos"]
        assert grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        assert p["targets"] and all(t["expr"] and t["refId"] for t in p["targets"])
        assert len({t["refId"] for t in p["targets"]}) == len(p["targets"])
    # no two panels overlap on Grafana's 24-column grid
    cells = set()
    for p in panels:
        g = p["gridPos"]
        for x in range(g["x"], g["x"] + g["w"]):
            for y in range(g["y"], g["y"] + g["h"]):
                assert (x, y) not in cells, p["title"]
                cells.add((x, y))


def test_a_dashboard_request_carries_the_object_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    from etcd_charm import dashboard

    ep, tools = endpoint(monkeypatch, {}, "grafana")
    board = dashboard.dashboard("prometheus - Juju generated source")
    ep.register_dashboard("etcd", board)
    context.flush_action_endpoints()
    (published,) = tools.sets
    (key,) = [k for k in published if k.startswith("request_")]
    value = json.loads(published[key])
    assert value == {"dashboard": board, "name": "etcd", "request_id": key[len("request_") :]}
