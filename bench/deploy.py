"""Deploy to all healthy: the charm against the floor, for N units.

- charm: ``juju deploy easyrsa``, ``juju deploy etcd -n N``, ``juju integrate``, until every
  unit says "Healthy with N known peers".
- floor: the same machines (easyrsa and N units of a charm whose hooks do nothing), then a
  straight script bootstraps the same etcd members: a CA and certificates made by the same code
  as easyrsa's, one static ``etcd.conf.yml`` per unit (the whole initial cluster at once, no
  learners, no health checks in between), ``snap install etcd`` from the channel the charm's
  ``auto`` installs, until every member answers ``endpoint health`` from the host.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import jubilant

from . import timeline
from .common import BARE, HOST_ETCDCTL, ROOT, debug_log, deploy_cluster, log, model, unit_counts

CHANNEL = "3.5/stable"  # what the charm's channel=auto installs on a fresh unit
HEALTH_DEADLINE = 600.0


def _easyrsa() -> Any:
    path = ROOT / "localjuju" / "charms" / "easyrsa" / "src" / "easyrsa_core.py"
    spec = importlib.util.spec_from_file_location("easyrsa_core", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def charm(n: int, keep: Any = None) -> dict[str, Any]:
    """The charm's deploy of N units; ``keep(juju)`` runs on the healthy model before it is
    destroyed (further scenarios on the same cluster)."""
    name = f"bench-charm-{n}"
    with model(name) as juju:
        start, t0 = time.monotonic(), time.time()
        deploy_cluster(juju, n, timeout=HEALTH_DEADLINE)
        wall = time.monotonic() - start
        units = sorted(juju.status().apps["etcd"].units)
        records = debug_log(name)
        per_unit = {u: unit_counts(juju, u, records) for u in units}
        split = timeline.deploy_split(records, t0, units)
        for unit, counts in per_unit.items():
            counts.update(split["units"][unit])
        del split["units"]
        log(f"charm, {n} units: healthy after {wall:.1f}s")
        result: dict[str, Any] = {"wall_s": round(wall, 1), "split": split, "units": per_unit}
        if keep is not None:
            result.update(keep(juju))
        return result


def _conf(name: str, address: str, cluster: str) -> str:
    common = "/var/snap/etcd/common"
    tls = (
        f"  cert-file: {common}/server.crt\n  key-file: {common}/server.key\n"
        f"  trusted-ca-file: {common}/ca.crt\n  client-cert-auth: true\n"
    )
    return (
        f"name: {name}\ndata-dir: /var/snap/etcd/current\n"
        f"listen-peer-urls: https://{address}:2380\n"
        f"listen-client-urls: https://{address}:2379,https://127.0.0.1:2379\n"
        f"initial-advertise-peer-urls: https://{address}:2380\n"
        f"advertise-client-urls: https://{address}:2379\n"
        f"initial-cluster: {cluster}\ninitial-cluster-token: bench-floor\n"
        "initial-cluster-state: new\n"
        f"client-transport-security:\n{tls}peer-transport-security:\n{tls}"
    )


def floor(n: int) -> dict[str, Any]:
    """The floor for N units (see the module's docstring)."""
    name = f"bench-floor-{n}"
    easyrsa = _easyrsa()
    with model(name) as juju:
        start = time.monotonic()
        juju.deploy("easyrsa")
        juju.deploy(str(BARE), "etcd", num_units=n)
        juju.wait(
            lambda s: len(s.apps["etcd"].units) == n
            and all(u.juju_status.current == "idle" for u in s.apps["etcd"].units.values())
            and all(u.juju_status.current == "idle" for u in s.apps["easyrsa"].units.values()),
            error=jubilant.any_error,
            timeout=HEALTH_DEADLINE,
        )
        machines = time.monotonic() - start
        status = juju.status()
        units = sorted(status.apps["etcd"].units, key=lambda u: int(u.split("/")[1]))
        addresses = {u: status.apps["etcd"].units[u].public_address for u in units}
        names = {u: u.replace("/", "") for u in units}
        cluster = ",".join(f"{names[u]}=https://{addresses[u]}:2380" for u in units)
        ca = easyrsa.create_ca("bench-floor")
        client_cert, client_key = easyrsa.issue_certificate(ca, easyrsa.CLIENT, "client")
        tmp = Path(tempfile.mkdtemp(prefix="bench-floor-"))
        (tmp / "ca.crt").write_text(ca.cert_pem)
        (tmp / "client.crt").write_text(client_cert)
        key = tmp / "client.key"
        key.touch(mode=0o600)
        key.write_text(client_key)

        def bootstrap(unit: str) -> None:
            addr = addresses[unit]
            cert, skey = easyrsa.issue_certificate(
                ca, easyrsa.SERVER, addr, [addr, "127.0.0.1", "localhost"]
            )
            files = {
                "ca.crt": ca.cert_pem,
                "server.crt": cert,
                "server.key": skey,
                "etcd.conf.yml": _conf(names[unit], addr, cluster),
            }
            script = ["set -e", "mkdir -p /var/snap/etcd/common", "umask 077"]
            for fname, text in files.items():
                script.append(f"cat > /var/snap/etcd/common/{fname} <<'EOF'\n{text.strip()}\nEOF")
            script.append(f"snap install etcd --channel={CHANNEL} >/dev/null")
            juju.exec("\n".join(script), unit=unit)

        with ThreadPoolExecutor(max_workers=n) as pool:
            list(pool.map(bootstrap, units))
        endpoints = ",".join(f"https://{addresses[u]}:2379" for u in units)
        deadline = time.monotonic() + HEALTH_DEADLINE
        while True:
            proc = subprocess.run(
                [
                    str(HOST_ETCDCTL),
                    f"--endpoints={endpoints}",
                    f"--cacert={tmp / 'ca.crt'}",
                    f"--cert={tmp / 'client.crt'}",
                    f"--key={key}",
                    "endpoint",
                    "health",
                    "-w",
                    "json",
                ],
                capture_output=True,
                text=True,
            )
            if proc.returncode == 0:
                break
            if time.monotonic() > deadline:
                raise TimeoutError(f"floor {n}: not healthy: {proc.stderr.strip()[-300:]}")
            time.sleep(0.2)
        wall = time.monotonic() - start
        records = debug_log(name)
        per_unit = {u: unit_counts(juju, u, records) for u in units}
        log(f"floor, {n} units: healthy after {wall:.1f}s (machines {machines:.1f}s)")
        return {"wall_s": round(wall, 1), "machines_s": round(machines, 1), "units": per_unit}
