"""Debian's NRPE packages in the local model's machines.

In a directory root: the effect of their maintainer scripts (the ``nagios`` system user,
``/run/nagios`` from tmpfiles.d, the unit enabled by deb-systemd-helper, ucf's plugin
configuration, libwrap's hosts files), and purge. On a real machine of a local model: Debian's
``/usr/sbin/nrpe`` runs as the systemd service, as user nagios, and answers ``check_nrpe``
(nagios-nrpe-plugin's, extracted by scripts/fetch-nrpe into .cache/nrpe-plugin) from the host
as a Nagios server asks it: the command's output and exit status.
"""

from __future__ import annotations

import ipaddress
import subprocess
import time
from pathlib import Path

import jubilant
import pytest

from localjuju import debrepo as D
from localjuju.machine import units as U

from .conftest import HOOKLOG, ROOT
from .test_apt import UPSTREAM, AptMachine

DEBS = ROOT / ".cache" / "debs"
CHECK_NRPE = ROOT / ".cache" / "nrpe-plugin" / "check_nrpe"
NRPE_PACKAGES = ("nagios-nrpe-server", "monitoring-plugins-basic")

needs_debs = pytest.mark.skipif(
    not all(any(DEBS.glob(f"{p}_*.deb")) for p in D.EXTRA_PACKAGES),
    reason="run scripts/fetch-nrpe",
)


@needs_debs
def test_archive_has_the_nrpe_packages(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    D.build_archive(str(DEBS), str(repo), UPSTREAM)
    archive = D.load_archive(str(repo))
    for name in D.EXTRA_PACKAGES:
        assert name in archive, name
    assert archive["nagios-nrpe-server"][0].version == "4.1.0-1+b1"


@needs_debs
def test_nrpe_packages_in_a_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "repo"
    D.build_archive(str(DEBS), str(repo), UPSTREAM)
    m = AptMachine(tmp_path / "root", repo)
    rc, out, err = m.apt("install", "-y", *NRPE_PACKAGES)
    assert rc == 0, err
    assert "warning" not in err  # every script is the one its stand-in follows
    for pkg in ("nagios-nrpe-server", "monitoring-plugins-basic", "monitoring-plugins-common"):
        assert f"Setting up {pkg} (" in out
    assert "Setting up libwrap0 (7.6.q-32) ..." in out  # nrpe links it: not in the base system
    # preinst: adduser --system --group --home /var/lib/nagios nagios
    passwd = dict(
        (f[0], f) for f in (line.split(":") for line in m.path("/etc/passwd").read_text().split())
    )
    nagios = passwd["nagios"]
    assert 100 <= int(nagios[2]) < 1000
    assert nagios[5:] == ["/var/lib/nagios", "/usr/sbin/nologin"]
    groups = dict(
        (f[0], f) for f in (line.split(":") for line in m.path("/etc/group").read_text().split())
    )
    assert groups["nagios"][2] == nagios[3]
    # postinst: systemd-tmpfiles --create nagios-nrpe-server.conf (d /run/nagios 0755 nagios)
    run = m.path("/run/nagios").stat()
    assert (run.st_uid, run.st_mode & 0o7777) == (int(nagios[2]), 0o755)
    # deb-systemd-helper enable
    link = m.path("/etc/systemd/system/multi-user.target.wants/nagios-nrpe-server.service")
    assert link.is_symlink()
    assert str(link.readlink()) == "/lib/systemd/system/nagios-nrpe-server.service"
    # conffiles, ucf's plugin configuration, libwrap's hosts files
    assert "allowed_hosts=127.0.0.1,::1" in m.path("/etc/nagios/nrpe.cfg").read_text()
    assert m.path("/etc/nagios/nrpe.d").is_dir()
    assert m.path("/etc/nagios-plugins/config/load.cfg").read_text().startswith("# 'check_load'")
    assert "/etc/nagios-plugins/config/load.cfg" in m.path("/var/lib/ucf/hashfile").read_text()
    assert m.path("/etc/hosts.allow").exists() and m.path("/etc/hosts.deny").exists()
    assert m.path("/usr/lib/x86_64-linux-gnu/libwrap.so.0").exists()
    # the unit, as the supervisor reads it
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(m.root))
    cfg = U.load_unit_config("nagios-nrpe-server.service")
    assert (cfg.load_state, cfg.user, cfg.group, cfg.type) == (
        "loaded",
        "nagios",
        "nagios",
        "simple",
    )
    assert [c.argv for c in cfg.exec_start] == [
        ["/usr/sbin/nrpe", "-c", "/etc/nagios/nrpe.cfg", "-f", "$NRPE_OPTS"]
    ]
    assert U.enabled_state("nagios-nrpe-server.service") == "enabled"
    # purge: the link and the configuration go, the user stays (as on Debian)
    rc, out, err = m.apt("purge", "-y", *NRPE_PACKAGES, "monitoring-plugins-common", "libwrap0")
    assert rc == 0, err
    assert not link.is_symlink()
    assert not m.path("/etc/nagios/nrpe.cfg").exists()
    assert not m.path("/etc/nagios-plugins/config/load.cfg").exists()
    assert not m.path("/etc/hosts.allow").exists()
    assert "nagios:" in m.path("/etc/passwd").read_text()


# ---------------------------------------------------------------------------------------------
# A real machine: nrpe answers check_nrpe from the host


def check_nrpe(host: str, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHECK_NRPE), "-H", host, "-t", "20", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
    )


NRPE_COMMANDS = """\
command[lj_ok]=/usr/lib/nagios/plugins/check_dummy 0 all-good
command[lj_critical]=/usr/lib/nagios/plugins/check_dummy 2 on-fire
command[lj_whoami]=/usr/bin/id -un
command[lj_systemd]=/usr/bin/systemctl is-active nagios-nrpe-server
command[lj_start]=/usr/bin/systemctl start nagios-nrpe-server 2>&1
"""


@pytest.mark.integration
@needs_debs
def test_nrpe_on_a_machine_answers_check_nrpe(juju: jubilant.Juju) -> None:
    if not CHECK_NRPE.exists():
        pytest.skip("no .cache/nrpe-plugin/check_nrpe (run scripts/fetch-nrpe)")
    archive = D.load_archive(str(ROOT / ".cache" / "apt-repo"))
    if "nagios-nrpe-server" not in archive:
        pytest.skip("the package archive has no NRPE packages (run scripts/setup)")
    juju.deploy(HOOKLOG, "hooklog")
    juju.wait(jubilant.all_active, timeout=120)
    unit = "hooklog/0"

    def sh(command: str) -> str:
        return juju.exec(command, unit=unit).stdout

    out = sh("apt-get install -y nagios-nrpe-server monitoring-plugins-basic")
    assert "Setting up nagios-nrpe-server (4.1.0-1+b1) ..." in out
    show = sh("systemctl show -p ActiveState,MainPID,UnitFileState nagios-nrpe-server")
    props = dict(line.split("=", 1) for line in show.splitlines())
    assert (props["ActiveState"], props["UnitFileState"]) == ("active", "enabled")
    assert sh(f"ps -o user= -p {props['MainPID']}").strip() == "nagios"  # User=nagios
    assert sh("ps -o comm= -p " + props["MainPID"]).strip() == "nrpe"

    address = juju.status().apps["hooklog"].units[unit].public_address
    # the host's address on the model's bridge (the source of its connections to machines)
    gateway = str(ipaddress.IPv4Network(f"{address}/24", strict=False).network_address + 1)
    sh(f"cat > /etc/nagios/nrpe.d/localjuju-test.cfg <<'EOF'\n{NRPE_COMMANDS}EOF")
    sh(f"sed -i 's/^allowed_hosts=.*/allowed_hosts=127.0.0.1,::1,{gateway}/' /etc/nagios/nrpe.cfg")
    sh("systemctl restart nagios-nrpe-server")

    deadline = time.monotonic() + 30
    while True:  # restarted nrpe listens again (bounded)
        p = check_nrpe(address, "lj_ok")
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert (p.returncode, p.stdout.strip()) == (0, "OK: all-good"), p.stderr
    p = check_nrpe(address, "lj_critical")
    assert (p.returncode, p.stdout.strip()) == (2, "CRITICAL: on-fire")
    p = check_nrpe(address, "lj_whoami")
    assert (p.returncode, p.stdout.strip()) == (0, "nagios")
    # systemctl's read-only verbs work for user nagios; changes are refused
    p = check_nrpe(address, "lj_systemd")
    assert (p.returncode, p.stdout.strip()) == (0, "active")
    p = check_nrpe(address, "lj_start")
    assert p.returncode == 1
    assert "Interactive authentication required." in p.stdout
    # a command nrpe does not know
    p = check_nrpe(address, "lj_nope")
    assert p.returncode == 3 and "not defined" in p.stdout
    # the daemon checks allowed_hosts: without the host, the connection is refused
    sh("sed -i 's/^allowed_hosts=.*/allowed_hosts=127.0.0.1,::1/' /etc/nagios/nrpe.cfg")
    sh("systemctl restart nagios-nrpe-server")  # returns once the new nrpe runs
    deadline = time.monotonic() + 30
    while True:  # until the new nrpe listens (a refused connection is not an answer)
        p = check_nrpe(address, "lj_ok")
        if "Connection refused" not in p.stdout + p.stderr or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    # nrpe closes a connection from a host not in allowed_hosts
    assert (p.returncode, p.stdout.strip()) == (
        2,
        f"CHECK_NRPE: Error - Could not connect to {address}: Connection reset by peer",
    )
    # systemd-analyze in the machine (the charm validates backup_schedule with it)
    assert "Normalized form: *-*-* 02:00:00" in sh("systemd-analyze calendar '02:00'")
    bad = juju.exec("systemd-analyze calendar bogus || echo rc=$?", unit=unit)
    assert "rc=1" in bad.stdout


TICK_SERVICE = """[Unit]
Description=localjuju test tick
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'id -un >> /var/lib/lj-ticks'
"""
TICK_TIMER = """[Unit]
Description=localjuju test tick timer
[Timer]
OnCalendar=*:*:0/2
Persistent=true
[Install]
WantedBy=timers.target
"""


@pytest.mark.integration
@needs_debs
def test_timers_and_nrpe_survive_a_machine_restart(juju: jubilant.Juju) -> None:
    """An enabled timer is armed again at boot (timers.target) and its Persistent= stamp
    stays in /var; nrpe comes back as an enabled service, its /run/nagios made again by
    tmpfiles.d at boot (/run is empty at every boot); users that are not root may list
    timers but not stop them."""
    if not CHECK_NRPE.exists():
        pytest.skip("no .cache/nrpe-plugin/check_nrpe (run scripts/fetch-nrpe)")
    if "hooklog" not in juju.status().apps:
        juju.deploy(HOOKLOG, "hooklog")
    juju.wait(jubilant.all_active, timeout=120)
    unit = "hooklog/0"

    def sh(command: str) -> str:
        return juju.exec(command, unit=unit).stdout

    sh("apt-get install -y nagios-nrpe-server monitoring-plugins-basic")
    sh(f"cat > /etc/systemd/system/lj-tick.service <<'EOF'\n{TICK_SERVICE}EOF")
    sh(f"cat > /etc/systemd/system/lj-tick.timer <<'EOF'\n{TICK_TIMER}EOF")
    out = juju.exec("systemctl enable --now lj-tick.timer 2>&1", unit=unit).stdout
    assert "timers.target.wants/lj-tick.timer" in out

    def ticks() -> int:
        return len(sh("cat /var/lib/lj-ticks 2>/dev/null || true").split())

    deadline = time.monotonic() + 20
    while ticks() < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert sh("cat /var/lib/lj-ticks").split()[0] == "root"
    assert "lj-tick.timer" in sh(
        "setpriv --reuid=1000 --regid=1000 --clear-groups " "systemctl list-timers"
    )
    denied = juju.exec(
        "setpriv --reuid=1000 --regid=1000 --clear-groups systemctl stop lj-tick.timer 2>&1"
        " || echo rc=$?",
        unit=unit,
    ).stdout
    assert "Failed to stop lj-tick.timer: Interactive authentication required." in denied
    assert "rc=1" in denied
    stamp = "stat -c %Y /var/lib/systemd/timers/stamp-lj-tick.timer"
    before = int(sh(stamp))

    machine = juju.status().apps["hooklog"].units[unit].machine
    juju.cli("stop-machine", machine)
    juju.cli("start-machine", machine)
    deadline = time.monotonic() + 120
    while True:  # juju exec fails until the machine's agent is back
        try:
            state = sh("systemctl is-active lj-tick.timer nagios-nrpe-server || true").split()
        except jubilant.CLIError:
            state = []
        if state == ["active", "active"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert state == ["active", "active"]
    deadline = time.monotonic() + 20
    while int(sh(stamp)) <= before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert int(sh(stamp)) > before  # triggered again after the restart
    assert sh("stat -c '%U %a' /run/nagios").split() == ["nagios", "755"]
    address = juju.status().apps["hooklog"].units[unit].public_address
    gateway = str(ipaddress.IPv4Network(f"{address}/24", strict=False).network_address + 1)
    sh(f"sed -i 's/^allowed_hosts=.*/allowed_hosts=127.0.0.1,::1,{gateway}/' /etc/nagios/nrpe.cfg")
    sh("systemctl restart nagios-nrpe-server")
    deadline = time.monotonic() + 30
    while True:
        p = check_nrpe(address, "check_users")  # a command of Debian's nrpe.cfg
        if p.returncode == 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert p.returncode == 0 and p.stdout.startswith("USERS OK"), p.stdout + p.stderr
