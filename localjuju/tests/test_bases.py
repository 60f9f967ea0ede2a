"""Bases: the base a deployment gets (Juju 3.6's BaseSelector), and machines that run their
base's Ubuntu identity and Python.

The machine test boots one machine of each base the model runs and asks it, from inside, which
``python3`` it has. Where the host has no interpreter for a base (``.cache/pythons``, set up by
scripts/setup from pyenv), that case skips with the reason, except under ``CI=true``, where it
fails: CI must run every base.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import jubilant
import pytest

from localjuju import bases

CHARM_BASES = ["ubuntu@22.04", "ubuntu@24.04"]


@pytest.mark.parametrize(
    ("requested", "default", "charm", "force", "want"),
    [
        # --base wins, in either spelling
        ("ubuntu@22.04", "", CHARM_BASES, False, "ubuntu@22.04"),
        ("ubuntu@24.04/stable", "ubuntu@22.04", CHARM_BASES, False, "ubuntu@24.04"),
        # an explicitly set default-base acts as --base
        (None, "ubuntu@22.04", CHARM_BASES, False, "ubuntu@22.04"),
        # unset: the latest LTS the charm has, whatever its order
        (None, "", CHARM_BASES, False, "ubuntu@24.04"),
        (None, "", ["ubuntu@24.04", "ubuntu@22.04"], False, "ubuntu@24.04"),
        # no latest LTS: Juju's default LTS, then the charm's first
        (None, "", ["ubuntu@20.04", "ubuntu@22.04"], False, "ubuntu@22.04"),
        (None, "", ["ubuntu@20.04"], False, "ubuntu@20.04"),
        (None, "", ["ubuntu@18.04", "ubuntu@20.04"], False, "ubuntu@20.04"),
        # --force: a base Juju supports that the charm does not list
        ("ubuntu@24.04", "", ["ubuntu@22.04"], True, "ubuntu@24.04"),
    ],
)
def test_select_base(
    requested: str | None, default: str, charm: list[str], force: bool, want: str
) -> None:
    assert bases.select_base(requested, default, charm, force) == want


@pytest.mark.parametrize(
    ("requested", "default", "charm", "force", "error"),
    [
        (
            "ubuntu@20.04",
            "",
            CHARM_BASES,
            False,
            'base "ubuntu@20.04/stable" is not supported, supported bases are: '
            "ubuntu@22.04, ubuntu@24.04",
        ),
        (None, "ubuntu@24.04", ["ubuntu@22.04"], False, 'base "ubuntu@24.04/stable" is not'),
        ("ubuntu@18.04", "", CHARM_BASES, True, "base: ubuntu@18.04 not supported"),
        (
            None,
            "",
            ["ubuntu@18.04"],
            False,
            'the charm defined bases "ubuntu@18.04" not supported',
        ),
        ("ubuntu", "", CHARM_BASES, False, 'invalid base string "ubuntu"'),
        ("jammy", "", CHARM_BASES, False, 'invalid base string "jammy"'),
        (None, "", [], False, "charm does not define any bases"),
    ],
)
def test_select_base_refuses(
    requested: str | None, default: str, charm: list[str], force: bool, error: str
) -> None:
    with pytest.raises(bases.BaseError) as e:
        bases.select_base(requested, default, charm, force)
    assert error in str(e.value)


def test_release_identity() -> None:
    noble = bases.release("ubuntu@24.04")
    assert noble.python == "3.12"
    assert 'VERSION_ID="24.04"\n' in noble.os_release()
    assert "UBUNTU_CODENAME=noble\n" in noble.os_release()
    assert 'DISTRIB_DESCRIPTION="Ubuntu 24.04.3 LTS"\n' in noble.lsb_release()
    assert bases.release("ubuntu@22.04").python == "3.10"
    with pytest.raises(bases.BaseError, match="no machine image for ubuntu@20.04"):
        bases.release("ubuntu@20.04")


def test_interpreter_override_must_be_a_python_prefix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCALJUJU_PYTHON_3_12", str(tmp_path))
    assert bases.interpreter("3.12") is None  # no bin/python3.12, no lib/python3.12/os.py
    monkeypatch.setenv("LOCALJUJU_PYTHON_3_12", str(tmp_path / "missing"))
    assert bases.interpreter("3.12") is None


def _require_interpreter(version: str) -> None:
    if bases.interpreter(version) is not None:
        return
    reason = (
        f"no CPython {version} for the local model's machines (.cache/pythons/{version}; "
        "scripts/setup records pyenv's)"
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason + ": CI must run every base")
    pytest.skip(reason)


PROBE = (
    "python3 -c 'import json, ssl, sqlite3, sys; print(json.dumps({"
    '"version": "%d.%d" % sys.version_info[:2], "prefix": sys.prefix, '
    '"executable": sys.executable, "path": sys.path}))\'; '
    ". /etc/os-release; echo $VERSION_ID; "
    "ls -A /usr/lib/python3*/site-packages | wc -l; "
    "systemctl is-system-running; "
    "/usr/libexec/localjuju/python3 -c 'import yaml, cryptography; print(\"host-python-ok\")'"
)


@pytest.mark.integration
def test_machines_run_their_base_python(juju: jubilant.Juju) -> None:
    """easyrsa declares jammy and noble: unset default-base gives 24.04 (latest LTS), --base
    22.04 gives 22.04; each machine runs its base's /usr/bin/python3 and says its base in
    status, while the model's tools (systemctl) and the built-in charm keep working."""
    _require_interpreter("3.10")
    _require_interpreter("3.12")
    juju.deploy("easyrsa", "e24")
    juju.deploy("easyrsa", "e22", base="ubuntu@22.04")
    with pytest.raises(jubilant.CLIError, match="no machine image for ubuntu@20.04"):
        juju.deploy("easyrsa", "e20", base="ubuntu@20.04", force=True)
    status = juju.wait(jubilant.all_active, timeout=120)
    assert status.apps["e24"].base is not None and status.apps["e24"].base.channel == "24.04"
    assert status.apps["e22"].base is not None and status.apps["e22"].base.channel == "22.04"
    for app, version, channel in (("e24", "3.12", "24.04"), ("e22", "3.10", "22.04")):
        unit = f"{app}/0"
        machine = status.machines[status.apps[app].units[unit].machine]
        assert machine.base is not None and machine.base.channel == channel
        assert machine.machine_status.message == "running"
        lines = juju.exec(PROBE, unit=unit).stdout.splitlines()
        info = json.loads(lines[0])
        assert info["version"] == version
        assert info["prefix"] == "/usr" and info["executable"] == "/usr/bin/python3"
        # nothing of the host's or pyenv's packages on the machine's Python path
        assert not any("dist-packages" in p or "pyenv" in p for p in info["path"])
        assert lines[1:] == [channel, "0", "running", "host-python-ok"]
        # base-files' /var: /var/run and /var/lock lead into /run (a tmpfs), /var/tmp is
        # sticky (nrpe's pid file, for one, is /var/run/nagios/nrpe.pid)
        fs = juju.exec(
            "readlink /var/run /var/lock; stat -c %a /var/tmp /tmp; test -d /var/run/lock && echo ok",
            unit=unit,
        ).stdout.split()
        assert fs == ["/run", "/run/lock", "1777", "1777", "ok"], fs


def test_the_model_s_tools_do_not_run_the_machine_s_python3() -> None:
    """.venv's interpreter (PID 1, systemctl, snap, apt-get, hook tools in every machine) must
    reach the host's versioned binary without passing through /usr/bin/python3, which in a
    machine is its base's Python."""
    from localjuju import paths

    link, chain = str(paths.venv_python()), []
    while os.path.islink(link):
        target = os.readlink(link)
        link = os.path.normpath(os.path.join(os.path.dirname(link), target))
        chain.append(link)
    assert "/usr/bin/python3" not in chain, chain
    assert chain and chain[-1] == os.path.realpath("/usr/bin/python3"), chain


def test_a_machine_without_its_interpreter_keeps_no_mount_points(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Set up with the base's Python, then booted without it: python3 is the host's again
    and no empty python3.12 (a placeholder for the bind) is left to run."""
    from localjuju.controller.machines import Machine, Network

    m = Machine(
        tmp_path, "m", "00000000-0000-0000-0000-000000000000", Network(1), 0, "ubuntu@24.04"
    )
    if m.interpreter is None:
        _require_interpreter("3.12")
    m._install_python()
    usr = tmp_path / "machines" / "0" / "upper" / "usr"
    assert os.readlink(usr / "bin" / "python3") == "python3.12"
    assert (usr / "bin" / "python3.12").stat().st_size == 0
    monkeypatch.setattr(m, "interpreter", None)
    m._install_python()
    assert not (usr / "bin" / "python3").is_symlink()
    assert not (usr / "bin" / "python3.12").exists()
    assert not (usr / "lib" / "x86_64-linux-gnu" / "libpython3.12.so.1.0").exists()
    assert m.python_warning == "machine 0 runs the host's Python 3.11, not ubuntu@24.04's 3.12"
