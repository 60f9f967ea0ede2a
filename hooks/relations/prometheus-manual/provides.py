"""prometheus-manual provider (``prometheus``): scrape jobs as interface-prometheus-manual's
requests carry them (:mod:`etcd_charm.requests`): ``request_<id>`` = ``job_name``,
``job_data`` (a Prometheus scrape_config without its name; the consumer names the job
``<job_name>-<request_id>`` and puts the files it wrote for the PEM texts into
``tls_config``), ``ca_cert``, ``client_cert``, ``client_key`` (PEM texts), ``request_id``."""

from __future__ import annotations

from typing import Any

from charms.reactive import Endpoint, toggle_flag

from etcd_charm import requests


class PrometheusManualProvides(Endpoint):
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
            requests.publish(rel, "job_name", fields)

    def withdraw(self) -> None:
        """Remove every job this unit published (it is no longer the one that publishes)."""
        for rel in self.relations:
            requests.withdraw(rel)

    def responses(self) -> dict[str, dict[str, Any]]:
        """request id -> the consumer's answer."""
        return {k: v for rel in self.relations for k, v in requests.responses(rel).items()}
