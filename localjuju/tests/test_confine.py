"""Strict confinement of snap apps (localjuju/machine/confine.py): a snap's commands and its
daemon run in a mount namespace with snapd's view and without CAP_DAC_OVERRIDE.

The installed snap's commands are replaced by a probe (``etcd.etcdctl 'shell command'`` runs
the command confined as that app), so each check runs a real confined process against a
machine directory; each is paired with the same command run unconfined, which succeeds, so a
confinement that let it through would fail the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from localjuju import store as S

from .test_snap import SnapMachine
from .test_store import make_fake_cache
from .test_systemd import wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or not shutil.which("setpriv") or not shutil.which("nsenter"),
    reason="needs root, setpriv and nsenter (util-linux)",
)

REPO = Path(__file__).resolve().parents[2]

PROBE = """#!/bin/sh
# confinement probe: the daemon runs $SNAP_COMMON/daemon.sh, a command runs its argument
if [ $# = 0 ]; then exec /bin/sh "$SNAP_COMMON/daemon.sh"; fi
exec /bin/sh -c "$1"
"""


class Confined(SnapMachine):
    def app(self, app: str, command: str, **env: str) -> subprocess.CompletedProcess[str]:
        """``command`` run by the snap's ``app`` through its /snap/bin command."""
        cmd = "etcd" if app == "etcd" else f"etcd.{app}"
        return subprocess.run(
            [str(self.path(f"/snap/bin/{cmd}")), command],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def unconfined(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True)

    def m(self, p: str) -> str:
        return str(self.path(p))

    def snap_cmd(self) -> list[str]:
        return [sys.executable, "-m", "localjuju.machine.snap"]


def install_probe(m: Confined, env: dict[str, str] | None = None) -> None:
    p = subprocess.run(
        [*m.snap_cmd(), "install", "etcd", "--channel=3.4/stable"],
        env={**m.env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, p.stderr
    for f in ("bin/etcdctl", "bin/snap-wrap.sh"):
        probe = m.path(f"/snap/etcd/423/{f}")
        probe.write_text(PROBE)
        probe.chmod(0o755)


@pytest.fixture
def cm(tmp_path: Path) -> Iterator[Confined]:
    cache = make_fake_cache(tmp_path / "cache")
    store = tmp_path / "store"
    S.build_etcd_store(str(cache), str(store))
    m = Confined(tmp_path / "root", store=str(store))
    m.root.mkdir()
    for d in ("root", "home/ubuntu", "srv", "tmp", "mnt", "var/lib/juju"):
        m.path(f"/{d}").mkdir(parents=True, exist_ok=True)
    m.path("/tmp").chmod(0o1777)
    # the daemon's ``/usr/bin/snap run`` must import this tree's localjuju (services get no
    # PYTHONPATH, and the venv's editable install may point at another checkout)
    snap = m.write(
        "/usr/bin/snap",
        f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m localjuju.machine.snap " '"$@"\n',
    )
    snap.chmod(0o755)
    m.boot()
    install_probe(m)
    yield m
    m.shutdown()


def refused(m: Confined, app: str, command: str) -> str:
    """``command`` fails confined and succeeds unconfined; returns the confined stderr."""
    p = m.app(app, command)
    assert p.returncode != 0, f"confined {app} was allowed: {command}\n{p.stdout}{p.stderr}"
    q = m.unconfined(command)
    assert q.returncode == 0, f"the control failed unconfined: {command}\n{q.stderr}"
    return p.stderr


def allowed(m: Confined, app: str, command: str) -> None:
    p = m.app(app, command)
    assert p.returncode == 0, f"confined {app} was refused: {command}\n{p.stderr}"


def test_hidden_entries_of_root_are_denied_others_allowed(cm: Confined) -> None:
    cm.path("/root/.hidden").mkdir()
    cm.path("/root/.profile").write_text("secret\n")
    cm.path("/root/x").mkdir()
    refused(cm, "etcdctl", f"echo y > {cm.m('/root/.hidden/f')}")
    refused(cm, "etcdctl", f"cat {cm.m('/root/.profile')}")
    allowed(cm, "etcdctl", f"echo y > {cm.m('/root/x/f')}")
    allowed(cm, "etcdctl", f"echo y > {cm.m('/root/new-file')}")
    assert cm.path("/root/x/f").read_text() == "y\n"
    assert cm.path("/root/new-file").exists()
    # the daemon app has no home plug: nothing of /root but its own $SNAP_USER_DATA
    refused(cm, "etcd", f"echo y > {cm.m('/root/x/g')}")
    allowed(cm, "etcd", 'echo y > "$SNAP_USER_DATA/f" && echo y > "$SNAP_USER_COMMON/f"')


def test_another_user_s_0700_directory_refuses_root(cm: Confined) -> None:
    d = cm.path("/home/ubuntu/etcd-snapshots")
    d.mkdir()
    os.chown(cm.path("/home/ubuntu"), 1000, 1000)
    os.chown(d, 1000, 1000)
    d.chmod(0o700)
    err = refused(cm, "etcdctl", f"echo y > {d}/snap.db")
    assert "Permission denied" in err  # EACCES from DAC, not a missing path
    # root without CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH: only ipc_lock and sys_chroot remain
    p = cm.app("etcdctl", "grep -E '^Cap(Bnd|Eff)' /proc/self/status")
    assert p.stdout.split() == ["CapEff:", "0000000000044000", "CapBnd:", "0000000000044000"]


def test_outside_paths_are_read_only_or_invisible(cm: Confined) -> None:
    refused(cm, "etcdctl", f"echo y > {cm.m('/srv/x')}")
    refused(cm, "etcdctl", f"echo y > {cm.m('/var/lib/juju/x')}")
    refused(cm, "etcd", f"echo y > {cm.m('/var/snap/etcd/x')}")  # only revision and common
    cm.path("/var/snap/other/common").mkdir(parents=True)
    cm.path("/var/snap/other/common/data").write_text("other\n")
    refused(cm, "etcdctl", f"cat {cm.m('/var/snap/other/common/data')}")
    refused(cm, "etcdctl", f"ls {cm.m('/var/lib/snapd/state.json')}")
    refused(cm, "etcdctl", f"echo y > {cm.m('/snap/etcd/423/x')}")
    # the writable places
    allowed(cm, "etcdctl", 'echo c > "$SNAP_COMMON/c" && echo d > "$SNAP_DATA/d"')
    allowed(cm, "etcd", 'echo c > "$SNAP_COMMON/c2" && cat /etc/passwd >/dev/null')
    assert cm.path("/var/snap/etcd/common/c").read_text() == "c\n"
    assert cm.path("/var/snap/etcd/423/d").read_text() == "d\n"


def test_tmp_is_private_to_the_snap(cm: Confined) -> None:
    name = f"confine-{uuid.uuid4().hex}"
    allowed(cm, "etcdctl", f"echo t > /tmp/{name}")
    assert not Path(f"/tmp/{name}").exists()
    assert not cm.path(f"/tmp/{name}").exists()
    private = cm.path(f"/tmp/snap-private-tmp/snap.etcd/tmp/{name}")
    assert private.read_text() == "t\n"
    # every app of the snap shares it, as snapd's per-snap /tmp
    p = cm.app("etcd", f"cat /tmp/{name}")
    assert p.stdout == "t\n", p.stderr
    assert cm.unconfined(f"cat /tmp/{name}").returncode != 0


def test_removable_media_only_after_connect(cm: Confined) -> None:
    target = cm.m("/mnt/usb-file")
    out = cm.snap("connections", "etcd").stdout
    assert out.splitlines() == [
        "Interface        Plug                  Slot           Notes",
        "home             etcd:home             :home          -",
        "network-bind     etcd:network-bind     :network-bind  -",
        "removable-media  etcd:removable-media  -              -",
    ]
    refused(cm, "etcd", f"echo y > {target}")
    assert cm.snap("connect", "etcd:removable-media").returncode == 0
    assert "removable-media  etcd:removable-media  :removable-media  manual" in (
        cm.snap("connections", "etcd").stdout
    )
    allowed(cm, "etcd", f"echo y > {target}")
    refused(cm, "etcdctl", f"echo z > {cm.m('/mnt/other')}")  # its plugs do not include it
    assert cm.snap("disconnect", "etcd:removable-media").returncode == 0
    refused(cm, "etcd", f"echo y > {target}")


def test_the_daemon_runs_confined(cm: Confined) -> None:
    common = cm.path("/var/snap/etcd/common")
    (common / "daemon.sh").write_text(
        f"echo y > {cm.m('/srv/daemon')} 2>/dev/null && echo srv-written >> result\n"
        'echo y > "$SNAP_COMMON/daemon" && echo common-written >> result\n'
        "grep ^CapBnd /proc/self/status >> result\n"
        "pwd >> result\n"
        "exec sleep 600\n"
    )
    cm.systemctl("restart", "snap.etcd.etcd", check=True)
    result = cm.path("/var/snap/etcd/423/result")  # its working directory is $SNAP_DATA
    wait_until(lambda: result.exists() and len(result.read_text().split("\n")) > 3)
    assert result.read_text().splitlines() == [
        "common-written",
        "CapBnd:\t0000000000044000",
        str(cm.path("/var/snap/etcd/423")),
    ]
    assert not cm.path("/srv/daemon").exists()


def in_own_namespace(script: Path, env: dict[str, str], *args: str) -> None:
    """Run ``script`` in a throwaway mount namespace, as a machine's processes run in its
    own; it must exit 0."""
    p = subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "/bin/sh", str(script), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)


def test_kept_namespaces_are_entered_and_discarded(tmp_path: Path, cm: Confined) -> None:
    """On a machine the namespace is built once and kept in /run/snapd/ns; connect discards
    it. Run in a throwaway mount namespace (LOCALJUJU_SNAP_NS=persist), as a machine is."""
    cm.snap("remove", "--purge", "etcd", check=True)
    install_probe(cm, {"LOCALJUJU_SNAP_NS": "persist"})
    ns = cm.path("/run/snapd/ns/etcd.etcd.mnt")
    script = tmp_path / "persist.sh"
    script.write_text(
        "set -u\n"
        f'ETCD={cm.m("/snap/bin/etcd")}\n'
        f"NS={ns}\n"
        'SNAP="$1"; shift\n'
        # first call builds and keeps the namespace, the second enters it
        '"$ETCD" "echo one > \\"\\$SNAP_COMMON/one\\"" || exit 10\n'
        'mountpoint -q "$NS" || exit 11\n'
        '[ "$(stat -f -c %T "$NS")" = nsfs ] || exit 12\n'
        f'"$ETCD" "echo y > {cm.m("/mnt/a")}" && exit 13\n'
        '"$SNAP" connect etcd:removable-media || exit 14\n'
        '[ -e "$NS" ] && exit 15\n'  # discarded
        f'"$ETCD" "echo y > {cm.m("/mnt/a")}" || exit 16\n'
        'mountpoint -q "$NS" || exit 17\n'
        "exit 0\n"
    )
    env = {**cm.env, "LOCALJUJU_SNAP_NS": "persist"}
    snap = tmp_path / "snap"
    snap.write_text(f'#!/bin/sh\nexec {" ".join(cm.snap_cmd())} "$@"\n')
    snap.chmod(0o755)
    in_own_namespace(script, env, str(snap))
    assert cm.path("/var/snap/etcd/common/one").exists() and cm.path("/mnt/a").exists()
    assert not os.path.ismount(ns)  # nothing leaked into the test's own namespace


def test_a_volume_mounted_under_media_reaches_a_kept_namespace_and_leaves_it(
    tmp_path: Path, cm: Confined
) -> None:
    """snap-confine's namespaces are slaves of the machine's, whose /media is shared: a file
    system mounted there after the namespace was built is seen (writable) by the app, and
    unmounting it in the machine removes it from the namespace too (nothing keeps it busy)."""
    cm.snap("remove", "--purge", "etcd", check=True)
    install_probe(cm, {"LOCALJUJU_SNAP_NS": "persist"})
    cm.snap("connect", "etcd:removable-media", check=True)
    etcd = cm.m("/snap/bin/etcd")
    media = cm.m("/media")
    vol = cm.m("/media/vol")
    ns = cm.path("/run/snapd/ns/etcd.etcd.mnt")
    script = tmp_path / "media.sh"
    script.write_text(
        "set -u\n"
        f"mkdir -p {vol}\n"
        f"mount --bind {media} {media} && mount --make-shared {media} || exit 10\n"
        f'"{etcd}" "true" || exit 11\n'  # builds and keeps the namespace
        f"mount -t tmpfs -o size=64k vol {vol} || exit 12\n"  # the volume, mounted later
        f'"{etcd}" "echo y > {vol}/f" || exit 13\n'
        f'[ "$(cat {vol}/f)" = y ] || exit 14\n'  # the app wrote on the volume
        f"umount {vol} || exit 15\n"
        # gone from the namespace too (what stays there is the directory's own rw bind)
        f"nsenter --mount={ns} findmnt -n -o FSTYPE {vol} | grep -q tmpfs && exit 16\n"
        "exit 0\n"
    )
    in_own_namespace(script, {**cm.env, "LOCALJUJU_SNAP_NS": "persist"})


def test_a_hidden_entry_made_after_the_namespace_is_still_denied(
    tmp_path: Path, cm: Confined
) -> None:
    """AppArmor's home rules deny hidden entries whenever they were made: a kept namespace
    is built again once a home directory's entries changed (a new /root/.late appears
    masked, not reachable through the namespace built before it)."""
    cm.snap("remove", "--purge", "etcd", check=True)
    install_probe(cm, {"LOCALJUJU_SNAP_NS": "persist"})
    ctl = cm.m("/snap/bin/etcd.etcdctl")
    late = cm.m("/root/.late")
    script = tmp_path / "late.sh"
    script.write_text(
        "set -u\n"
        f'"{ctl}" "echo y > {cm.m("/root/early")}" || exit 10\n'  # builds and keeps it
        f"mkdir {late} || exit 11\n"
        f'"{ctl}" "echo y > {late}/f" && exit 12\n'  # the wrapper's check rebuilds it
        f'"{ctl}" "ls {late}" && exit 13\n'
        f'"{ctl}" "echo y > {cm.m("/root/later")}" || exit 14\n'
        "exit 0\n"
    )
    in_own_namespace(script, {**cm.env, "LOCALJUJU_SNAP_NS": "persist"})
    assert not cm.path("/root/.late/f").exists()
    assert cm.path("/root/later").exists()
