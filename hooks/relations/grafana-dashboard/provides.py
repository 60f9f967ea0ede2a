"""grafana-dashboard provider (``grafana``): dashboards as interface-grafana-dashboard's
requests carry them (:mod:`etcd_charm.requests`): ``request_<id>`` = ``name`` and
``dashboard`` (the dashboard's JSON object itself, not serialised again), ``request_id``."""

from __future__ import annotations

from typing import Any

from charms.reactive import Endpoint, toggle_flag

from etcd_charm import requests


class GrafanaDashboardProvides(Endpoint):
    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)

    def register_dashboard(self, name: str, dashboard: dict[str, Any]) -> None:
        """Publish (or update, keeping its id) the dashboard ``name`` on every relation."""
        for rel in self.relations:
            requests.publish(rel, "name", {"name": name, "dashboard": dashboard})

    def withdraw(self) -> None:
        for rel in self.relations:
            requests.withdraw(rel)

    def failed(self) -> dict[str, str]:
        """request id -> why the consumer could not import it."""
        return {
            k: str(v.get("reason") or "")
            for rel in self.relations
            for k, v in requests.responses(rel).items()
            if v.get("success") is False
        }
