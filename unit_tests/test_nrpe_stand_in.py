"""The pure parts of the nrpe-stand-in test fixture (tests/charms/nrpe-stand-in/src/charm.py):
what it writes and computes as the nrpe charm (canonical/charm-nrpe e725eb4) does, and that it
reads what the etcd charm's registration (charm-helpers' NRPE) writes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from etcd_charm import nagios

ROOT = Path(__file__).resolve().parents[1]
CHARM = ROOT / "tests" / "charms" / "nrpe-stand-in"
SRC = CHARM / "src"


def _load() -> Any:
    sys.path.insert(0, str(SRC))  # its hooktools
    try:
        spec = importlib.util.spec_from_file_location("nrpe_stand_in_charm", SRC / "charm.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(SRC))


N = _load()


def test_nrpe_cfg_is_the_template_rendered() -> None:
    text = N.render_nrpe_cfg("10.1.2.3", 5666, N.allowed_hosts("None"), False, False)
    assert text.splitlines()[5:] == [
        "server_address=10.1.2.3",
        "server_port=5666",
        "allowed_hosts=127.0.0.1,",  # the template's comma with no monitors relation
        "nrpe_user=nagios",
        "nrpe_group=nagios",
        "dont_blame_nrpe=0",
        "debug=0",
        "command_timeout=60",
        "pid_file=/var/run/nagios/nrpe.pid",
        "",
        "# All configuration snippets go into nrpe.d/",
        "include_dir=/etc/nagios/nrpe.d/",
    ]
    other = N.render_nrpe_cfg(None, 5667, N.allowed_hosts("10.0.0.9", "10.5.0.0/16"), True, True)
    assert "server_address=0.0.0.0\nserver_port=5667\n" in other
    assert "allowed_hosts=127.0.0.1,10.0.0.9,10.5.0.0/16\n" in other
    assert "dont_blame_nrpe=1\ndebug=1\n" in other


@pytest.mark.parametrize(
    "context, kind, metal, ready, expected",
    [
        ("juju", "auto", False, True, "juju-etcd-0"),
        ("juju", "auto", True, True, "juju-machine-1"),
        ("juju", "unit", True, True, "juju-etcd-0"),
        ("juju", "host", False, True, "juju-machine-1"),
        ("juju", "unit", False, False, "juju-machine-1"),  # no principal yet
        ("", "unit", False, True, "etcd-0"),
    ],
)
def test_the_nagios_hostname(
    context: str, kind: str, metal: bool, ready: bool, expected: str
) -> None:
    assert N.nagios_hostname(context, kind, metal, ready, "etcd/0", "machine-1") == expected


def test_monitors_of_the_principals_are_merged() -> None:
    a = yaml.dump(
        {"monitors": {"remote": {"nrpe": {"etcd-health": {"command": "check_etcd-health"}}}}}
    )
    b = yaml.dump(
        {"monitors": {"remote": {"nrpe": {"etcd-cert": {"command": "check_etcd-cert"}}}}}
    )
    merged = N.merge_monitors([a, b, "", "monitors: {}\n"])
    assert merged == {
        "monitors": {"remote": {"nrpe": {
            "etcd-health": {"command": "check_etcd-health"},
            "etcd-cert": {"command": "check_etcd-cert"},
        }}},
        "version": "0.3",
    }  # fmt: skip


def registered(plugin: str = "/usr/local/lib/nagios/plugins/check_etcd.py") -> dict[str, str]:
    """nrpe.d as charm-helpers' Check.write leaves it for the etcd charm's checks."""
    return {
        f"/etc/nagios/nrpe.d/{nagios.command(d.shortname)}.cfg": (
            f"# check {d.shortname}\n" f"command[{nagios.command(d.shortname)}]={d.check_cmd}\n"
        )
        for d in nagios.checks("juju:etcd/0", plugin)
    }


def test_list_nrpe_checks_reads_the_etcd_charm_s_checks() -> None:
    assert N.nrpe_checks(registered()) == {
        "check-snap.etcd.etcd": "/usr/local/lib/nagios/plugins/check_etcd.py service",
        "check-etcd-health": "/usr/local/lib/nagios/plugins/check_etcd.py health",
        "check-etcd-alarms": "/usr/local/lib/nagios/plugins/check_etcd.py alarms",
        "check-etcd-dbsize": "/usr/local/lib/nagios/plugins/check_etcd.py dbsize -w 80 -c 90",
        "check-etcd-cert": "/usr/local/lib/nagios/plugins/check_etcd.py cert -w 30 -c 7",
        "check-etcd-backup": "/usr/local/lib/nagios/plugins/check_etcd.py backup",
    }


@pytest.mark.parametrize(
    "name, found",
    [
        ("check_etcd-health", "/etc/nagios/nrpe.d/check_etcd-health.cfg"),
        ("check-etcd-health", "/etc/nagios/nrpe.d/check_etcd-health.cfg"),
        ("check_snap.etcd.etcd", "/etc/nagios/nrpe.d/check_snap.etcd.etcd.cfg"),
        ("check_etcd", None),
        ("etcd-health", None),
    ],
)
def test_run_nrpe_check_finds_one_file(name: str, found: str | None) -> None:
    assert N.check_file(registered(), name) == found


def test_the_fixture_is_a_subordinate_of_the_real_charm_s_shape() -> None:
    meta = yaml.safe_load((CHARM / "metadata.yaml").read_text())
    assert meta["subordinate"] is True
    assert meta["requires"]["nrpe-external-master"] == {
        "interface": "nrpe-external-master", "scope": "container"
    }  # fmt: skip
    assert meta["requires"]["general-info"] == {"interface": "juju-info", "scope": "container"}
    etcd = yaml.safe_load((ROOT / "metadata.yaml").read_text())
    assert etcd["provides"]["nrpe-external-master"] == meta["requires"]["nrpe-external-master"]
    options = yaml.safe_load((CHARM / "config.yaml").read_text())["options"]
    assert {k: v["default"] for k, v in options.items()} == {
        "nagios_master": "None", "server_port": 5666, "nagios_host_context": "juju",
        "nagios_hostname_type": "auto", "dont_blame_nrpe": False, "debug": False,
    }  # fmt: skip
    assert set(yaml.safe_load((CHARM / "actions.yaml").read_text())) == {
        "list-nrpe-checks", "run-nrpe-check", "show-monitors"
    }  # fmt: skip
    assert "nrpe-external-master-relation-broken" not in N.HOOKS  # the real charm has none
    assert "nrpe-external-master-relation-changed" in N.HOOKS
