"""``snap`` on a machine: formats, then install/refresh/remove flows against a fake store with the
supervisor running, then the real etcd binaries in a PID namespace (skipped without the cache).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from localjuju import store as S
from localjuju.machine import snap as snapcmd

from .test_store import make_fake_cache
from .test_systemd import DEADLINE, Machine, wait_until

ROOT = Path(__file__).resolve().parents[2]
ETCD_CACHE = ROOT / ".cache" / "etcd"
REAL_STORE = Path(os.environ.get("LOCALJUJU_STORE") or ROOT / ".cache" / "snap-store")

# ---------------------------------------------------------------------------------------------
# Formats


def test_tabwriter_like_go() -> None:
    out = snapcmd.tabwrite(
        ["Name\tVersion\tRev\tNotes", "etcd\t3.5.16\t516\t-", "a-longer-name\t1\t2\t-"], 5, 2
    )
    assert out.splitlines() == [
        "Name           Version  Rev  Notes",
        "etcd           3.5.16   516  -",
        "a-longer-name  1        2    -",
    ]
    # a line without a tab ends the column block (as in snap info)
    out = snapcmd.tabwrite(["a:\tx", "long-key:\ty", "plain", "b:\tz"], 2, 1)
    assert out.splitlines() == ["a:        x", "long-key: y", "plain", "b: z"]


@pytest.mark.parametrize(
    ("amount", "text"),
    [(940, "940"), (5000, "5000"), (5001, "5.00k"), (14109910, "14.1M"), (16451773, "16.5M")],
)
def test_format_amount(amount: int, text: str) -> None:
    assert snapcmd.format_amount(amount) == text


def test_publishers() -> None:
    pub = {"username": "canonical", "display-name": "Canonical", "validation": "verified"}
    assert snapcmd.publisher_short(pub) == "canonical\u2713"
    assert snapcmd.publisher_long(pub) == "Canonical\u2713"
    assert snapcmd.publisher_long({"username": "bob", "display-name": "Alice"}) == "Alice (bob)"
    assert snapcmd.publisher_short(None) == "-"


def test_human_time() -> None:
    now = time.time()
    assert snapcmd.human_time(now, now).startswith("today at ")
    assert snapcmd.human_time(now - 86400, now).startswith("yesterday at ")


def test_arguments() -> None:
    a = snapcmd.parse(["etcd", "--channel", "3.4/stable", "--classic"])
    assert a.positional == ["etcd"] and a.get("channel") == "3.4/stable" and a.get("classic")
    assert snapcmd.parse(["--edge", "etcd"]).get("channel") == "edge"
    assert snapcmd.parse(["etcd", "-n", "5"]).get("n") == "5"


# ---------------------------------------------------------------------------------------------
# Flows against a fake store (shell stand-ins for etcd)


class SnapMachine(Machine):
    def snap(self, *args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
        return self.run("snap", *args, check=check)


@pytest.fixture
def sm(tmp_path: Path) -> Iterator[SnapMachine]:
    cache = make_fake_cache(tmp_path / "cache", ("3.4.23", "3.5.16", "3.5.30"))
    store = tmp_path / "store"
    S.build_etcd_store(str(cache), str(store))
    m = SnapMachine(tmp_path / "root", store=str(store))
    # the model's store overlay, as the controller writes it (see set_overlay)
    m.env["LOCALJUJU_STORE_OVERLAY"] = str(tmp_path / "overlay")
    m.root.mkdir()
    m.boot()
    yield m
    m.shutdown()


def write_conf(m: Machine) -> None:
    m.write("/var/snap/etcd/common/etcd.conf.yml", "name: test\n")


def test_install_list_info_services(sm: SnapMachine) -> None:
    p = sm.snap("install", "etcd", "--channel=3.4/stable")
    assert (p.returncode, p.stdout) == (
        0,
        "etcd (3.4/stable) 3.4.23 from Canonical\u2713 installed\n",
    )
    assert sm.path("/snap/etcd/current").resolve().name == "423"
    assert os.readlink(sm.path("/var/snap/etcd/current")) == "423"
    assert sm.path("/var/snap/etcd/common").is_dir()
    assert sm.path("/snap/bin/etcd.etcdctl").exists() and sm.path("/snap/bin/etcd").exists()
    unit = sm.path("/etc/systemd/system/snap.etcd.etcd.service").read_text()
    assert "ExecStart=/usr/bin/snap run etcd\n" in unit
    assert "WorkingDirectory=/var/snap/etcd/423\n" in unit
    assert sm.path(
        "/etc/systemd/system/multi-user.target.wants/snap.etcd.etcd.service"
    ).is_symlink()
    # without etcd.conf.yml the daemon wrapper says so and exits 0, as the real snap's
    wait_until(lambda: "No config found" in sm.journal("snap.etcd.etcd.service"))
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "inactive"
    p = sm.snap("install", "etcd")
    assert (p.returncode, p.stderr) == (
        0,
        "snap \"etcd\" is already installed, see 'snap help refresh'\n",
    )
    # the base came first, from the store, as snapd's prerequisites task installs it
    assert sm.snap("list").stdout.splitlines() == [
        "Name    Version   Rev   Tracking       Publisher   Notes",
        "core18  20231027  2812  latest/stable  canonical\u2713  base",
        "etcd    3.4.23    423   3.4/stable     canonical\u2713  -",
    ]
    info = sm.snap("info", "etcd").stdout
    assert "publisher: Canonical\u2713\n" in info
    assert "commands:\n  - etcd.etcdctl\n" in info
    assert "services:\n  etcd: simple, enabled, inactive\n" in info
    assert "tracking:     3.4/stable\n" in info
    assert "  3.4/stable:       3.4.23 " in info and "  3.4/candidate:    \u2191\n" in info
    assert "installed:          3.4.23 " in info
    assert sm.snap("services").stdout.splitlines() == [
        "Service    Startup  Current   Notes",
        "etcd.etcd  enabled  inactive  -",
    ]


def test_errors(sm: SnapMachine) -> None:
    p = sm.snap("install", "nope")
    assert (p.returncode, p.stderr) == (1, 'error: snap "nope" not found\n')
    p = sm.snap("install", "etcd", "--channel=3.9/stable")
    assert p.returncode == 1
    assert p.stderr.startswith(
        'error: snap "etcd" is not available on 3.9/stable but is available to install on the '
        "following tracks:\n"
    )
    assert "  3.4/stable     snap install --channel=3.4 etcd\n" in p.stderr
    p = sm.snap("refresh", "etcd")
    assert (p.returncode, p.stderr) == (1, 'error: snap "etcd" is not installed\n')
    p = sm.snap("remove", "etcd")
    assert (p.returncode, p.stderr) == (0, 'snap "etcd" is not installed\n')
    p = sm.snap("frobnicate")
    assert p.returncode == 1 and 'unknown command "frobnicate"' in p.stderr
    p = sm.snap("list")
    assert p.stderr == "No snaps are installed yet. Try 'snap install hello-world'.\n"


def test_app_environment_and_run(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", "--channel=3.4/stable", check=True)
    env = dict(sm.env)
    out = subprocess.run(
        [str(sm.path("/snap/bin/etcd.etcdctl")), "get", "x"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    root = str(sm.root)
    assert f"SNAP={root}/snap/etcd/423\n" in out
    assert f"SNAP_COMMON={root}/var/snap/etcd/common\n" in out
    assert f"SNAP_DATA={root}/var/snap/etcd/423\n" in out
    assert "SNAP_REVISION=423\n" in out and "SNAP_VERSION=3.4.23\n" in out
    assert f"HOME={root}/root/snap/etcd/423\n" in out
    assert "args=get x" in out
    run = sm.snap("run", "etcd.etcdctl", "--endpoints=x", "get", "y")
    assert run.returncode == 0 and "args=--endpoints=x get y" in run.stdout
    assert f"SNAP_DATA={root}/var/snap/etcd/423\n" in run.stdout


def test_refresh_copies_data_and_restarts(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", "--channel=3.4/stable", check=True)
    write_conf(sm)
    sm.systemctl("restart", "snap.etcd.etcd", check=True)
    # wait for a line, not the file: ``>>`` creates the file before echo writes to it. Under
    # load the start from ``install`` (Type=simple: done once forked) may itself find the config
    # written above, so the old revision can have run once or twice before the restart settles.
    old_run = sm.path("/var/snap/etcd/423/versions-run")
    wait_until(lambda: old_run.exists() and old_run.read_text().split(), what="fake etcd ran")
    old_pid = int(sm.prop("snap.etcd.etcd.service", "MainPID"))
    assert old_pid
    p = sm.snap("refresh", "etcd", "--channel=3.5/stable")
    assert p.stdout == "etcd (3.5/stable) 3.5.16 from Canonical\u2713 refreshed\n", p.stderr
    assert os.readlink(sm.path("/snap/etcd/current")) == "516"
    assert os.readlink(sm.path("/var/snap/etcd/current")) == "516"
    # the data was copied forward, then the new revision's daemon started in it
    ran_before = old_run.read_text().split()  # final: refresh stopped the old daemon
    assert ran_before and set(ran_before) == {"3.4.23"}
    new_run = sm.path("/var/snap/etcd/516/versions-run")
    wait_until(
        lambda: new_run.read_text().split() == [*ran_before, "3.5.16"],
        what="new daemon in the copied data",
    )
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "active"
    assert int(sm.prop("snap.etcd.etcd.service", "MainPID")) != old_pid
    assert (
        "WorkingDirectory=/var/snap/etcd/516"
        in sm.path("/etc/systemd/system/snap.etcd.etcd.service").read_text()
    )
    p = sm.snap("refresh", "etcd")
    assert (p.returncode, p.stderr) == (0, 'snap "etcd" has no updates available\n')
    p = sm.snap("refresh", "etcd", "--channel=latest/stable")
    assert p.stdout == "etcd 3.5.16 from Canonical\u2713 refreshed\n"
    assert "latest/stable" in sm.snap("list", "etcd").stdout
    p = sm.snap("revert", "etcd")
    assert p.stdout == "etcd reverted to 3.4.23\n"
    assert os.readlink(sm.path("/var/snap/etcd/current")) == "423"
    wait_until(lambda: sm.prop("snap.etcd.etcd.service", "ActiveState") == "active")


def test_stopped_daemon_stays_stopped_only_when_disabled(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", "--channel=3.4/stable", check=True)
    write_conf(sm)
    assert sm.snap("start", "etcd").stdout == "Started.\n"
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "active"
    assert sm.snap("stop", "--disable", "etcd.etcd").stdout == "Stopped.\n"
    assert sm.systemctl("is-enabled", "snap.etcd.etcd").stdout.strip() == "disabled"
    sm.snap("refresh", "etcd", "--channel=3.5/stable", check=True)
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "inactive"
    assert sm.snap("services", "etcd").stdout.splitlines()[1].split()[:3] == [
        "etcd.etcd",
        "disabled",
        "inactive",
    ]
    sm.snap("start", "--enable", "etcd", check=True)
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "active"
    assert sm.snap("restart", "etcd").stdout == "Restarted.\n"


def test_disable_enable_and_cohorts(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", check=True)
    write_conf(sm)
    sm.systemctl("start", "snap.etcd.etcd", check=True)
    assert sm.snap("disable", "etcd").stdout == "etcd disabled\n"
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "inactive"
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[-1] == "disabled"
    assert sm.snap("enable", "etcd").stdout == "etcd enabled\n"
    assert sm.prop("snap.etcd.etcd.service", "ActiveState") == "active"
    out = sm.snap("create-cohort", "etcd", check=True).stdout
    key = yaml.safe_load(out)["cohorts"]["etcd"]["cohort-key"]
    p = sm.snap("refresh", "etcd", "--cohort", key)
    assert p.returncode == 0
    p = sm.snap("refresh", "--list")
    assert (p.stdout, p.stderr) == ("", "All snaps up to date.\n")


def test_config_and_connections(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", check=True)
    p = sm.snap("get", "etcd")
    assert (p.returncode, p.stderr) == (1, 'error: snap "etcd" has no configuration\n')
    sm.snap("set", "etcd", "a=1", "b.c=text", "d=true", check=True)
    assert sm.snap("get", "etcd", "b.c").stdout == "text\n"
    assert sm.snap("get", "etcd", "a").stdout == "1\n"
    assert json.loads(sm.snap("get", "-d", "etcd").stdout) == {
        "a": 1,
        "b": {"c": "text"},
        "d": True,
    }
    sm.snap("unset", "etcd", "a", check=True)
    p = sm.snap("get", "etcd", "a")
    assert (p.returncode, p.stderr) == (1, 'error: snap "etcd" has no "a" configuration option\n')
    sm.snap("connect", "etcd:removable-media", check=True)
    assert "removable-media  etcd:removable-media" in sm.snap("connections", "etcd").stdout
    sm.snap("disconnect", "etcd:removable-media", check=True)
    # snapd lists a snap's unconnected plugs too, with slot "-"
    assert "removable-media  etcd:removable-media  -  " in sm.snap("connections", "etcd").stdout
    assert "removable-media" not in sm.snap("connections").stdout
    assert sm.snap("connect", "etcd:nope").returncode == 1


def test_system_options_exist_without_any_snap(sm: SnapMachine) -> None:
    # snapd's own options (refresh.timer, ...) live under the "system" pseudo-snap ("core")
    sm.snap("set", "system", "refresh.timer=fri5,23:00", check=True)
    assert sm.snap("get", "system", "refresh.timer").stdout == "fri5,23:00\n"
    assert sm.snap("get", "core", "refresh.timer").stdout == "fri5,23:00\n"
    p = sm.snap("set", "nothere", "a=1")
    assert (p.returncode, p.stderr) == (1, 'error: snap "nothere" is not installed\n')


def test_remove_keeps_a_snapshot_unless_purged(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", check=True)
    sm.write("/var/snap/etcd/common/keep", "x")
    p = sm.snap("remove", "etcd")
    assert p.stdout == "etcd removed (snap data snapshot saved)\n"
    for gone in ("/snap/etcd", "/var/snap/etcd", "/snap/bin/etcd.etcdctl"):
        assert not sm.path(gone).exists()
    assert not sm.path("/etc/systemd/system/snap.etcd.etcd.service").exists()
    assert sm.systemctl("is-active", "snap.etcd.etcd").stdout.strip() == "inactive"
    assert list(sm.path("/var/lib/snapd/snapshots").glob("*_etcd_*/common/keep"))
    sm.snap("install", "etcd", check=True)
    assert sm.snap("remove", "--purge", "etcd").stdout == "etcd removed\n"


def test_local_snap_needs_dangerous_and_amend(sm: SnapMachine, tmp_path: Path) -> None:
    local = tmp_path / "etcd_local.snap"
    shutil.copy(Path(sm.env["LOCALJUJU_STORE"]) / "snaps" / "etcd_516.snap", local)
    p = sm.snap("install", str(local))
    assert p.returncode == 1 and "cannot find signatures with metadata" in p.stderr
    p = sm.snap("install", "--dangerous", str(local))
    assert (p.returncode, p.stdout) == (0, "etcd 3.5.16 installed\n")
    assert sm.snap("list").stdout.splitlines()[2].split() == [
        "etcd",
        "3.5.16",
        "x1",
        "-",
        "-",
        "-",
    ]
    p = sm.snap("refresh", "etcd")
    assert 'local snap "etcd" is unknown to the store, use --amend' in p.stderr
    p = sm.snap("refresh", "--amend", "etcd", "--channel=3.4/stable")
    assert p.returncode == 0 and "3.4.23" in p.stdout


# ---------------------------------------------------------------------------------------------
# Bases, the model's view of the store (release, close a track, unreachable), holds, snapd


def set_overlay(m: Machine, **kw: object) -> S.Overlay:
    """Edit the machine's store overlay as the model's controller does."""
    d = m.env["LOCALJUJU_STORE_OVERLAY"]
    ov = S.load_overlay(d)
    for k, v in kw.items():
        setattr(ov, k, v)
    S.save_overlay(d, ov)
    return ov


def release(m: Machine, rev: int, *channels: str) -> None:
    d = m.env["LOCALJUJU_STORE_OVERLAY"]
    ov = S.load_overlay(d)
    S.overlay_release(S.load_store(m.env["LOCALJUJU_STORE"]), ov, "etcd", rev, channels)
    S.save_overlay(d, ov)


NO_DNS = (
    'persistent network error: Post "https://snap-store.localjuju/v2/snaps/refresh": '
    "dial tcp: lookup snap-store.localjuju: Temporary failure in name resolution"
)


def test_a_local_snap_needs_its_base_and_no_store_means_none(
    sm: SnapMachine, tmp_path: Path
) -> None:
    set_overlay(sm, reachable=False)
    store = sm.env["LOCALJUJU_STORE"]
    local = tmp_path / "etcd.snap"
    shutil.copy(Path(store) / "snaps" / "etcd_516.snap", local)
    p = sm.snap("install", "--dangerous", str(local))
    assert (p.returncode, p.stdout, p.stderr) == (
        1,
        "",
        "error: cannot perform the following tasks:\n"
        '- Ensure prerequisites for "etcd" are available (cannot install snap base "core18": '
        f"{NO_DNS})\n",
    )
    assert not sm.path("/snap/etcd").exists()
    # the base from a local file first (the files a test can attach as resources)
    core18 = tmp_path / "core18.snap"
    shutil.copy(S.base_snap_path(store, "core18"), core18)
    p = sm.snap("install", "--dangerous", str(core18))
    assert (p.returncode, p.stdout) == (0, "core18 20231027 installed\n"), p.stderr
    p = sm.snap("install", "--dangerous", str(local))
    assert (p.returncode, p.stdout) == (0, "etcd 3.5.16 installed\n"), p.stderr
    # local revisions count per snap, as snapd's (x1 for each; the failed try took none)
    assert [line.split() for line in sm.snap("list").stdout.splitlines()[1:]] == [
        ["core18", "20231027", "x1", "-", "-", "base"],
        ["etcd", "3.5.16", "x1", "-", "-", "-"],
    ]
    p = sm.snap("install", "--dangerous", str(local))
    assert p.returncode == 0, p.stderr
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[2] == "x2"
    # snap install core (what layer-etcd does), from the store
    set_overlay(sm, reachable=True)
    p = sm.snap("install", "core")
    assert p.stdout == "core 16-2.61.2 from Canonical\u2713 installed\n", p.stderr
    assert sm.snap("list", "core").stdout.splitlines()[1].split()[-1] == "core"


def test_an_unreachable_store_fails_every_store_operation(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", "--channel=3.4/stable", check=True)
    set_overlay(sm, reachable=False)

    def fails(*args: str) -> str:
        p = sm.snap(*args)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
        return p.stderr

    assert fails("install", "hello") == f'error: cannot install "hello": {NO_DNS}\n'
    assert fails("refresh", "etcd") == f'error: cannot refresh "etcd": {NO_DNS}\n'
    assert fails("refresh", "etcd", "--channel=3.5") == f'error: cannot refresh "etcd": {NO_DNS}\n'
    assert fails("refresh") == f"error: cannot refresh: {NO_DNS}\n"
    assert fails("refresh", "--list") == f"error: cannot list updates: {NO_DNS}\n"
    assert fails("find", "etcd") == "error: unable to contact snap store\n"
    assert fails("info", "hello") == 'error: no snap found for "hello"\n'
    # snap info of an installed snap: what is known locally, without the store's channels
    info = sm.snap("info", "etcd")
    assert info.returncode == 0 and "tracking:" in info.stdout
    assert "channels:" not in info.stdout and "installed:" in info.stdout
    # local operations go on
    assert sm.snap("list").returncode == 0
    assert sm.snap("services", "etcd").returncode == 0
    set_overlay(sm, reachable=True)
    assert sm.snap("refresh", "--list").returncode == 0


def test_a_revision_released_on_a_running_model_is_seen_at_once(sm: SnapMachine) -> None:
    p = sm.snap("install", "etcd", "--channel=3.5/stable")
    assert p.stdout == "etcd (3.5/stable) 3.5.16 from Canonical\u2713 installed\n", p.stderr
    assert sm.snap("refresh", "--list").stderr == "All snaps up to date.\n"
    release(sm, 530, "3.5/stable")
    rows = sm.snap("refresh", "--list").stdout.splitlines()
    assert [r.split()[:3] for r in rows] == [["Name", "Version", "Rev"], ["etcd", "3.5.30", "530"]]
    info = sm.snap("info", "etcd").stdout
    assert "  3.5/stable:       3.5.30 " in info and "(530)" in info
    assert "  latest/stable:    3.5.16 " in info  # only the channel released into moved
    p = sm.snap("refresh", "etcd")
    assert p.stdout == "etcd (3.5/stable) 3.5.30 from Canonical\u2713 refreshed\n", p.stderr
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[:3] == ["etcd", "3.5.30", "530"]
    # the shared store is untouched
    etcd = S.load_store(sm.env["LOCALJUJU_STORE"]).snap("etcd")
    assert etcd is not None and etcd.channels["3.5/stable"].revision == 516


def test_a_store_without_the_3_5_track(sm: SnapMachine) -> None:
    d = sm.env["LOCALJUJU_STORE_OVERLAY"]
    ov = S.load_overlay(d)
    S.overlay_remove_track(S.load_store(sm.env["LOCALJUJU_STORE"]), ov, "etcd", "3.5")
    S.save_overlay(d, ov)
    p = sm.snap("install", "etcd", "--channel=3.5/stable")
    assert p.returncode == 1
    assert p.stderr.startswith(
        'error: snap "etcd" is not available on 3.5/stable but is available to install on the '
        "following tracks:\n"
    )
    assert "3.5/" not in p.stderr.split("\n", 1)[1]
    info = sm.snap("info", "etcd").stdout
    assert "3.5/" not in info and "3.4/stable:" in info


def test_refresh_holds(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", "--channel=3.5/stable", check=True)
    p = sm.snap("refresh", "--hold", "etcd")
    assert (p.returncode, p.stdout) == (0, 'General refreshes of "etcd" held indefinitely\n')
    state = json.loads(sm.path("/var/lib/snapd/state.json").read_text())
    assert state["snaps"]["etcd"]["hold"] == "forever"
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[-1] == "held"
    release(sm, 530, "3.5/stable")
    # a general refresh leaves a held snap alone; a refresh naming it takes it
    p = sm.snap("refresh")
    assert (p.stdout, p.stderr) == ("", "All snaps up to date.\n")
    assert sm.snap("debug", "localjuju-auto-refresh").returncode == 0
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[2] == "516"
    p = sm.snap("refresh", "etcd")
    assert "3.5.30" in p.stdout and p.returncode == 0
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[-1] == "held"  # kept
    p = sm.snap("refresh", "--unhold", "etcd")
    assert p.stdout == 'Removed general refresh hold of "etcd"\n'
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[-1] == "-"
    # a hold with a duration ends at a time (Go's RFC 3339)
    p = sm.snap("refresh", "--hold=2h", "etcd", "core18")
    assert p.stdout.startswith('General refreshes of "etcd", "core18" held until 20'), p.stdout
    p = sm.snap("refresh", "--hold=soon", "etcd")
    assert p.stderr == (
        'error: hold value must be a number of hours, minutes or seconds, or "forever": '
        'time: invalid duration "soon"\n'
    )
    assert sm.snap("refresh", "--hold=500ms").stderr == (
        "error: cannot hold refreshes for less than a second: 500ms\n"
    )
    assert sm.snap("refresh", "--hold", "nope").stderr == 'error: snap "nope" is not installed\n'
    # all snaps: an auto-refresh hold, snapd's refresh.hold
    p = sm.snap("refresh", "--hold")
    assert p.stdout == "Auto-refresh of all snaps held indefinitely\n"
    assert sm.snap("get", "system", "refresh.hold").stdout == "forever\n"
    t = sm.snap("refresh", "--time").stdout.splitlines()
    assert t[0] == "timer: 00:00~24:00/4" and "hold: forever" in t and t[-1] == "next: n/a"
    p = sm.snap("refresh", "--unhold")
    assert p.stdout == "Removed auto-refresh hold on all snaps\n"
    assert sm.snap("get", "system", "refresh.hold").returncode == 1


def test_auto_refresh_respects_holds(sm: SnapMachine) -> None:
    sm.snap("install", "etcd", "--channel=3.5/stable", check=True)
    release(sm, 530, "3.5/stable")
    sm.snap("refresh", "--hold", check=True)  # all snaps: no auto-refresh
    p = sm.snap("debug", "localjuju-auto-refresh")
    assert p.stdout == "auto-refresh: all snaps held\n"
    sm.snap("refresh", "--unhold", check=True)
    sm.snap("set", "system", f"refresh.hold={snapcmd.go_rfc3339(time.time() + 3600)}", check=True)
    sm.snap("debug", "localjuju-auto-refresh", check=True)
    assert sm.snap("list", "etcd").stdout.splitlines()[1].split()[2] == "516"
    sm.snap("unset", "system", "refresh.hold", check=True)
    p = sm.snap("debug", "localjuju-auto-refresh")
    assert p.stdout == "etcd (3.5/stable) 3.5.30 from Canonical\u2713 refreshed\n", p.stderr
    changes = sm.snap("changes").stdout
    assert 'Auto-refresh snap "etcd"' in changes


def test_snapd_service_restarts_alone_and_refreshes_on_its_timer(tmp_path: Path) -> None:
    from localjuju.machine import snapd

    cache = make_fake_cache(tmp_path / "cache", ("3.4.23", "3.5.16", "3.5.30"))
    store = tmp_path / "store"
    S.build_etcd_store(str(cache), str(store))
    m = SnapMachine(tmp_path / "root", store=str(store))
    m.env["LOCALJUJU_STORE_OVERLAY"] = str(tmp_path / "overlay")
    m.root.mkdir()
    # services do not inherit PYTHONPATH: the daemon's Python gets this checkout's
    py = tmp_path / "python"
    py.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} "$@"\n')
    py.chmod(0o755)
    env = dict(os.environ, LOCALJUJU_MACHINE_ROOT=str(m.root))
    subprocess.run(
        [sys.executable, "-c", f"from localjuju.machine import snapd; snapd.install('{py}')"],
        env=env,
        check=True,
    )
    assert m.path(snapd.WANTS).is_symlink()
    m.boot()
    try:
        wait_until(lambda: m.prop("snapd.service", "ActiveState") == "active")
        m.snap("install", "etcd", "--channel=3.5/stable", check=True)
        write_conf(m)
        m.systemctl("restart", "snap.etcd.etcd.service", check=True)
        pid = wait_until(lambda: int(m.prop("snap.etcd.etcd.service", "MainPID")))
        snapd_pid = m.prop("snapd.service", "MainPID")
        m.systemctl("restart", "snapd.service", check=True)
        assert m.systemctl("is-active", "snapd.service").stdout == "active\n"
        assert m.prop("snapd.service", "MainPID") != snapd_pid
        assert "Snap Daemon" in m.systemctl("status", "snapd").stdout
        assert int(m.prop("snap.etcd.etcd.service", "MainPID")) == pid  # undisturbed
        # the store moves; snapd refreshes etcd on its own (and restarts it) once it is due
        release(m, 530, "3.5/stable")
        time.sleep(2)
        assert "516" in m.snap("list", "etcd").stdout  # auto-refresh is off by default
        set_overlay(m, auto_refresh=1)
        wait_until(lambda: "530" in m.snap("list", "etcd").stdout, what="auto-refresh")
        wait_until(lambda: int(m.prop("snap.etcd.etcd.service", "MainPID")) not in (0, pid))
        assert "etcd (3.5/stable) 3.5.30" in m.journal("snapd.service")
    finally:
        m.shutdown()


# ---------------------------------------------------------------------------------------------
# The real thing: etcd binaries, the supervisor as PID 1 of a PID namespace


def free_ports(n: int) -> list[int]:
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def _real_prereqs() -> str | None:
    if os.geteuid() != 0:
        return "needs root for unshare --pid --mount"
    if shutil.which("unshare") is None:
        return "unshare is not installed"
    for v in ("3.4.23", "3.5.16"):
        if not os.access(ETCD_CACHE / v / "etcd", os.X_OK):
            return f"etcd {v} is not cached in {ETCD_CACHE} (run scripts/fetch-etcd)"
    if not (REAL_STORE / "index.json").exists():
        return f"no snap store in {REAL_STORE} (run scripts/fetch-etcd)"
    if S.load_store(str(REAL_STORE)).snap("core18") is None:
        return f"the snap store in {REAL_STORE} has no core18 (run scripts/fetch-etcd)"
    return None


class NamespacedMachine(SnapMachine):
    """init as PID 1 of ``unshare --pid --fork --mount-proc --mount``, root at a directory."""

    def boot(self) -> None:
        self.path("/run/localjuju").mkdir(parents=True, exist_ok=True)
        log = open(self.root / "init.out", "wb")  # noqa: SIM115
        self.proc = proc = subprocess.Popen(
            [
                "unshare",
                "--pid",
                "--fork",
                "--mount-proc",
                "--mount",
                "--kill-child",
                sys.executable,
                "-m",
                "localjuju.machine.init",
            ],
            env=self.env,
            stdout=log,
            stderr=log,
        )
        log.close()
        ready = self.path("/run/localjuju/ready")
        wait_until(lambda: ready.exists() or proc.poll() is not None, what="init ready")
        assert proc.poll() is None, (self.root / "init.out").read_text()
        assert ready.read_text().strip() == "1"  # PID 1 of its namespace

    def shutdown(self, timeout: float = DEADLINE) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.systemctl("poweroff")
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.send_signal(signal.SIGKILL)  # unshare --kill-child takes the namespace
            self.proc.wait(5)
            raise


def timed(what: str, t0: float, report: list[str]) -> None:
    report.append(f"{what}: {time.monotonic() - t0:.3f}s")


def test_real_etcd_in_a_pid_namespace(tmp_path: Path) -> None:
    reason = _real_prereqs()
    if reason:
        pytest.skip(reason)
    m = NamespacedMachine(tmp_path / "root", store=str(REAL_STORE))
    m.root.mkdir()
    report: list[str] = []
    client, peer = free_ports(2)
    endpoint = f"http://127.0.0.1:{client}"
    m.boot()
    try:
        t0 = time.monotonic()
        p = m.snap("install", "etcd", "--channel=3.4/stable")
        timed("snap install etcd (3.4/stable)", t0, report)
        assert p.stdout == "etcd (3.4/stable) 3.4.23 from Canonical\u2713 installed\n", p.stderr
        data_dir = m.path("/var/snap/etcd/current/m0.etcd")
        m.write(
            "/var/snap/etcd/common/etcd.conf.yml",
            f"name: m0\ndata-dir: {data_dir}\n"
            f"listen-client-urls: {endpoint}\nadvertise-client-urls: {endpoint}\n"
            f"listen-peer-urls: http://127.0.0.1:{peer}\n"
            f"initial-advertise-peer-urls: http://127.0.0.1:{peer}\n"
            f"initial-cluster: m0=http://127.0.0.1:{peer}\n",
        )
        etcdctl = [str(m.path("/snap/bin/etcd.etcdctl")), f"--endpoints={endpoint}"]

        def ctl(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [*etcdctl, "--command-timeout=2s", *args],
                env=m.env,
                capture_output=True,
                text=True,
                timeout=30,
            )

        def status() -> dict | None:
            p = ctl("-w", "json", "endpoint", "status")
            return json.loads(p.stdout)[0]["Status"] if p.returncode == 0 else None

        t0 = time.monotonic()
        m.systemctl("enable", "--now", "snap.etcd.etcd", check=True)
        st = wait_until(status, 30, "etcd answering")
        timed("systemctl enable --now -> etcd answering", t0, report)
        assert st["version"] == "3.4.23"
        assert ctl("put", "survivor", "written-by-3.4").returncode == 0

        pid = int(m.prop("snap.etcd.etcd.service", "MainPID"))
        t0 = time.monotonic()
        m.systemctl("kill", "--signal=SIGKILL", "snap.etcd.etcd", check=True)

        def new_pid() -> int:
            p = int(m.prop("snap.etcd.etcd.service", "MainPID"))
            return p if p not in (0, pid) else 0

        wait_until(new_pid, 30, "etcd restarted after SIGKILL")
        timed("SIGKILL -> new MainPID", t0, report)
        wait_until(status, 30, "etcd answering after the restart")
        timed("SIGKILL -> etcd answering again", t0, report)
        assert m.prop("snap.etcd.etcd.service", "NRestarts") == "1"

        t0 = time.monotonic()
        m.systemctl("stop", "snap.etcd.etcd", check=True)
        timed("systemctl stop", t0, report)
        assert m.prop("snap.etcd.etcd.service", "ActiveState") == "inactive"
        assert ctl("endpoint", "health").returncode != 0

        t0 = time.monotonic()
        p = m.snap("refresh", "etcd", "--channel=3.5/stable")
        timed("snap refresh --channel=3.5/stable", t0, report)
        assert p.stdout == "etcd (3.5/stable) 3.5.16 from Canonical\u2713 refreshed\n", p.stderr
        # the daemon was enabled: the refresh started it again, on the copied data
        st = wait_until(status, 30, "etcd 3.5 answering")
        timed("snap refresh -> etcd 3.5 answering", t0, report)
        assert st["version"] == "3.5.16"
        got = ctl("get", "survivor", "--print-value-only")
        assert got.stdout.strip() == "written-by-3.4"
        assert os.readlink(m.path("/var/snap/etcd/current")) == "516"
        assert (m.path("/var/snap/etcd/423/m0.etcd")).is_dir()  # the old revision's data stays
        status_text = m.systemctl("status", "snap.etcd.etcd").stdout
        assert "Active: active (running)" in status_text and "(etcd)" in status_text
    finally:
        rc = m.shutdown()
        print("\n" + "\n".join(report))
    assert rc == 0
