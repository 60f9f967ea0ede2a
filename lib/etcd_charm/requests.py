"""charms.reactive's request/response pattern on the wire, as interface-prometheus-manual and
interface-grafana-dashboard use it: the requester publishes each request in its own unit
bucket as ``request_<id>`` (a uuid4), a JSON object of its fields and ``request_id``; the
responder answers ``response_<id>`` = ``{"success", "reason"}`` in its bucket. A request is
found again by a field that names it (the job, the dashboard), so that an update keeps its id.
"""

from __future__ import annotations

import uuid
from typing import Any

REQUEST = "request_"


def send(relation: Any, match: str, fields: dict[str, Any]) -> None:
    """Publish ``fields`` as the request of ``relation`` (a charms.reactive Relation) whose
    ``match`` field equals theirs, a new one when there is none."""
    published = relation.to_publish
    key = next(
        (
            k
            for k in relation.to_publish_raw
            if k.startswith(REQUEST)
            and isinstance(published.get(k), dict)
            and published[k].get(match) == fields[match]
        ),
        f"{REQUEST}{uuid.uuid4()}",
    )
    value = {**fields, "request_id": key[len(REQUEST) :]}
    if published.get(key) != value:
        published[key] = value


def withdraw(relation: Any) -> None:
    """Remove every request this unit published on ``relation``."""
    for key in [k for k in relation.to_publish_raw if k.startswith(REQUEST)]:
        relation.to_publish_raw[key] = None
