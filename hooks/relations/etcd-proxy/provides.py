"""etcd-proxy provider (``proxy``): the cluster string and the client credentials."""

from __future__ import annotations

from charms.reactive import Endpoint, toggle_flag


class EtcdProxyProvides(Endpoint):
    def manage_flags(self) -> None:
        toggle_flag("proxy.connected", self.is_joined)

    def publish(self, cluster: str, cert: str, key: str, ca: str) -> None:
        values = {"cluster": cluster, "client_cert": cert, "client_key": key, "client_ca": ca}
        for rel in self.relations:
            raw = rel.to_publish_raw
            for k, v in values.items():
                if raw.get(k) != v:
                    raw[k] = v
