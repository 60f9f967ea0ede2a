"""Integration tests (jubilant) of the etcd charm.

They run on the local model by default (``.venv/bin/localjuju``) and unchanged on a real Juju
controller: set ``JUJU_CLI=juju`` (and ``ETCD_CHARM`` to a built charm, ``ETCD_CLIENT_CHARM``
to a charm requiring the etcd interface with put/get/show actions; the local model has
``etcd-client`` built in).
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jubilant
import pytest

ROOT = Path(__file__).resolve().parents[1]
CLI = os.environ.get("JUJU_CLI") or str(ROOT / ".venv" / "bin" / "localjuju")
LOCAL = os.path.basename(CLI) == "localjuju"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: runs a Juju model (local model: root)")


@pytest.fixture(scope="session")
def etcd_charm() -> str:
    """The charm file the tests deploy: ``ETCD_CHARM`` or a fresh ``build/etcd.charm``."""
    given = os.environ.get("ETCD_CHARM")
    if given:
        return given
    subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / "scripts/build-charm")], check=True)
    return str(ROOT / "build" / "etcd.charm")


def packed(charm_dir: str | Path) -> str:
    """A copy of a test charm directory with its symlinks resolved, as a charm build packs
    it (the test charms share files through links that lead out of the charm, which Juju
    refuses)."""
    dest = Path(tempfile.mkdtemp(prefix="packed-charm-")) / Path(charm_dir).name
    shutil.copytree(charm_dir, dest, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    return str(dest)


#: The base of the suite's machines: the model's ``default-base``, which Juju uses for every
#: deployment without ``--base`` (unset, it would choose the latest LTS, 24.04). A test module
#: sets ``BASE`` to run on another base.
DEFAULT_BASE = "ubuntu@22.04"


@pytest.fixture(scope="module")
def juju(request: pytest.FixtureRequest) -> Iterator[jubilant.Juju]:
    """A fresh model for one test module, destroyed afterwards (``KEEP_MODELS=1`` keeps
    it; ``USE_MODEL=<name>`` runs the module's tests on an existing model instead). Its
    ``default-base`` is the module's ``BASE`` (default :data:`DEFAULT_BASE`)."""
    if LOCAL and os.geteuid() != 0:
        pytest.skip("the local model needs root (bridge, veth, mounts)")
    j = jubilant.Juju(cli_binary=CLI)
    reuse = os.environ.get("USE_MODEL")
    if reuse:  # development: run some tests of a module on a model kept by KEEP_MODELS=1
        j.model = reuse
        yield j
        return
    name = f"etcd-{secrets.token_hex(3)}"
    j.add_model(name, config={"default-base": getattr(request.module, "BASE", DEFAULT_BASE)})
    j.model = name
    try:
        yield j
    finally:
        if not os.environ.get("KEEP_MODELS"):
            j.destroy_model(name, destroy_storage=True, force=True)


def ctl(port: int = 2379) -> str:
    """The etcdctl command line on a unit, talking to its own member with its client
    certificate (for shell commands run with ``juju exec``)."""
    return (
        f"ETCDCTL_API=3 /snap/bin/etcd.etcdctl --endpoints=https://127.0.0.1:{port} "
        "--cacert=/var/snap/etcd/common/ca.crt --cert=/var/snap/etcd/common/client.crt "
        "--key=/var/snap/etcd/common/client.key"
    )


def etcdctl(juju: jubilant.Juju, unit: str, args: str, port: int = 2379) -> Any:
    """``etcdctl <args> -w json`` on a unit with its client certificate; parsed JSON."""
    task = juju.exec(f"{ctl(port)} -w json {args}", unit=unit)
    return json.loads(task.stdout)


def etcd_starts(juju: jubilant.Juju, unit: str) -> int:
    """How many times etcd started on the unit (its 'starting an etcd server' log lines)."""
    task = juju.exec(
        "journalctl -u snap.etcd.etcd --no-pager | grep -c 'starting an etcd server' || true",
        unit=unit,
    )
    return int(task.stdout.strip() or 0)


def etcd_units(status: jubilant.Status, app: str = "etcd") -> dict[str, Any]:
    return status.apps[app].units if app in status.apps else {}


def all_healthy(app: str, count: int) -> Callable[[jubilant.Status], bool]:
    def ready(status: jubilant.Status) -> bool:
        units = etcd_units(status, app)
        return len(units) == count and all(
            u.workload_status.current == "active"
            and u.workload_status.message == f"Healthy with {count} known peers"
            for u in units.values()
        )

    return ready


def unit_addresses(status: jubilant.Status, app: str = "etcd") -> dict[str, str]:
    return {name: u.public_address for name, u in etcd_units(status, app).items()}


def member_list(juju: jubilant.Juju, unit: str, port: int = 2379) -> list[dict]:
    return etcdctl(juju, unit, "member list", port)["members"]


def run(
    juju: jubilant.Juju, unit: str, action: str, wait: float | None = None, **params: object
) -> dict[str, Any]:
    """Run an action that must complete; its results."""
    task = juju.run(unit, action, params, wait=wait)
    assert task.status == "completed", task
    return task.results


def failure(
    juju: jubilant.Juju, unit: str, action: str, wait: float | None = None, **params: object
) -> str:
    """Run an action that must fail; its failure message."""
    with pytest.raises(jubilant.TaskError) as e:
        juju.run(unit, action, params, wait=wait)
    return str(e.value.task.message)


def one_at_a_time(juju: jubilant.Juju, units: list[str], start: str, end: str) -> None:
    """Each unit's window in the debug log, from its first line containing ``start`` to its
    first containing ``end``, ends before the next unit's begins: no two units were taken
    down at once (a rolling upgrade or refresh)."""
    log = juju.cli("debug-log", "--replay", "--no-tail", "--include", "etcd")
    windows = []
    for unit in units:
        tag = f"unit-{unit.replace('/', '-')}"
        lines = [ln for ln in log.splitlines() if ln.startswith(tag + ":")]
        first = next(ln for ln in lines if start in ln)
        last = next(ln for ln in lines if end in ln)
        windows.append((log.index(first), log.index(last)))
    windows.sort()
    for (_, prev_end), (next_start, _) in zip(windows, windows[1:], strict=False):
        assert prev_end < next_start, "two units were down at the same time"


#: a unit's backup store
BACKUP_STORE = "/var/snap/etcd/common/backups"


def stored_backups(juju: jubilant.Juju, unit: str, kind: str = "") -> list[dict[str, Any]]:
    """The backups recorded in the unit's store (their ``<id>.json``), oldest first, each
    with ``archive_stat``: the mode and size of its archive (``stat -c '%a %s'``)."""
    script = (
        "import glob, json, os\n"
        f"out = []\nfor p in sorted(glob.glob('{BACKUP_STORE}/*.json')):\n"
        "    b = json.load(open(p))\n"
        "    st = os.stat(p[:-5] + '.tar.gz')\n"
        "    b['archive_stat'] = [oct(st.st_mode & 0o777)[2:], st.st_size]\n"
        "    out.append(b)\nprint(json.dumps(out))\n"
    )
    out = juju.exec(f"python3 -c {shlex.quote(script)}", unit=unit).stdout
    return [b for b in json.loads(out) if not kind or b["kind"] == kind]
