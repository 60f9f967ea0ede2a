"""What this unit tells its ``cos-agent`` subordinate (grafana-agent or opentelemetry-collector):
the one unit-data key ``config``, a JSON object. Pure.

Its fields, as the provider library writes them and the consumer reads them
(canonical/grafana-agent-operator ``lib/charms/grafana_agent/v0/cos_agent.py`` LIBPATCH 26,
commit 4ad98c84e17f: ``CosAgentProviderUnitData``, ``COSAgentProvider._on_refresh``,
``COSAgentRequirer``), and as charm-relation-interfaces ``interfaces/cos_agent/v0/schema.py``
(commit 4cf84d192962) publishes them:

- ``metrics_alert_rules``: Prometheus rule groups (:mod:`alerts`); ``log_alert_rules``: Loki's,
  ``{}`` (none);
- ``dashboards``: each ``base64(lzma(json))`` of a dashboard (cosl's ``LZMABase64``) whose
  datasource is ``${prometheusds}``, the variable COS' Grafana fills in; the library tags it
  ``charm: <name>``;
- ``metrics_scrape_jobs``: Prometheus scrape_configs, used as they are except that the
  consumer adds the principal unit's ``juju_*`` labels to each ``static_configs`` entry;
- ``log_slots``: ``"<snap>:<slot>"`` of snap slots the agent connects its ``logs`` plug to:
  none, the etcd snap declares no slot (canonical/etcd-snaps ``snap/snapcraft.yaml``);
- ``subordinate`` (optional, "no longer used" by the consumer: this charm is a principal) and
  ``tracing_protocols`` (optional: none).

The consumer drops the whole entry when a required field is missing or mistyped
(``_validated_provider_data``). Every unit publishes its own ``config`` (subordinate relations
carry unit data only); the consumer's leader takes the rules and dashboards of one unit per
application, the scrape jobs and log slots of every unit.

The scrape job reaches this unit's member only, on the machine's loopback, through etcd's plain
HTTP metrics listener (the ``metrics_port`` option): the agents' snaps cannot present this
unit's client certificate (see docs/monitoring-interfaces.md); without the listener no job is
published and the unit says why (:func:`problem`).
"""

from __future__ import annotations

import base64
import hashlib
import json
import lzma
from typing import Any

from . import alerts, dashboard

#: the name COS' Grafana gives the Prometheus datasource of a dashboard it gets from an agent
DATASOURCE = "${prometheusds}"
#: the job's own name; :func:`job_name` makes it ``<app>_etcd_<hash>``
JOB = "etcd"
KEY = "config"


def job_name(application: str, config: dict[str, Any]) -> str:
    """The library's deterministic job name (``_deterministic_scrape_configs``):
    ``<app>_<job>_<blake2b-4 of the config without its job_name, JSON with sorted keys>``."""
    rest = {k: v for k, v in config.items() if k != "job_name"}
    digest = hashlib.blake2b(json.dumps(rest, sort_keys=True).encode(), digest_size=4)
    return f"{application}_{config.get('job_name', 'default')}_{digest.hexdigest()}"


def scrape_job(application: str, metrics_port: int, instance: str) -> dict[str, Any]:
    """This unit's member, on its metrics listener (plain HTTP on 127.0.0.1, which etcd listens
    on whatever the client binding: etcd_conf.py). ``instance`` names the member in the series
    (the address its clients use), so that the members of one cluster differ in more than
    ``juju_unit``: every agent scrapes ``127.0.0.1``."""
    config: dict[str, Any] = {
        "job_name": JOB,
        "metrics_path": "/metrics",
        "scheme": "http",
        "static_configs": [
            {"targets": [f"127.0.0.1:{metrics_port}"], "labels": {"instance": instance}}
        ],
    }
    return {**config, "job_name": job_name(application, config)}


def encode_dashboard(board: dict[str, Any]) -> str:
    """``base64(lzma(json))``, as cosl's ``LZMABase64.compress``."""
    raw = json.dumps(board, sort_keys=True).encode()
    return base64.b64encode(lzma.compress(raw)).decode()


def decode_dashboard(text: str) -> dict[str, Any]:
    """The consumer's way back (``LZMABase64.decompress`` then ``json.loads``)."""
    value = json.loads(lzma.decompress(base64.b64decode(text.encode())).decode())
    if not isinstance(value, dict):
        raise ValueError("a dashboard is a JSON object")
    return value


def cos_dashboard(charm: str) -> dict[str, Any]:
    """The charm's dashboard on COS' datasource and this relation's job, tagged as the
    library tags it."""
    board = dashboard.dashboard(DATASOURCE, alerts.JOB_MATCHER)
    board["tags"] = [*board["tags"], f"charm: {charm}"]
    return board


def config(topology: alerts.Topology, voters: int, job: dict[str, Any] | None) -> dict[str, Any]:
    """The ``config`` object: the rules of a cluster of ``voters``, the dashboard, this unit's
    scrape ``job`` (None: no job, nothing the agent could scrape)."""
    return {
        "metrics_alert_rules": alerts.rule_groups(topology, voters),
        "log_alert_rules": {},
        "dashboards": [encode_dashboard(cos_dashboard(topology.charm))],
        "metrics_scrape_jobs": [job] if job is not None else [],
        "log_slots": [],
        "subordinate": False,
    }


def serialise(value: dict[str, Any]) -> str:
    """The relation value: JSON with sorted keys (the same data, the same text: an unchanged
    config is not written again)."""
    return json.dumps(value, sort_keys=True)


def problem(metrics_port: int) -> str:
    """Why the relation cannot give the agent a scrape job ("" when it can)."""
    if metrics_port:
        return ""
    return (
        "cos-agent: no metrics to scrape: set metrics_port (e.g. juju config etcd "
        "metrics_port=9379)"
    )
