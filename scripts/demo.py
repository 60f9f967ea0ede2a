"""The demo: a local model with easyrsa and the hooklog test charm (x3), then its status.

Run with `make demo`. The model ("demo") is replaced if it exists and kept afterwards, so that
you can explore it: `.venv/bin/localjuju status -m demo`, `... ssh -m demo hooklog/0`.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import jubilant

ROOT = Path(__file__).resolve().parent.parent
CLI = str(ROOT / ".venv" / "bin" / "localjuju")
MODEL = "demo"


def main() -> int:
    juju = jubilant.Juju(cli_binary=CLI)
    if any(m.get("short-name") == MODEL for m in _models()):
        juju.destroy_model(MODEL, destroy_storage=True, force=True)
    start = time.monotonic()
    juju.add_model(MODEL)
    juju.model = MODEL
    juju.deploy("easyrsa")
    juju.deploy(str(ROOT / "localjuju" / "tests" / "charms" / "hooklog"), num_units=3)
    juju.integrate("hooklog:certificates", "easyrsa:client")
    juju.wait(jubilant.all_active, timeout=300)
    took = time.monotonic() - start
    print(subprocess.run([CLI, "status", "-m", MODEL], capture_output=True, text=True).stdout)
    print(f"deploy to all active: {took:.1f}s")
    task = juju.run("hooklog/0", "echo", {"text": "hello from the demo"})
    print(f"action echo on hooklog/0: {task.status}, results {task.results}")
    return 0


def _models() -> list[dict[str, str]]:
    import json

    out = subprocess.run([CLI, "models", "--format", "json"], capture_output=True, text=True)
    return json.loads(out.stdout or "{}").get("models", []) if out.returncode == 0 else []


if __name__ == "__main__":
    sys.exit(main())
