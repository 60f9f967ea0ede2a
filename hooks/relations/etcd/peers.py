"""The etcd peer relation (``cluster``): each unit publishes who it is and how far it got
(member name, peer and client URLs, ready, member id, restart request) plus the
``db-ingress-address`` key of interface-etcd; the leader reads every unit's."""

from __future__ import annotations

from collections.abc import Iterable
from subprocess import CalledProcessError

from charms.reactive import Endpoint
from charms.reactive.endpoints import RelatedUnit


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

    def unjoined_data(self, units: Iterable[str]) -> dict[str, dict[str, str | None]]:
        """What units of the application that have not joined here yet (no -joined hook has
        run here for them) published. Juju answers ``relation-get`` for any unit that
        entered the relation's scope, member or not (its uniter reads a non-member's
        settings afresh in each hook); a unit not in scope yet is left out."""
        out: dict[str, dict[str, str | None]] = {}
        for rel in self.relations:
            for name in units:
                if name in out:
                    continue
                unit = RelatedUnit(rel, name)
                try:
                    out[name] = dict(unit.received_raw)
                except CalledProcessError:
                    continue  # not in scope yet: "settings not found"
        return out
