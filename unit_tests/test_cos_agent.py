"""The cos-agent relation: the ``config`` payload (lib/etcd_charm/cos_agent.py) validated
against the interface's published schema (our JSON Schema of it:
unit_tests/data/schemas/cos_agent_v0_provider.json) and the consumer library's model, and the
provider endpoint (hooks/relations/cos_agent/provides.py) over fake hook tools."""

from __future__ import annotations

import base64
import json
import lzma
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from etcd_charm import alerts, context, cos_agent, dashboard, publish
from etcd_charm.record import Record
from etcd_charm.settings import parse_settings

from .relation_tools import Tools, forget, open_endpoint

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = json.loads(
    (ROOT / "unit_tests" / "data" / "schemas" / "cos_agent_v0_provider.json").read_text()
)
TOPOLOGY = alerts.Topology("test", "58b48ff0-608b-435f-83b9-ea643e0b98db", "etcd")


def validate(unit_data: dict[str, str]) -> None:
    """As the interface's ProviderSchema does: the databag, then ``config`` parsed
    (``Json[NestedDataModel]``), then each dashboard decoded (``GrafanaDashboard``'s
    AfterValidator: base64, lzma, json)."""
    jsonschema.validate({"unit": unit_data}, SCHEMA)
    nested = json.loads(unit_data["config"])
    jsonschema.validate(nested, {**SCHEMA["$defs"]["NestedDataModel"], "$defs": SCHEMA["$defs"]})
    for board in nested["dashboards"]:
        json.loads(lzma.decompress(base64.b64decode(board.encode())).decode())


def consumer_accepts(unit_data: dict[str, str]) -> None:
    """The fields the consumer library's CosAgentProviderUnitData adds (grafana-agent-operator
    lib/charms/grafana_agent/v0/cos_agent.py LIBPATCH 26): both optional."""
    nested = json.loads(unit_data["config"])
    assert nested.get("subordinate") in (None, True, False)
    protocols = nested.get("tracing_protocols")
    assert protocols is None or all(isinstance(p, str) for p in protocols)


def job(port: int = 9379) -> dict[str, Any]:
    return cos_agent.scrape_job("etcd", port, f"10.0.0.1:{port}")


def payload(voters: int = 3, with_job: bool = True) -> dict[str, str]:
    value = cos_agent.config(TOPOLOGY, voters, job() if with_job else None)
    return {cos_agent.KEY: cos_agent.serialise(value)}


@pytest.mark.parametrize("voters, with_job", [(1, True), (3, True), (5, False)])
def test_the_config_validates_against_the_interface_schema(voters: int, with_job: bool) -> None:
    data = payload(voters, with_job)
    validate(data)
    consumer_accepts(data)
    nested = json.loads(data["config"])
    assert nested["log_slots"] == [] and nested["log_alert_rules"] == {}
    assert nested["metrics_scrape_jobs"] == ([job()] if with_job else [])
    assert nested["metrics_alert_rules"] == alerts.rule_groups(TOPOLOGY, voters)


@pytest.mark.parametrize(
    "breakage",
    [
        lambda c: c.pop("log_slots"),
        lambda c: c.pop("metrics_alert_rules"),
        lambda c: c.update(dashboards={"a": "b"}),
        lambda c: c.update(metrics_scrape_jobs=["not a job"]),
        lambda c: c.update(log_slots="etcd:logs"),
        lambda c: c.update(dashboards=["bm90IGx6bWE="]),  # base64, not lzma
    ],
)
def test_the_schema_refuses_what_the_consumer_would_drop(breakage: Any) -> None:
    nested = json.loads(payload()["config"])
    breakage(nested)
    with pytest.raises((jsonschema.ValidationError, lzma.LZMAError)):
        validate({"config": json.dumps(nested)})


def test_config_must_be_a_json_text() -> None:
    with pytest.raises(jsonschema.ValidationError):
        validate({"config": json.loads(payload()["config"])})


def test_the_dashboard_is_the_charms_on_cos_datasource() -> None:
    nested = json.loads(payload()["config"])
    (encoded,) = nested["dashboards"]
    board = cos_agent.decode_dashboard(encoded)
    assert board["title"] == dashboard.TITLE
    assert "charm: etcd" in board["tags"]
    exprs = [t["expr"] for p in board["panels"] for t in p["targets"]]
    assert exprs == dashboard.expressions(alerts.JOB_MATCHER)
    for p in board["panels"]:
        assert p["datasource"] == "${prometheusds}"
    # the same board, the same text: an unchanged config is not written again
    assert payload() == payload()


@pytest.mark.parametrize("port", [9379, 12379])
def test_the_job_scrapes_this_members_metrics_listener(port: int) -> None:
    j = job(port)
    assert j["scheme"] == "http" and j["metrics_path"] == "/metrics"
    assert j["static_configs"] == [
        {"targets": [f"127.0.0.1:{port}"], "labels": {"instance": f"10.0.0.1:{port}"}}
    ]
    # the name the provider library gives it, which the rules and the dashboard select
    assert re.fullmatch(r"etcd_etcd_[0-9a-f]{8}", j["job_name"])
    assert re.fullmatch(r".+_etcd_[0-9a-f]{8}", j["job_name"])  # alerts.JOB_MATCHER's regex
    assert alerts.JOB_MATCHER == 'job=~".+_etcd_[0-9a-f]{8}"'
    assert j["job_name"] == job(port)["job_name"]
    assert "key" not in json.dumps(j)  # no client key, no TLS material


def test_job_names_differ_with_the_job() -> None:
    assert job(9379)["job_name"] != job(9380)["job_name"]
    other = cos_agent.scrape_job("kv", 9379, "10.0.0.1:9379")["job_name"]
    assert other.startswith("kv_etcd_") and other[-8:] == job(9379)["job_name"][-8:]


@pytest.mark.parametrize(
    "port, problem",
    [(0, "cos-agent: no metrics to scrape: set metrics_port"), (9379, "")],
)
def test_without_a_metrics_listener_the_unit_says_so(port: int, problem: str) -> None:
    assert cos_agent.problem(port).startswith(problem)
    assert bool(cos_agent.problem(port)) == (port == 0)


@pytest.mark.parametrize(
    "host, port, instance",
    [("10.0.0.1", 9379, "10.0.0.1:9379"), ("fd00::3", 9379, "[fd00::3]:9379")],
)
def test_instance(host: str, port: int, instance: str) -> None:
    assert publish.instance(host, port) == instance


# ------------------------------------------------------------------ the endpoint


def endpoint(monkeypatch: pytest.MonkeyPatch, mine: dict[str, str]) -> tuple[Any, Tools]:
    return open_endpoint(monkeypatch, "cos-agent", mine, "grafana-agent/0")


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    yield
    forget()


def test_the_endpoint_publishes_config_once(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, tools = endpoint(monkeypatch, {})
    assert type(ep).__name__ == "CosAgentProvides" and ep.is_joined
    value = payload()["config"]
    ep.publish_config(value)
    context.flush_action_endpoints()
    (published,) = tools.sets
    assert published == {"config": value}
    validate(published)
    # the same again: nothing written
    ep, tools = endpoint(monkeypatch, {"config": value})
    ep.publish_config(value)
    context.flush_action_endpoints()
    assert tools.sets == []


def hook(changes: dict[str, Any], endpoint: Any) -> context.Hook:
    """A hook with config.yaml's defaults and ``changes``."""
    options = yaml.safe_load((ROOT / "config.yaml").read_text())["options"]
    config = {name: o.get("default") for name, o in options.items()} | changes
    settings, errors = parse_settings(config)
    assert settings is not None, errors
    return context.Hook("etcd/0", "config-changed", Record({}), config, settings, errors, endpoint)


def test_cos_agent_problem_only_when_related(monkeypatch: pytest.MonkeyPatch) -> None:
    ep, _ = endpoint(monkeypatch, {})
    config = {"metrics_port": 0}
    assert publish.cos_agent_problem(hook(config, lambda name: ep)).startswith("cos-agent:")
    assert publish.cos_agent_problem(hook({"metrics_port": 9379}, lambda name: ep)) == ""
    assert publish.cos_agent_problem(hook(config, lambda name: None)) == ""
