"""The etcd peer relation (``cluster``): each unit publishes who it is and how far it got
(member name, peer and client URLs, ready, member id, restart request) plus the
``db-ingress-address`` key of interface-etcd; the leader reads every unit's."""

from __future__ import annotations

from charms.reactive import Endpoint


class EtcdPeers(Endpoint):
    def publish(self, values: dict[str, str]) -> None:
        for rel in self.relations:
            raw = rel.to_publish_raw
            for k, v in values.items():
                if (raw.get(k) or "") != v:
                    raw[k] = v

    def peer_data(self) -> dict[str, dict[str, str | None]]:
        """Remote unit name -> its published data (units still joined)."""
        out: dict[str, dict[str, str | None]] = {}
        for rel in self.relations:
            for unit in rel.joined_units:
                out[unit.unit_name] = dict(unit.received_raw)
        return out
