"""prometheus-manual provider (``prometheus``): scrape jobs as interface-prometheus-manual's
requests carry them. Each job is one key of this unit's bucket, ``request_<id>``, whose value
is a JSON object (keys sorted, as charms.reactive publishes JSON): ``job_name``, ``job_data``
(a Prometheus scrape_config without its name; the consumer names the job
``<job_name>-<request_id>`` and puts the files it wrote for the PEM texts into ``tls_config``),
``ca_cert``, ``client_cert``, ``client_key`` (PEM texts) and ``request_id``. A job keeps its id
while it is updated; the consumer answers ``response_<id>`` = ``{"success", "reason"}``."""

from __future__ import annotations

import uuid
from typing import Any

from charms.reactive import Endpoint, toggle_flag

PREFIX = "request_"


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
        for rel in self.relations:
            published = rel.to_publish
            key = next(
                (
                    k
                    for k in rel.to_publish_raw
                    if k.startswith(PREFIX)
                    and isinstance(published.get(k), dict)
                    and published[k].get("job_name") == job_name
                ),
                f"{PREFIX}{uuid.uuid4()}",
            )
            value = {
                "job_name": job_name,
                "job_data": job_data,
                "ca_cert": ca_cert,
                "client_cert": client_cert,
                "client_key": client_key,
                "request_id": key[len(PREFIX) :],
            }
            if published.get(key) != value:
                published[key] = value

    def withdraw(self) -> None:
        """Remove every job this unit published (it is no longer the one that publishes)."""
        for rel in self.relations:
            for key in [k for k in rel.to_publish_raw if k.startswith(PREFIX)]:
                rel.to_publish_raw[key] = None

    def responses(self) -> dict[str, dict[str, Any]]:
        """request id -> the consumer's answer, for the jobs it answered."""
        out: dict[str, dict[str, Any]] = {}
        for rel in self.relations:
            for unit in rel.joined_units:
                for key, value in unit.received.items():
                    if key.startswith("response_") and isinstance(value, dict):
                        out[key[len("response_") :]] = value
        return out
