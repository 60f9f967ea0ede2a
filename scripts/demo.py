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
from pathlib import Path

import jubilant

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "localjuju")
CHARM = ROOT / "build" / "etcd.charm"
MODEL = "demo"


def healthy(status: jubilant.Status) -> bool:
    units = status.apps["etcd"].units if "etcd" in status.apps else {}
    return len(units) == 3 and all(
        u.workload_status.message == "Healthy with 3 known peers" for u in units.values()
    )


def main() -> int:
    if not CHARM.exists():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "build-charm")], check=True)
    juju = jubilant.Juju(cli_binary=CLI)
    if any(m.get("short-name") == MODEL for m in _models()):
        juju.destroy_model(MODEL, destroy_storage=True, force=True)
    start = time.monotonic()
    juju.add_model(MODEL)
    juju.model = MODEL
    juju.deploy("easyrsa")
    juju.deploy(str(CHARM), "etcd", num_units=3)
    juju.integrate("etcd:certificates", "easyrsa:client")
    juju.wait(healthy, error=jubilant.any_error, timeout=600)
    took = time.monotonic() - start
    print(subprocess.run([CLI, "status", "-m", MODEL], capture_output=True, text=True).stdout)
    print(f"deploy of easyrsa + 3 etcd to all healthy: {took:.1f}s")
    task = juju.exec(
        "ETCDCTL_API=3 /snap/bin/etcd.etcdctl --endpoints=https://127.0.0.1:2379 "
        "--cacert=/var/snap/etcd/common/ca.crt --cert=/var/snap/etcd/common/client.crt "
        "--key=/var/snap/etcd/common/client.key member list -w table",
        unit="etcd/0",
    )
    print(task.stdout)
    return 0


def _models() -> list[dict[str, str]]:
    out = subprocess.run([CLI, "models", "--format", "json"], capture_output=True, text=True)
    return json.loads(out.stdout or "{}").get("models", []) if out.returncode == 0 else []


if __name__ == "__main__":
    sys.exit(main())
