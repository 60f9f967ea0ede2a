"""The local model's own figures, measured through jubilant and `.venv/bin/localjuju`.

In a fresh model: deploy easyrsa and the hooklog test charm x N, integrate them (tls-certificates),
wait with ``jubilant.all_active`` until every unit also holds easyrsa's CA, read ``status()``
and run an action. Reported, all from this one run:

- deploy to all active (seconds, from the first ``deploy`` to the wait's return);
- the action's round trip (``juju run`` of ``echo``);
- one hook-tool call made inside a unit's machine (``juju exec``: a loop of real tool
  processes through the unit agent's socket), median and p95, beside the interpreter start-up
  that every tool process pays (``python3 -IS -c pass``) measured the same way;
- memory of each machine: the proportional set size (PSS) of every process in its PID
  namespace (its init, supervisor and whatever the charm started), and of the model's
  controller process on the host, which runs every unit agent.

Usage: python -m localjuju.benchmarks.model_figures [--units 3] [--calls 50] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

import jubilant

from localjuju import paths

CLI = paths.ROOT / ".venv" / "bin" / "localjuju"
HOOKLOG = paths.ROOT / "localjuju" / "tests" / "charms" / "hooklog"

# Runs inside a unit's machine under `juju exec` (so with a hook context): N sequential calls of
# each tool as a charm makes them (one process per call), and the bare interpreter start-up.
PROBE = r"""
import json, statistics, subprocess, sys, time
n = int(sys.argv[1])
def timed(argv):
    out = []
    for _ in range(n):
        t = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL)
        out.append((time.perf_counter() - t) * 1000)
    out.sort()
    return {"median_ms": statistics.median(out), "p95_ms": out[int(0.95 * (len(out) - 1))]}
res = {
    "is-leader": timed(["is-leader", "--format=json"]),
    "config-get": timed(["config-get", "--format=json"]),
    "relation-ids": timed(["relation-ids", "certificates"]),
    "python3 -IS -c pass": timed([sys.executable, "-IS", "-c", "pass"]),
}
print(json.dumps(res))
"""


def pss_kib(pid: int) -> int:
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def machine_memory(model: str, machine: str) -> dict[str, Any]:
    """PSS of every process in the machine's PID namespace (found through its init)."""
    init = int((paths.model_dir(model) / "machines" / machine / "init.pid").read_text())
    ns = os.readlink(f"/proc/{init}/ns/pid")
    total, count = 0, 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != ns:
                continue
        except OSError:
            continue
        total += pss_kib(int(entry))
        count += 1
    return {"processes": count, "pss_mib": round(total / 1024, 1)}


def measure(units: int, calls: int, keep: bool) -> dict[str, Any]:
    juju = jubilant.Juju(cli_binary=str(CLI))
    name = f"figures-{secrets.token_hex(3)}"
    juju.add_model(name)
    juju.model = name
    try:
        t0 = time.monotonic()
        juju.deploy("easyrsa")
        juju.deploy(HOOKLOG, "hooklog", num_units=units)
        juju.integrate("hooklog:certificates", "easyrsa:client")

        def have_ca(status: jubilant.Status) -> bool:
            if not jubilant.all_active(status):
                return False
            for unit in status.apps["hooklog"].units:
                rid = juju.exec("relation-ids certificates", unit=unit).stdout.strip()
                ca = juju.exec(f"relation-get -r {rid} ca easyrsa/0", unit=unit).stdout
                if "BEGIN CERTIFICATE" not in ca:
                    return False
            return True

        status = juju.wait(have_ca, timeout=300, delay=0.5, successes=1)
        deploy_s = time.monotonic() - t0
        t1 = time.monotonic()
        task = juju.run("hooklog/0", "echo", {"text": "figures"})
        action_s = time.monotonic() - t1
        assert task.results["text"] == "figures", task.results
        probe = juju.exec(f"python3 -c '{PROBE}' {calls}", unit="hooklog/0")
        tools = json.loads(probe.stdout)
        machines = {mid: machine_memory(name, mid) for mid in sorted(status.machines, key=int)}
        ctl_pid = int((paths.model_dir(name) / "controller.pid").read_text())
        placement = {
            mid: [u for app in status.apps.values() for u, st in app.units.items()
                  if st.machine == mid]
            for mid in machines
        }  # fmt: skip
        return {
            "model": name,
            "units": units,
            "deploy_to_all_active_s": round(deploy_s, 1),
            "action_round_trip_s": round(action_s, 2),
            "tool_calls_per_kind": calls,
            "tools": tools,
            "machines": {m: {**v, "units": placement[m]} for m, v in machines.items()},
            "controller_pss_mib": round(pss_kib(ctl_pid) / 1024, 1),
            "status": {
                u: (st.workload_status.current, st.workload_status.message, st.juju_status.current)
                for app in status.apps.values()
                for u, st in app.units.items()
            },
        }
    finally:
        if not keep:
            juju.destroy_model(name, destroy_storage=True, force=True)


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    ap.add_argument("--units", type=int, default=3)
    ap.add_argument("--calls", type=int, default=50)
    ap.add_argument("--keep", action="store_true", help="keep the model afterwards")
    args = ap.parse_args()
    res = measure(args.units, args.calls, args.keep)
    print(json.dumps(res, indent=2))
    tools = res["tools"]
    print(f"deploy easyrsa + hooklog x{res['units']} to all active: "
          f"{res['deploy_to_all_active_s']} s")  # fmt: skip
    print(f"juju run echo: {res['action_round_trip_s']} s")
    for k, v in tools.items():
        print(f"{k}: median {v['median_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms")
    for m, v in res["machines"].items():
        print(f"machine {m} ({', '.join(v['units'])}): {v['pss_mib']} MiB PSS "
              f"in {v['processes']} processes")  # fmt: skip
    print(f"controller (all unit agents): {res['controller_pss_mib']} MiB PSS")


if __name__ == "__main__":
    main()
