"""The relation endpoints of the monitoring interfaces, as charms.reactive Endpoint classes:
``hooks/relations/prometheus-manual/provides.py``, ``hooks/relations/grafana-dashboard/
provides.py``, ``hooks/relations/cos_agent/provides.py`` and
``hooks/relations/nrpe-external-master/provides.py``, ``hooks/relations/s3/requires.py``
(where charms.reactive looks for them) only
import them from here, so that the type checker sees them under a package name. Wire formats:
:mod:`requests`, and each class.

Imported by charms.reactive only (in a hook, or an action's ``context.action_endpoint``)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from charms.reactive import Endpoint, toggle_flag

from . import requests


class PrometheusManualProvides(Endpoint):
    """prometheus-manual provider (``prometheus``): scrape jobs as interface-prometheus-manual's
    requests carry them: ``request_<id>`` = ``job_name``, ``job_data`` (a Prometheus
    scrape_config without its name; the consumer names the job ``<job_name>-<request_id>`` and
    puts the files it wrote for the PEM texts into ``tls_config``), ``ca_cert``,
    ``client_cert``, ``client_key`` (PEM texts), ``request_id``."""

    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)

    def register_job(
        self,
        job_name: str,
        job_data: dict[str, Any],
        ca_cert: str,
        client_cert: str,
        client_key: str,
    ) -> None:
        """Publish (or update, keeping its id) the job named ``job_name`` on every relation."""
        fields = {
            "job_name": job_name,
            "job_data": job_data,
            "ca_cert": ca_cert,
            "client_cert": client_cert,
            "client_key": client_key,
        }
        for rel in self.relations:
            requests.send(rel, "job_name", fields)

    def withdraw(self) -> None:
        """Remove every job this unit published (it is no longer the one that publishes)."""
        for rel in self.relations:
            requests.withdraw(rel)


class GrafanaDashboardProvides(Endpoint):
    """grafana-dashboard provider (``grafana``): dashboards as interface-grafana-dashboard's
    requests carry them: ``request_<id>`` = ``name`` and ``dashboard`` (the dashboard's JSON
    object itself, not serialised again), ``request_id``."""

    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)

    def register_dashboard(self, name: str, dashboard: dict[str, Any]) -> None:
        """Publish (or update, keeping its id) the dashboard ``name`` on every relation."""
        for rel in self.relations:
            requests.send(rel, "name", {"name": name, "dashboard": dashboard})

    def withdraw(self) -> None:
        for rel in self.relations:
            requests.withdraw(rel)


class CosAgentProvides(Endpoint):
    """cos_agent provider (``cos-agent``): this unit's ``config`` (:mod:`cos_agent`), a JSON
    text in its own unit bucket, on the one relation to its machine's agent (subordinate
    relations carry unit data only). Written only when it changed."""

    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)

    def publish_config(self, config: str) -> None:
        for rel in self.relations:
            if rel.to_publish_raw.get("config") != config:
                rel.to_publish_raw["config"] = config


class NrpeExternalMasterProvides(Endpoint):
    """nrpe-external-master provider (``nrpe-external-master``, scope container). Sets
    ``nrpe-external-master.available`` while the nrpe subordinate is joined, as the reactive
    interface-nrpe-external-master did for layer-etcd (its ``{relation_name}.available``).
    Its data (``primary``, ``monitors``) is charm-helpers' ``NRPE`` to write
    (:mod:`nrpe_checks`), not this endpoint's."""

    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)


class S3Requires(Endpoint):
    """s3 requirer (``s3-credentials``, interface ``s3`` v0): the leader asks for a bucket in
    the application bag; every unit reads the provider's application bag
    (:mod:`s3_relation` parses it). One relation (limit 1)."""

    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)

    def request(self, bucket_for: Any) -> None:
        """On the leader: write ``bucket`` (``bucket_for(relation id)``) where it is not
        written yet (the provider answers when it appears)."""
        for rel in self.relations:
            if not rel.to_publish_app_raw.get("bucket"):
                rel.to_publish_app_raw["bucket"] = bucket_for(rel.relation_id)

    def provided(self) -> dict[str, str] | None:
        """The provider's application data on the relation (None without a relation). Its
        application is named by ``relation-list --app``: charms.reactive names it after the
        first joined unit, and before one joined (an application's data can change first)
        its ``received_app`` would read this application's own bag, which Juju refuses to
        a unit that is not the leader."""
        for rel in self.relations:
            app = remote_application(rel.relation_id)
            if not app:
                return None
            # charms.reactive 1.5.3 (pinned) reads the remote application's bag as
            # relation_get(app=self.application_name); name it before it guesses
            rel._application_name = app
            return dict(rel.received_app_raw)
        return None


def remote_application(relation_id: str) -> str:
    """The application at the other end of the relation (``relation-list --app -r``; ""
    when the tool cannot say)."""
    try:
        proc = subprocess.run(
            ["relation-list", "--app", "-r", relation_id, "--format=json"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return str(json.loads(proc.stdout)) if proc.returncode == 0 and proc.stdout else ""
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return ""
