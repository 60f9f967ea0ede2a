"""Hook cost on a healthy cluster: update-status against charms.reactive's own no-op hook (a
copy of the charm without its reactive/ module, whose hook runs the framework's ``main`` as
layer-basic's hook does, with only the distutils finder Python 3.12 needs), one hook tool call,
peak memory of a hook. Beside it, the charm's own entry point without handlers (what the
charm's bootstrap saves on the framework: the pkg_resources stand-in, the batched flag trace).
Everything runs on a unit, in a ``juju exec`` context (hook tools available), timed on the
unit itself."""

from __future__ import annotations

import json
import statistics
from typing import Any

import jubilant

PROBE = r"""
import json, os, resource, shutil, subprocess, sys, time
charm = os.environ["JUJU_CHARM_DIR"]
noop, own = "/tmp/bench-noop-charm", "/tmp/bench-own-noop-charm"
STOCK = '''#!/usr/bin/env python3
# charms.reactive's own hook, as layer-basic's runs it (and the distutils finder of 3.12)
import os, sys, warnings
CHARM_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [os.path.join(CHARM_DIR, "lib"), os.path.join(CHARM_DIR, "venv")]
os.chdir(CHARM_DIR)
from etcd_charm.entry import provide_distutils
provide_distutils()
warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
from charms.reactive import main
main()
'''
for copy in (noop, own):
    if not os.path.isdir(copy):
        shutil.copytree(charm, copy, symlinks=True)
        for f in os.listdir(os.path.join(copy, "reactive")):
            if f.endswith(".py"):
                os.unlink(os.path.join(copy, "reactive", f))
hook = os.path.join(noop, "hooks", "update-status")
os.unlink(hook)
with open(hook, "w") as f:
    f.write(STOCK)
os.chmod(hook, 0o755)
def run(argv, charm_dir):
    # what Juju sets for the hook (a juju exec context has JUJU_HOOK_NAME empty)
    env = dict(os.environ, JUJU_CHARM_DIR=charm_dir, CHARM_DIR=charm_dir,
               JUJU_HOOK_NAME="update-status")
    t = time.monotonic()
    subprocess.run(argv, cwd=charm_dir, env=env, check=True, capture_output=True)
    return time.monotonic() - t
out = {"update_status": [], "noop": [], "own_noop": [], "tool": [], "rss_kib": 0}
for _ in range(SAMPLES):
    out["update_status"].append(run([charm + "/hooks/update-status"], charm))
out["rss_kib"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
for _ in range(SAMPLES):  # interleaved: the same moments of a shared machine for both
    out["noop"].append(run([noop + "/hooks/update-status"], noop))
    out["own_noop"].append(run([own + "/hooks/update-status"], own))
for _ in range(TOOL_CALLS):
    out["tool"].append(run(["is-leader", "--format=json"], charm))
# one more update-status with every hook tool behind a shim that logs its name: the calls
tools = os.path.dirname(shutil.which("is-leader"))
shim, calls = "/tmp/bench-tool-shim", "/tmp/bench-tool-calls"
shutil.rmtree(shim, ignore_errors=True)
os.makedirs(shim)
for name in os.listdir(tools):
    with open(os.path.join(shim, name), "w") as f:
        f.write(f'#!/bin/sh\necho {name} >> {calls}\nexec {tools}/{name} "$@"\n')
    os.chmod(os.path.join(shim, name), 0o755)
def count(charm_dir):
    if os.path.exists(calls):
        os.unlink(calls)
    env = dict(os.environ, JUJU_CHARM_DIR=charm_dir, CHARM_DIR=charm_dir,
               JUJU_HOOK_NAME="update-status", PATH=shim + ":" + os.environ["PATH"])
    subprocess.run([charm_dir + "/hooks/update-status"], cwd=charm_dir, env=env, check=True,
                   capture_output=True)
    seen = {}
    for name in open(calls).read().split() if os.path.exists(calls) else []:
        seen[name] = seen.get(name, 0) + 1
    return seen
out["calls"], out["noop_calls"] = count(charm), count(noop)
print(json.dumps(out))
"""

NOOP_RSS = r"""
import os, resource, subprocess
noop = "/tmp/bench-noop-charm"
env = dict(os.environ, JUJU_CHARM_DIR=noop, CHARM_DIR=noop, JUJU_HOOK_NAME="update-status")
subprocess.run([noop + "/hooks/update-status"], cwd=noop, env=env, check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def hook_cost(juju: jubilant.Juju, unit: str, samples: int, tool_calls: int) -> dict[str, Any]:
    code = PROBE.replace("SAMPLES", str(samples)).replace("TOOL_CALLS", str(tool_calls))
    task = juju.exec(f"/usr/bin/python3 - <<'PY'\n{code}\nPY", unit=unit, wait=600)
    raw = json.loads(task.stdout.strip().splitlines()[-1])
    noop_rss = int(juju.exec(f"/usr/bin/python3 - <<'PY'\n{NOOP_RSS}\nPY", unit=unit).stdout)
    us, noop, tool = raw["update_status"], raw["noop"], raw["tool"]
    return {
        "unit": unit,
        "samples": samples,
        "update_status_median_s": round(statistics.median(us), 3),
        "noop_median_s": round(statistics.median(noop), 3),
        "ratio": round(statistics.median(us) / statistics.median(noop), 2),
        # the mean counts the runs that do more than most (the leader's store query)
        "update_status_mean_s": round(statistics.fmean(us), 3),
        "noop_mean_s": round(statistics.fmean(noop), 3),
        "mean_ratio": round(statistics.fmean(us) / statistics.fmean(noop), 2),
        # the charm's own entry point without handlers, against the stock no-op
        "own_noop_median_s": round(statistics.median(raw["own_noop"]), 3),
        "own_noop_ratio": round(statistics.median(raw["own_noop"]) / statistics.median(noop), 2),
        "tool_call_median_ms": round(statistics.median(tool) * 1000, 1),
        "tool_calls": tool_calls,
        # hook tools one update-status called, by name
        "update_status_calls": dict(sorted(raw["calls"].items(), key=lambda kv: -kv[1])),
        "noop_calls": dict(sorted(raw["noop_calls"].items(), key=lambda kv: -kv[1])),
        "peak_rss_mib": round(raw["rss_kib"] / 1024, 1),
        "noop_peak_rss_mib": round(noop_rss / 1024, 1),
    }
