"""tls-certificates requirer (the etcd unit's side): ask for a server and a client certificate
and read the CA and the answers. Keys and forms as interface-tls-certificates publishes them."""

from __future__ import annotations

import json
import os
from typing import Any

from charms.reactive import Endpoint, toggle_flag


def unit_key() -> str:
    """``etcd/0`` -> ``etcd_0``: the prefix the provider uses for this unit's answers."""
    return os.environ.get("JUJU_UNIT_NAME", "").replace("/", "_")


class TlsRequires(Endpoint):
    def manage_flags(self) -> None:
        toggle_flag(self.expand_name("{endpoint_name}.available"), self.is_joined)
        toggle_flag(self.expand_name("{endpoint_name}.ca.available"), bool(self.ca))
        toggle_flag(
            self.expand_name("{endpoint_name}.server.cert.available"), self.server_cert is not None
        )

    def _received(self) -> dict[str, Any]:
        return dict(self.all_joined_units.received_raw) if self.is_joined else {}

    @property
    def ca(self) -> str:
        return str(self._received().get("ca") or "")

    @property
    def chain(self) -> str:
        """The intermediates between the CA and the certificates (Vault sends them)."""
        return str(self._received().get("chain") or "")

    @property
    def requested_sans(self) -> Any:
        """The SANs of the server certificate request on the relation now (this charm's, or
        the one an earlier charm made), as published (JSON: None when there is none)."""
        for rel in self.relations:
            return rel.to_publish.get("sans")
        return None

    @property
    def shared_client_cert(self) -> tuple[str, str] | None:
        """The CA's client certificate for every requirer (``client.cert``/``client.key``,
        what interface-tls-certificates' get_client_cert reads)."""
        data = self._received()
        cert, key = data.get("client.cert"), data.get("client.key")
        return (str(cert), str(key)) if cert and key else None

    def request_server_cert(self, cn: str, sans: list[str], cert_name: str) -> None:
        for rel in self.relations:
            raw = rel.to_publish_raw
            if raw.get("unit_name") != unit_key():
                raw["unit_name"] = unit_key()
            if raw.get("common_name") != cn:
                raw["common_name"] = cn
            if raw.get("certificate_name") != cert_name:
                raw["certificate_name"] = cert_name
            if rel.to_publish.get("sans") != sans:
                rel.to_publish["sans"] = sans

    def request_client_cert(self, cn: str, sans: list[str]) -> None:
        for rel in self.relations:
            requests = dict(rel.to_publish.get("client_cert_requests") or {})
            if requests.get(cn) != {"sans": sans}:
                requests[cn] = {"sans": sans}
                rel.to_publish["client_cert_requests"] = requests

    @property
    def server_cert(self) -> tuple[str, str] | None:
        data = self._received()
        cert = data.get(f"{unit_key()}.server.cert")
        key = data.get(f"{unit_key()}.server.key")
        return (str(cert), str(key)) if cert and key else None

    def client_cert(self, cn: str) -> tuple[str, str] | None:
        raw = self._received().get(f"{unit_key()}.processed_client_requests")
        try:
            answer = json.loads(raw)[cn] if raw else None
        except (ValueError, KeyError, TypeError):
            answer = None
        if not answer or not answer.get("cert") or not answer.get("key"):
            return None
        return str(answer["cert"]), str(answer["key"])
