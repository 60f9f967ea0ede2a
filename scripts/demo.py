"""The demo: a local model with easyrsa and a 3-unit etcd TLS cluster, then its status.

Run with `make demo` (which builds build/etcd.charm first). The model ("demo") is replaced if it
exists and kept afterwards, so that you can explore it: `.venv/bin/localjuju status -m demo`,
`.venv/bin/localjuju ssh -m demo etcd/0` then `etcdctl member list -w table` as root.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import jubilant

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "localjuju")
CHARM = ROOT / "build" / "etcd.charm"
MODEL = "demo"


#: etcdctl on a unit, talking to its own member with the unit's client certificate
ETCDCTL = (
    "ETCDCTL_API=3 /snap/bin/etcd.etcdctl --endpoints=https://127.0.0.1:2379 "
    "--cacert=/var/snap/etcd/common/ca.crt --cert=/var/snap/etcd/common/client.crt "
    "--key=/var/snap/etcd/common/client.key"
)


def healthy_with(count: int) -> Callable[[jubilant.Status], bool]:
    """A jubilant ready predicate: ``count`` etcd units, each "Healthy with <count> known
    peers"."""

    def ready(status: jubilant.Status) -> bool:
        units = status.apps["etcd"].units if "etcd" in status.apps else {}
        return len(units) == count and all(
            u.workload_status.message == f"Healthy with {count} known peers"
            for u in units.values()
        )

    return ready


healthy = healthy_with(3)


def fresh_model(name: str) -> jubilant.Juju:
    """A new local model ``name`` (one of that name is destroyed first), with the charm
    built if it is not yet."""
    if not CHARM.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build-charm")], check=True)
    juju = jubilant.Juju(cli_binary=CLI)
    if any(m.get("short-name") == name for m in _models()):
        juju.destroy_model(name, destroy_storage=True, force=True)
    juju.add_model(name)
    juju.model = name
    return juju


def deploy_cluster(juju: jubilant.Juju, units: int = 3, timeout: float = 900) -> None:
    """easyrsa and ``units`` etcd units related to it, waited for until all are healthy."""
    juju.deploy("easyrsa")
    juju.deploy(str(CHARM), "etcd", num_units=units)
    juju.integrate("etcd:certificates", "easyrsa:client")
    juju.wait(healthy_with(units), error=jubilant.any_error, timeout=timeout)


def main() -> int:
    juju = fresh_model(MODEL)
    start = time.monotonic()
    deploy_cluster(juju, 3, timeout=600)
    took = time.monotonic() - start
    print(subprocess.run([CLI, "status", "-m", MODEL], capture_output=True, text=True).stdout)
    print(f"deploy of easyrsa + 3 etcd to all healthy: {took:.1f}s")
    task = juju.exec(f"{ETCDCTL} member list -w table", unit="etcd/0")
    print(task.stdout)
    return 0


def _models() -> list[dict[str, str]]:
    out = subprocess.run([CLI, "models", "--format", "json"], capture_output=True, text=True)
    return json.loads(out.stdout or "{}").get("models", []) if out.returncode == 0 else []


if __name__ == "__main__":
    sys.exit(main())
