"""Certificate requests and the files etcd reads. Pure except :func:`place`."""

from __future__ import annotations

from dataclasses import dataclass

from . import etcd_conf as C
from .workload import write_file

#: Common name of the client certificate each unit asks for (handed to db/proxy clients).
CLIENT_CN = "etcd-client"


def server_sans(addresses: list[str], hostname: str) -> list[str]:
    """SANs of a unit's server certificate: its addresses, hostname and loopback, sorted and
    de-duplicated so the request is the same on every hook (no certificate churn)."""
    names = {a for a in addresses if a} | {hostname, "127.0.0.1", "localhost"}
    return sorted(n for n in names if n)


@dataclass(frozen=True)
class Material:
    ca: str
    server_cert: str
    server_key: str
    client_cert: str
    client_key: str


def place(m: Material) -> bool:
    """Write the certificates (0644) and keys (0600); True when anything changed."""
    changed = False
    for path, text, mode in (
        (C.CA_PATH, m.ca, 0o644),
        (C.SERVER_CERT_PATH, m.server_cert, 0o644),
        (C.SERVER_KEY_PATH, m.server_key, 0o600),
        (C.CLIENT_CERT_PATH, m.client_cert, 0o644),
        (C.CLIENT_KEY_PATH, m.client_key, 0o600),
    ):
        changed |= write_file(path, text if text.endswith("\n") else text + "\n", mode)
    return changed


def etcdctl_profile(port: int) -> str:
    """Root's shell exports so that ``etcdctl`` talks to this member with the client cert."""
    return (
        "# Written by the etcd charm: etcdctl talks to the local member over TLS.\n"
        "export ETCDCTL_API=3\n"
        f"export ETCDCTL_ENDPOINTS=https://127.0.0.1:{port}\n"
        f"export ETCDCTL_CACERT={C.CA_PATH}\n"
        f"export ETCDCTL_CERT={C.CLIENT_CERT_PATH}\n"
        f"export ETCDCTL_KEY={C.CLIENT_KEY_PATH}\n"
        'case ":$PATH:" in *:/snap/bin:*) ;; *) export PATH="$PATH:/snap/bin" ;; esac\n'
    )
