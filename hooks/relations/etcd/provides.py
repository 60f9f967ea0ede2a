"""etcd provider (``db``): every etcd unit publishes the connection string, the etcd version and
the client credentials in its unit bucket on every db relation (the interface-etcd keys)."""

from __future__ import annotations

from charms.reactive import Endpoint, toggle_flag


class EtcdProvides(Endpoint):
    def manage_flags(self) -> None:
        # the flag name the layer-etcd charm's handlers used
        toggle_flag("db.connected", self.is_joined)

    def publish(self, connection_string: str, version: str, cert: str, key: str, ca: str) -> None:
        values = {
            "connection_string": connection_string,
            "version": version,
            "client_cert": cert,
            "client_key": key,
            "client_ca": ca,
        }
        for rel in self.relations:
            raw = rel.to_publish_raw
            for k, v in values.items():
                if raw.get(k) != v:
                    raw[k] = v
