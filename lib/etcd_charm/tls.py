"""Certificate requests and the files etcd reads: the pure parts (SANs, the profile) and
the shell's (:func:`certificates` asks the tls-certificates relation and places what came
back; :func:`place` writes the files)."""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import takeover, workload
from .context import Hook, address, log
from .settings import Settings
from .workload import write_file

#: Common name of the client certificate each unit asks for (handed to db/proxy clients
#: when the CA has no shared one: :func:`takeover.client_pair`).
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


def place(m: Material) -> tuple[Material, bool]:
    """Write the certificates (0644) and keys (0600): (what the files hold now, whether any
    changed). A file that already holds the same text but for its trailing newline is kept
    as it is (an earlier charm wrote it: the clients were handed its text)."""
    changed = False
    placed: list[str] = []
    for path, text, mode in (
        (C.CA_PATH, m.ca, 0o644),
        (C.SERVER_CERT_PATH, m.server_cert, 0o644),
        (C.SERVER_KEY_PATH, m.server_key, 0o600),
        (C.CLIENT_CERT_PATH, m.client_cert, 0o644),
        (C.CLIENT_KEY_PATH, m.client_key, 0o600),
    ):
        have = workload.read_file(path)
        if have and have.rstrip("\n") == text.rstrip("\n"):
            changed |= workload.ensure_mode(path, mode)
            placed.append(have)
            continue
        want = text if text.endswith("\n") else text + "\n"
        changed |= write_file(path, want, mode)
        placed.append(want)
    return Material(*placed), changed


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


def certificates(hook: Hook, certs: Any, settings: Settings) -> Material | None:
    """Ask for this unit's certificates; the material once all of it has arrived (placed
    in /var/snap/etcd/common), else None.

    The request goes out in the first hook that finds the relation (its relation-created),
    before the CA's unit has joined: the CA answers as soon as it sees this unit, often
    before this unit's first certificates-relation-changed runs, which then finds the
    certificates there (Juju runs it when the uniter, which visits its relations in a random
    order at each decision, picks this relation among those with hooks queued)."""
    if certs is None or not certs.relations:
        return None
    public = str(hookenv.unit_get("public-address"))
    needed = server_sans([public, address("cluster"), address("db")], socket.gethostname())
    sans = takeover.server_sans(needed, certs.requested_sans)
    certs.request_server_cert(public, sans, hook.unit.replace("/", "_"))
    certs.request_client_cert(CLIENT_CN, [CLIENT_CN])
    if not certs.is_joined:
        return None
    server = certs.server_cert
    placed = workload.read_file(C.CLIENT_CERT_PATH)
    client = takeover.client_pair(certs.shared_client_cert, certs.client_cert(CLIENT_CN), placed)
    if not certs.ca or server is None or client is None:
        return None
    chain = certs.chain
    material = Material(
        certs.ca,
        takeover.with_chain(server[0], chain),
        server[1],
        takeover.with_chain(client[0], chain),
        client[1],
    )
    material, changed = place(material)
    if changed:
        log("certificates written to /var/snap/etcd/common")
    workload.write_file("/root/.etcdctl-env", etcdctl_profile(settings.port), 0o600)
    source_profile()
    return material


def source_profile() -> None:
    line = "[ -f /root/.etcdctl-env ] && . /root/.etcdctl-env  # etcd charm\n"
    bashrc = "/root/.bashrc"
    text = workload.read_file(bashrc)
    if line not in text:
        workload.write_file(
            bashrc, text + ("" if not text or text.endswith("\n") else "\n") + line, 0o644
        )
