"""Storage on the local model, as Juju 3.6 provisions it: block volumes that are real loop
devices, their hooks in Juju's order, and their life beyond a unit (docs/localjuju-fidelity.md).

One model: the hooklog charm with its ``disks`` store (block, 0-2, minimum 16M), told to format
and mount each volume it is given (``mount-storage``), so that what a test reads back is what a
charm wrote on a block device.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

import jubilant
import pytest

from localjuju import paths

from .conftest import HOOKLOG

pytestmark = pytest.mark.integration

POOL = "ljvolume"


def hook_log(juju: jubilant.Juju, unit: str) -> list[dict[str, Any]]:
    task = juju.exec("cat /var/lib/hooklog/hooks.log", unit=unit)
    return [json.loads(line) for line in task.stdout.splitlines() if line.strip()]


def logged_hooks(juju: jubilant.Juju, unit: str) -> list[str]:
    """The hooks a unit ran, from its juju-log lines (they outlive its machine)."""
    tag = f"unit-{unit.replace('/', '-')}"
    out = []
    for line in juju.debug_log(limit=1_000_000).splitlines():
        if line.startswith(tag + ":") and "hooklog: {" in line:
            out.append(json.loads(line.split("hooklog: ", 1)[1])["hook"])
    return out


def storage(juju: jubilant.Juju) -> dict[str, Any]:
    out = juju.cli("storage", "--format=json")
    return json.loads(out) if out.strip() else {}


def wait_for(pred: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.5)


def host_loops(model: str) -> list[str]:
    """The host's loop devices whose file is one of the model's volumes."""
    out = subprocess.run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    d = str(paths.model_dir(model) / "volumes")
    return [ln.split()[0] for ln in out.splitlines() if d in ln]


def cli_error(juju: jubilant.Juju, *args: str) -> str:
    with pytest.raises(jubilant.CLIError) as e:
        juju.cli(*args)
    return e.value.stderr


@pytest.fixture(scope="module")
def model(juju: jubilant.Juju) -> Iterator[jubilant.Juju]:
    juju.deploy(HOOKLOG, "st", num_units=2, storage={"disks": f"{POOL},32M"},
                config={"mount-storage": True})  # fmt: skip
    juju.wait(jubilant.all_active, timeout=180)
    name = juju.model
    assert name is not None
    yield juju
    # destroy-model (the juju fixture) releases every loop device; checked after it by the
    # last test of the module, which destroys a model of its own


def test_deployed_storage_is_attached_before_install(model: jubilant.Juju) -> None:
    juju = model
    s = juju.status()
    for unit in ("st/0", "st/1"):
        log = hook_log(juju, unit)
        assert [e["hook"] for e in log[:2]] == ["disks-storage-attached", "install"]
        first = log[0]
        sid = first["env"]["JUJU_STORAGE_ID"]
        dev = first["env"]["JUJU_STORAGE_LOCATION"]
        assert first["env"]["JUJU_STORAGE_KIND"] == "block"
        assert dev.startswith("/dev/loop")
        assert first["storage_get"] == {"kind": "block", "location": dev}
        assert first["storage_list"] == [sid]
        assert first["mount"] == "formatted and mounted"
        # jubilant's view of status: the storage, its unit attachment and its volume
        info = s.storage.storage[sid]
        assert (info.kind, info.persistent, info.status.current) == ("block", True, "attached")
        assert info.attachments is not None
        att = info.attachments.units[unit]
        assert (att.machine, att.location, att.life) == (s.apps["st"].units[unit].machine, dev,
                                                         "alive")  # fmt: skip
        vol = next(v for v in s.storage.volumes.values() if v.storage == sid)
        assert (vol.pool, vol.size, vol.persistent) == (POOL, 32, True)
        assert vol.attachments.machines[att.machine].device == dev.removeprefix("/dev/")
        # a real ext4 file system of 32 MiB on that block device, mounted in the machine
        out = juju.exec(f"findmnt -n -o SOURCE,FSTYPE /mnt/{sid.replace('/', '-')}; "
                        f"blockdev --getsize64 {dev}", unit=unit).stdout.split()  # fmt: skip
        assert out == [dev, "ext4", str(32 << 20)]
    shown = json.loads(juju.cli("show-storage", "disks/0", "--format=json"))
    assert list(shown) == ["disks/0"] and shown["disks/0"]["kind"] == "block"
    assert 'storage instance "disks/9" not found' in cli_error(juju, "show-storage", "disks/9")


def test_add_storage_runs_its_hook_and_keeps_to_the_charm_s_range(model: jubilant.Juju) -> None:
    juju = model
    assert juju.cli("add-storage", "st/0", "disks") == ""  # Juju says it on stderr
    wait_for(lambda: len(juju.status().storage.storage) == 3)
    new = max(juju.status().storage.storage, key=lambda i: int(i.split("/")[1]))
    wait_for(
        lambda: any(
            e["hook"] == "disks-storage-attached" and e["env"]["JUJU_STORAGE_ID"] == new
            for e in hook_log(juju, "st/0")
        )
    )
    vol = next(v for v in juju.status().storage.volumes.values() if v.storage == new)
    assert (vol.pool, vol.size) == (POOL, 32)  # the application's recorded constraints
    msg = cli_error(juju, "add-storage", "st/0", "disks")
    assert msg.strip() == (
        'failed to add storage "disks" to st/0: adding "disks" storage to st/0: attaching 1 '
        "storage instance brings the total to 3, exceeding the maximum of 2"
    )
    assert len(juju.status().storage.storage) == 3
    assert 'store "disks": minimum storage size is 16 MB, 8.0 MB specified' in cli_error(
        juju, "add-storage", "st/1", "disks=8M"
    )
    assert 'pool "nope" not found' in cli_error(juju, "add-storage", "st/1", "disks=nope")


def test_a_volume_and_its_mount_survive_a_machine_restart(model: jubilant.Juju) -> None:
    juju = model
    machine = juju.status().apps["st"].units["st/0"].machine
    juju.exec("echo before-restart > /mnt/disks-0/marker && sync", unit="st/0")
    juju.cli("stop-machine", machine)
    juju.cli("start-machine", machine)
    juju.wait(jubilant.all_active, timeout=120)
    out = juju.exec("findmnt -n -o FSTYPE /mnt/disks-0; cat /mnt/disks-0/marker", unit="st/0")
    assert out.stdout.split() == ["ext4", "before-restart"]


def test_detach_runs_detaching_and_frees_the_volume_for_another_unit(
    model: jubilant.Juju,
) -> None:
    juju = model
    new = max(juju.status().storage.storage, key=lambda i: int(i.split("/")[1]))
    mnt = f"/mnt/{new.replace('/', '-')}"
    juju.exec(f"echo moved > {mnt}/marker && sync", unit="st/0")
    loops = len(host_loops(juju.model or ""))
    juju.cli("detach-storage", new)
    wait_for(lambda: storage(juju)["storage"][new]["status"]["current"] == "detached")
    entry = [e for e in hook_log(juju, "st/0") if e["hook"] == "disks-storage-detaching"][-1]
    assert entry["env"]["JUJU_STORAGE_ID"] == new and entry["mount"] == "unmounted"
    st = storage(juju)
    assert "attachments" not in st["storage"][new] and st["storage"][new]["persistent"] is True
    vol = next(v for v in st["volumes"].values() if v["storage"] == new)
    assert "attachments" not in vol and vol["status"]["current"] == "detached"
    assert len(host_loops(juju.model or "")) == loops - 1  # its loop device is released
    assert juju.status().apps["st"].units["st/0"].workload_status.current == "active"

    # attached to the other unit, on another machine: its data is there, not reformatted
    juju.cli("attach-storage", "st/1", new)
    wait_for(
        lambda: any(
            e["hook"] == "disks-storage-attached" and e["env"]["JUJU_STORAGE_ID"] == new
            for e in hook_log(juju, "st/1")
        )
    )
    entry = [e for e in hook_log(juju, "st/1") if e["hook"] == "disks-storage-attached"][-1]
    assert entry["mount"] == "mounted"
    assert juju.exec(f"cat {mnt}/marker", unit="st/1").stdout.strip() == "moved"
    assert "cannot attach storage owned by unit st/0 to unit st/1" in cli_error(
        juju, "attach-storage", "st/1", "disks/0"
    )


def test_a_volume_left_mounted_is_not_detached_until_unmounted(model: jubilant.Juju) -> None:
    juju = model
    juju.config("st", {"keep-mounted": True})
    juju.cli("detach-storage", "disks/0")
    wait_for(lambda: "error" == storage(juju)["storage"]["disks/0"]["status"]["current"])
    st = storage(juju)["storage"]["disks/0"]
    assert "attachments" not in st  # the unit let go of it; the machine still has it mounted
    assert st["status"]["message"].endswith("is in use (mounted at /mnt/disks-0)")
    juju.exec("umount /mnt/disks-0", unit="st/0")
    wait_for(lambda: "detached" == storage(juju)["storage"]["disks/0"]["status"]["current"])
    juju.config("st", {"keep-mounted": False})


def test_removing_a_unit_detaches_its_storage_and_a_new_unit_takes_it(
    model: jubilant.Juju,
) -> None:
    juju = model
    mine = sorted(i for i, s in juju.status().storage.storage.items()
                  if s.attachments and "st/1" in s.attachments.units)  # fmt: skip
    assert len(mine) == 2
    juju.exec(f"echo kept > /mnt/{mine[0].replace('/', '-')}/marker && sync", unit="st/1")
    out = subprocess.run([str(juju.cli_binary), "remove-unit", "-m", juju.model or "", "st/1",
                          "--no-prompt"], capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stderr.splitlines() == ["will remove unit st/1"] + [
        f"- will detach storage {i}" for i in mine
    ]
    juju.wait(lambda s: "st/1" not in s.apps["st"].units, timeout=120)
    hooks = logged_hooks(juju, "st/1")
    tail = hooks[hooks.index("disks-storage-detaching") :]
    assert tail[:2] == ["disks-storage-detaching", "disks-storage-detaching"]
    assert tail[-2:] == ["stop", "remove"]
    assert tail.index("peers-relation-departed") > 1
    wait_for(lambda: all(storage(juju)["storage"][i]["status"]["current"] == "detached"
                         for i in mine))  # fmt: skip

    juju.add_unit("st", attach_storage=mine[0])
    juju.wait(lambda s: len(s.apps["st"].units) == 2 and jubilant.all_active(s), timeout=180)
    unit = max(juju.status().apps["st"].units, key=lambda u: int(u.split("/")[1]))
    log = hook_log(juju, unit)
    assert [e["hook"] for e in log[:2]] == ["disks-storage-attached", "install"]
    assert log[0]["env"]["JUJU_STORAGE_ID"] == mine[0] and log[0]["mount"] == "mounted"
    mnt = f"/mnt/{mine[0].replace('/', '-')}"
    assert juju.exec(f"cat {mnt}/marker", unit=unit).stdout.strip() == "kept"
    # the application's constraints gave it no second volume: it came with one
    assert [e["storage_list"] for e in log[:1]] == [[mine[0]]]


def test_remove_storage(model: jubilant.Juju) -> None:
    juju = model
    st = juju.status().storage.storage
    attached = next(i for i, s in st.items() if s.attachments)
    detached = next(i for i, s in st.items() if not s.attachments)
    msg = cli_error(juju, "remove-storage", attached)
    assert f'failed to remove {attached}: cannot destroy storage "{attached}": storage is ' \
           "attached" in msg and "Use the --force option" in msg  # fmt: skip
    vol = next(v for v in storage(juju)["volumes"].values() if v["storage"] == detached)
    img = paths.model_dir(juju.model or "") / "volumes" / f"{vol['provider-id']}.img"
    assert img.exists()
    juju.cli("remove-storage", detached)
    assert detached not in storage(juju).get("storage", {})
    assert not img.exists()


def test_the_loop_pool_is_bound_to_its_machine(model: jubilant.Juju) -> None:
    juju = model
    juju.deploy(HOOKLOG, "lp", storage={"disks": "loop,16M"})
    juju.wait(lambda s: jubilant.all_active(s) and "lp/0" in s.apps["lp"].units, timeout=180)
    s = juju.status()
    machine = s.apps["lp"].units["lp/0"].machine
    sid = next(i for i, v in s.storage.storage.items()
               if v.attachments and "lp/0" in v.attachments.units)  # fmt: skip
    vid = next(k for k, v in s.storage.volumes.items() if v.storage == sid)
    assert vid.startswith(f"{machine}/") and s.storage.storage[sid].persistent is False
    juju.cli("detach-storage", sid)
    wait_for(lambda: "attachments" not in storage(juju)["storage"][sid])
    # the unit let go of it, the machine keeps it: it cannot go elsewhere
    assert storage(juju)["volumes"][vid]["attachments"]["machines"][machine]["device"]
    other = next(u for u in juju.status().apps["st"].units)
    msg = cli_error(juju, "attach-storage", other, sid)
    assert f"storage is non-detachable (bound to machine {machine})" in msg
    juju.cli("attach-storage", "lp/0", sid)
    wait_for(lambda: "lp/0" in storage(juju)["storage"][sid].get("attachments", {}).get(
        "units", {}))  # fmt: skip
    out = subprocess.run([str(juju.cli_binary), "remove-unit", "-m", juju.model or "", "lp/0",
                          "--no-prompt"], capture_output=True, text=True, check=True)  # fmt: skip
    assert f"- will remove storage {sid}" in out.stderr.splitlines()
    juju.wait(lambda s: "lp/0" not in s.apps["lp"].units, timeout=120)
    wait_for(lambda: sid not in storage(juju).get("storage", {}))
    assert vid not in storage(juju).get("volumes", {})
    juju.remove_application("lp")
    juju.wait(lambda s: "lp" not in s.apps, timeout=60)


def test_removing_the_application_keeps_its_volumes_for_a_new_one(
    model: jubilant.Juju,
) -> None:
    juju = model
    before = storage(juju)["storage"]
    mine = sorted(i for i, s in before.items() if "attachments" in s)
    juju.remove_application("st")
    juju.wait(lambda s: "st" not in s.apps, timeout=180)
    wait_for(lambda: all(storage(juju)["storage"][i]["status"]["current"] == "detached"
                         for i in mine))  # fmt: skip
    juju.deploy(HOOKLOG, "st2", attach_storage=mine[0], config={"mount-storage": True})
    juju.wait(lambda s: "st2/0" in s.apps["st2"].units and jubilant.all_active(s), timeout=180)
    log = hook_log(juju, "st2/0")
    assert log[0]["hook"] == "disks-storage-attached" and log[0]["mount"] == "mounted"


def test_destroying_the_model_releases_every_loop_device(model: jubilant.Juju) -> None:
    juju = jubilant.Juju(cli_binary=model.cli_binary)
    name = f"{model.model}-x"
    juju.add_model(name)
    juju.model = name
    try:
        juju.deploy(HOOKLOG, "d", storage={"disks": f"{POOL},16M,2"})
        juju.wait(lambda s: len(s.storage.storage) == 2 and "d/0" in s.apps["d"].units,
                  timeout=120)  # fmt: skip
        assert len(host_loops(name)) == 2
    finally:
        juju.destroy_model(name, destroy_storage=True, force=True)
    assert host_loops(name) == []
