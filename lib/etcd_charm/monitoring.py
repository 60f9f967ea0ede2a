"""What the monitoring relations are told: the Prometheus scrape job of the ``prometheus``
relation (interface prometheus-manual, as the layer-etcd charm registers it). Pure."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from .etcd_json import MemberList

#: the job's name, as layer-etcd registers it (the consumer appends the request id)
JOB_NAME = "etcd"


def scrape_targets(members: MemberList) -> list[str]:
    """``host:port`` of every voting member's client URL, sorted."""
    return sorted({urlsplit(u).netloc for m in members.voters for u in m.client_urls})


def scrape_job(members: MemberList) -> dict[str, Any]:
    """The job data: https to every voting member's client port. The consumer writes the
    CA, client certificate and key it is given to files and sets their paths in
    ``tls_config`` (interface-prometheus-manual's ``to_json`` fills an existing
    ``tls_config`` only, so it is there, empty)."""
    return {
        "scheme": "https",
        "static_configs": [{"targets": scrape_targets(members)}],
        "tls_config": {"ca_file": "", "cert_file": "", "key_file": ""},
    }
