"""nrpe-stand-in test fixture: what the nrpe subordinate (canonical/charm-nrpe e725eb4) does on
its machine for a principal that relates ``nrpe-external-master``, without charm-helpers.

The real charm runs one ``ServiceManager`` in every hook (``hooks/services.py``; every hook is
a link to ``nrpe_hooks.py``, ``update-status`` only sets the status, ``stop`` runs no callback
of its services):

1. ``nrpe-install`` (no required data, so every hook): ``apt-get install
   --no-install-recommends --option=Dpkg::Options::=--force-confold`` of
   :data:`PACKAGES` (``nrpe_utils.install_packages``), then ``install_charm_files``: nagios'
   home ``/var/lib/nagios`` owned by nagios, mode 02755, and ``/etc/nagios/nrpe.d/``,
   ``/usr/local/lib/nagios/plugins``, ``/var/lib/nagios/export/`` (0755).
2. ``nrpe-config``, once a principal unit is related (``PrincipalRelation.is_ready``): gives
   each nrpe-external-master relation ``nagios_hostname`` and ``nagios_host_context``, renders
   ``/etc/nagios/nrpe.cfg`` (``templates/nrpe.tmpl``: :func:`render_nrpe_cfg`), opens the
   server port and ICMP, restarts nagios-nrpe-server. The principals' ``monitors`` (YAML) are
   merged (``Monitors.add_monitors``) into what it sends Nagios on its ``monitors`` relation.

Hooks the real charm does not have do nothing (:data:`HOOKS`): it has no -departed or
-broken hook, so what the principal's checks left in nrpe.d stays unless the principal
removes it. Left out: the nrpe charm's own checks and plugins, rsync export, host export fragments, the
``monitors`` relation to a Nagios; packages are installed in ``install`` and when missing, not
in every hook. The merged monitors are kept in :data:`MONITORS_FILE` and shown by the
``show-monitors`` action (the stand-in's own), the checks by the real charm's
``list-nrpe-checks`` and ``run-nrpe-check``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Mapping
from typing import Any

import hooktools as ht
import yaml

#: The packages the nrpe daemon and the principal's checks need. The real charm installs
#: nrpe_utils.determine_packages: nagios-nrpe-server, nagios-plugins-basic,
#: nagios-plugins-standard (virtual: monitoring-plugins-*), python3 and python3-netifaces (for
#: its own checks, which the stand-in does not run). The local model's archive has
#: monitoring-plugins-basic, and its apt-get resolves no virtual package, so the stand-in names
#: the real package and leaves out what only the nrpe charm's own checks use.
PACKAGES = (
    "nagios-nrpe-server",
    "monitoring-plugins-basic",
)
APT_OPTIONS = ("--no-install-recommends", "--option=Dpkg::Options::=--force-confold")
NRPE_CFG = "/etc/nagios/nrpe.cfg"
NRPE_D = "/etc/nagios/nrpe.d"
NAGIOS_HOME = "/var/lib/nagios"
NAG_DIRS = (NRPE_D + "/", "/usr/local/lib/nagios/plugins", "/var/lib/nagios/export/")
SERVICE = "nagios-nrpe-server"
MONITORS_FILE = "/var/lib/nrpe-stand-in/monitors.yaml"
PRINCIPAL_ENDPOINTS = ("nrpe-external-master", "general-info", "local-monitors")
#: the hooks the real charm has (hooks/): Juju skips the others (departed, broken, created,
#: leader-*, remove...), so nothing happens in them, nrpe.cfg and nrpe.d stay as they are
HOOKS = frozenset(
    {"install", "config-changed", "start", "stop", "upgrade-charm", "update-status"}
    | {
        f"{endpoint}-relation-{kind}"
        for endpoint in ("nrpe-external-master", "general-info", "local-monitors", "monitors")
        for kind in ("joined", "changed")
    }
)


# --- pure: what the real charm computes ------------------------------------------------------


def allowed_hosts(nagios_master: str, monitor_allowed_hosts: str = "") -> str:
    """``allowed_hosts`` of nrpe.tmpl: ``{{ external_nagios_master }},{{ monitor_allowed_hosts
    }}``; NagiosInfo's external_nagios_master is 127.0.0.1, then nagios_master unless "None"
    (monitor_allowed_hosts: the egress subnets of the monitors relation, empty without one)."""
    master = "127.0.0.1"
    if nagios_master != "None":
        master = f"{master},{nagios_master}"
    return f"{master},{monitor_allowed_hosts}"


def render_nrpe_cfg(
    nrpe_ipaddress: str | None,
    server_port: int,
    allowed: str,
    dont_blame_nrpe: bool,
    debug: bool,
) -> str:
    """templates/nrpe.tmpl rendered as the charm renders it."""
    return (
        "#--------------------------------------------------------\n"
        "# This file is managed by Juju\n"
        "#--------------------------------------------------------\n"
        "\n"
        "# See https://github.com/stockholmuniversity/Nagios-NRPE/blob/2.0.10/share/nrpe.cfg\n"
        f"server_address={nrpe_ipaddress or '0.0.0.0'}\n"
        f"server_port={server_port}\n"
        f"allowed_hosts={allowed}\n"
        "nrpe_user=nagios\n"
        "nrpe_group=nagios\n"
        f"dont_blame_nrpe={'1' if dont_blame_nrpe else '0'}\n"
        f"debug={'1' if debug else '0'}\n"
        "command_timeout=60\n"
        "pid_file=/var/run/nagios/nrpe.pid\n"
        "\n"
        "# All configuration snippets go into nrpe.d/\n"
        "include_dir=/etc/nagios/nrpe.d/\n"
    )


def nagios_hostname(
    host_context: str,
    hostname_type: str,
    is_metal: bool,
    principal_ready: bool,
    principal_unit: str,
    hostname: str,
) -> str:
    """PrincipalRelation.nagios_hostname: ``<context>-<principal unit with - for />`` or
    ``<context>-<host name>`` (type host, auto on bare metal, or no principal yet)."""
    prefix = f"{host_context}-" if host_context else ""
    if hostname_type == "auto":
        hostname_type = "host" if is_metal else "unit"
    if hostname_type == "host" or not principal_ready:
        return f"{prefix}{hostname}"
    return f"{prefix}{principal_unit}".replace("/", "-")


def merge_monitors(principal_monitors: Iterable[str]) -> dict[str, Any]:
    """Monitors(): ``{"monitors": {"remote": {"nrpe": {...}}}, "version": "0.3"}`` with each
    principal's ``remote`` checks merged in (``add_monitors``; its ``local`` checks, which the
    real charm turns into its own NRPE commands, are not handled here)."""
    merged: dict[str, Any] = {"monitors": {"remote": {"nrpe": {}}}, "version": "0.3"}
    for text in principal_monitors:
        mdict = yaml.safe_load(text) if text else None
        if not mdict or not mdict.get("monitors"):
            continue
        for checktype, details in (mdict["monitors"].get("remote") or {}).items():
            merged["monitors"]["remote"].setdefault(checktype, {}).update(details or {})
    return merged


_COMMAND = re.compile(r"^command\[(.*)\]=(.*)$")


def nrpe_checks(cfgs: Mapping[str, str]) -> dict[str, str]:
    """actions/list-nrpe-checks: for each ``*.cfg`` of nrpe.d, its ``command[name]=cmd`` line
    as ``{name with _ as -: cmd}``."""
    checks: dict[str, str] = {}
    for _, text in sorted(cfgs.items()):
        for line in text.splitlines():
            m = _COMMAND.match(line)
            if m:
                checks[m.group(1).replace("_", "-")] = m.group(2)
    return checks


def check_file(cfgs: Mapping[str, str], name: str) -> str | None:
    """actions/run-nrpe-check: the one ``<name>.cfg`` whose name matches, ``-`` and ``_``
    standing for any character (its ``sed`` turns both into ``.``); None unless exactly one."""
    pattern = re.compile(re.sub(r"[-_]", ".", name) + r"\.cfg")
    found = [path for path in cfgs if pattern.fullmatch(os.path.basename(path))]
    return found[0] if len(found) == 1 else None


# --- the shell -------------------------------------------------------------------------------


def config() -> dict[str, Any]:
    return dict(ht.run_json(["config-get", "--format=json"]) or {})


def sh(*argv: str, env: Mapping[str, str] | None = None) -> None:
    subprocess.run(list(argv), check=True, env={**os.environ, **(env or {})}, timeout=1800)


def install_packages(hook: str) -> None:
    missing = subprocess.run(["dpkg", "-s", *PACKAGES], capture_output=True).returncode
    if hook != "install" and not missing:
        return
    env = {"DEBIAN_FRONTEND": "noninteractive"}
    sh("apt-get", "update", env=env)
    sh("apt-get", "install", "--yes", *APT_OPTIONS, *PACKAGES, env=env)


def install_charm_files() -> None:
    shutil.chown(NAGIOS_HOME, user="nagios", group="nagios")
    os.chmod(NAGIOS_HOME, 0o2755)
    for directory in NAG_DIRS:
        os.makedirs(directory, mode=0o755, exist_ok=True)


def principal_units() -> list[tuple[str, str]]:
    """(relation id, unit) of the principals related (PrincipalRelation's first endpoint
    that has relations)."""
    for endpoint in PRINCIPAL_ENDPOINTS:
        relations = ht.live_relations(endpoint)
        if relations:
            return [(rid, unit) for rid, units in relations for unit in units]
    return []


def ingress(binding: str) -> str | None:
    """get_ingress_address: the first bind address of the binding (network-get)."""
    try:
        info = ht.run_json(["network-get", binding, "--format=json"]) or {}
        return str(info["bind-addresses"][0]["addresses"][0]["address"])
    except (ht.HookToolError, KeyError, IndexError, TypeError, ValueError):
        return None


def write(path: str, text: str, mode: int = 0o644) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def configure(cfg: Mapping[str, Any]) -> None:
    principals = principal_units()
    if not principals:
        return  # nrpe-config is not ready: its stop callbacks are none
    virt = subprocess.getoutput("/usr/bin/systemd-detect-virt")
    principal = os.environ.get("JUJU_PRINCIPAL_UNIT") or principals[0][1]
    name = nagios_hostname(
        str(cfg["nagios_host_context"]),
        str(cfg["nagios_hostname_type"]),
        "none" in virt,
        True,
        principal,
        os.uname().nodename,
    )
    for rid, _ in ht.live_relations("nrpe-external-master"):
        ht.relation_set(
            rid, {"nagios_hostname": name, "nagios_host_context": cfg["nagios_host_context"]}
        )
    texts = [
        ht.relation_get(rid, unit).get("monitors", "")
        for rid, units in ht.live_relations("nrpe-external-master")
        for unit in units
    ]
    write(MONITORS_FILE, yaml.safe_dump(merge_monitors(texts), default_flow_style=False))
    nrpe_cfg = render_nrpe_cfg(
        ingress("monitors"),
        int(cfg["server_port"]),
        allowed_hosts(str(cfg["nagios_master"])),
        bool(cfg["dont_blame_nrpe"]),
        bool(cfg["debug"]),
    )
    write(NRPE_CFG, nrpe_cfg)
    for port in (f"{cfg['server_port']}/tcp", "icmp"):
        ht.run(["open-port", port])
    sh("systemctl", "restart", SERVICE)


def update_status(cfg: Mapping[str, Any]) -> None:
    """services.update_status (without the CIS and netlinks checks)."""
    has_consumer = cfg.get("nagios_master") not in ("None", "", None) or bool(
        ht.relation_ids("monitors")
    )
    active = subprocess.run(["systemctl", "is-active", "--quiet", SERVICE]).returncode == 0
    if not has_consumer:
        ht.status_set("blocked", "Nagios server not configured or related")
    elif not active:
        ht.status_set("blocked", "nagios-nrpe-server service inactive.")
    else:
        ht.status_set("active", "Ready")


def run_hook(hook: str) -> None:
    if hook not in HOOKS or hook == "stop":
        return
    cfg = config()
    if hook != "update-status":
        ht.status_set("maintenance", "starting")
        install_packages(hook)
        install_charm_files()
        configure(cfg)
    update_status(cfg)


def read_cfgs() -> dict[str, str]:
    out = {}
    for path in sorted(glob.glob(os.path.join(NRPE_D, "*.cfg"))):
        with open(path, encoding="utf-8") as f:
            out[path] = f.read()
    return out


def run_action(name: str) -> None:
    if name == "list-nrpe-checks":
        if not os.path.isdir(NRPE_D):
            ht.action_fail(f"No {NRPE_D} exists")
            return
        checks = nrpe_checks(read_cfgs())
        ht.action_set({f"checks.{k}": v for k, v in checks.items()})
    elif name == "run-nrpe-check":
        cfgs = read_cfgs()
        path = check_file(cfgs, str(ht.action_get().get("name", "")))
        commands = nrpe_checks({path: cfgs[path]}) if path else {}
        if not commands:
            ht.action_fail("no single check file matches the name, or it has no command")
            return
        command = next(iter(commands.values())).split()
        runas = (
            ["sudo", "-u", "nagios"] if shutil.which("sudo") else ["runuser", "-u", "nagios", "--"]
        )
        proc = subprocess.run([*runas, *command], capture_output=True, text=True)
        ht.action_set({"check-output": proc.stdout.strip(), "return-code": proc.returncode})
    elif name == "show-monitors":
        with open(MONITORS_FILE, encoding="utf-8") as f:
            ht.action_set({"monitors": f.read()})
    else:
        ht.action_fail(f"no action {name}")


if __name__ == "__main__":
    sys.exit(ht.main(run_action, run_hook))
