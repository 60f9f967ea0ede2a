"""The maintainer scripts of Debian bookworm's NRPE packages, natively (see
:data:`localjuju.machine.dpkg.NATIVE_SCRIPTS`). Each class follows the scripts of the .deb it
names (``dpkg-deb -e``; their sha256 in ``follows``), as ``scripts/fetch-nrpe`` downloads them:

- nagios-nrpe-server 4.1.0-1+b1, monitoring-plugins-basic 2.3.3-5+deb12u2,
  nagios-nrpe-plugin 4.1.0-1+b1, libwrap0 7.6.q-32, iputils-ping 3:20221126-1+deb12u1
  (monitoring-plugins-common has no scripts).

What the programs they call do here: ``adduser --system --group`` as
:func:`localjuju.machine.dpkg.add_system_user`; ``systemd-tmpfiles --create`` as
:mod:`localjuju.machine.tmpfiles`; ``deb-systemd-helper`` and ``deb-systemd-invoke`` as in
``dpkg.py``; ``ucf SRC DEST`` (a new file is installed from its template and its md5sum
recorded in ``/var/lib/ucf/hashfile``, an existing one is kept); ``setcap`` and ``ldconfig``
are the base system's own programs.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess

from . import dpkg as P
from . import machine_root, mpath
from . import tmpfiles as TMPF

UCF_HASHFILE = "/var/lib/ucf/hashfile"
UCF_CACHE = "/var/lib/ucf/cache"


# ---------------------------------------------------------------------------------------------
# ucf, setcap, groups


def _ucf_entries() -> list[str]:
    return P._read_lines(UCF_HASHFILE) or []


def ucf_install(template: str, dest: str) -> None:
    """``ucf TEMPLATE DEST`` (non-interactive, first install or an unchanged file): DEST from
    TEMPLATE when DEST does not exist, its md5sum registered in the hashfile and the template
    cached (``/var/lib/ucf/cache/:etc:...``)."""
    real = mpath(dest)
    with open(mpath(template), "rb") as f:
        data = f.read()
    if not os.path.exists(real):
        os.makedirs(os.path.dirname(real), exist_ok=True)
        with open(real + ".ucf-new", "wb") as f:
            f.write(data)
        os.chmod(real + ".ucf-new", 0o644)
        os.replace(real + ".ucf-new", real)
    md5 = hashlib.md5(data).hexdigest()  # noqa: S324 (ucf's own hash)
    lines = [line for line in _ucf_entries() if line.split()[-1:] != [dest]]
    lines.append(f"{md5}  {dest}")
    os.makedirs(os.path.dirname(mpath(UCF_HASHFILE)), exist_ok=True)
    if not os.path.exists(mpath(UCF_HASHFILE)):
        with open(mpath(UCF_HASHFILE), "w", encoding="utf-8"):
            pass
    P._write_lines(UCF_HASHFILE, lines)
    cache = mpath(f"{UCF_CACHE}/{dest.replace('/', ':')}")
    os.makedirs(os.path.dirname(cache), exist_ok=True)
    with open(cache, "wb") as f:
        f.write(data)


def ucf_purge(dest: str) -> None:
    """``ucf --purge DEST``: forget it (the file itself is the caller's to remove)."""
    if os.path.exists(mpath(UCF_HASHFILE)):
        P._write_lines(
            UCF_HASHFILE, [line for line in _ucf_entries() if line.split()[-1:] != [dest]]
        )
    with contextlib.suppress(OSError):
        os.unlink(mpath(f"{UCF_CACHE}/{dest.replace('/', ':')}"))


def setcap(*args: str) -> bool:
    """The base system's ``setcap CAPS FILE [CAPS FILE...]`` on the machine's files."""
    argv = ["setcap"]
    for i, a in enumerate(args):
        argv.append(mpath(a) if i % 2 else a)
    exe = shutil.which("setcap", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if exe is None:
        return False
    p = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, check=False)
    return p.returncode == 0


def add_system_group(name: str) -> int:
    """``addgroup --system NAME``: the first free system GID from 100 (or the existing one)."""
    group = P._read_lines("/etc/group") or []
    for line in group:
        f = line.split(":")
        if f[0] == name:
            return int(f[2])
    used = P._ids("/etc/group")
    gid = next(i for i in range(100, 1000) if i not in used)
    P._write_lines("/etc/group", [*group, f"{name}:x:{gid}:"])
    P._append_if_present("/etc/gshadow", f"{name}:!::")
    return gid


def set_primary_group(user: str, gid: int) -> None:
    """``usermod -g GID USER``."""
    lines = P._read_lines("/etc/passwd") or []
    out = []
    for line in lines:
        f = line.split(":")
        if f[0] == user and len(f) >= 7:
            f[3] = str(gid)
            line = ":".join(f)
        out.append(line)
    P._write_lines("/etc/passwd", out)


def primary_group_name(user: str) -> str:
    entry = P.lookup_user(user)
    if entry is None:
        return ""
    for line in P._read_lines("/etc/group") or []:
        f = line.split(":")
        if len(f) >= 3 and f[2] == str(entry[1]):
            return f[0]
    return ""


# ---------------------------------------------------------------------------------------------
# The packages


class NagiosNrpeServerScripts(P.Scripts):
    """nagios-nrpe-server 4.1.0-1+b1:

    - preinst install/upgrade: user ``nagios`` exists -> when its primary group is not
      ``nagios``, ``addgroup --system nagios`` and ``usermod -g nagios nagios``; else ``adduser
      --system --group --home /var/lib/nagios --quiet nagios``; a reinstall: ``chmod +x
      /etc/init.d/nagios-nrpe-server``;
    - postinst configure: ``systemd-tmpfiles --create nagios-nrpe-server.conf`` (``d
      /run/nagios 0755 nagios nagios``); ``update-rc.d nagios-nrpe-server defaults``
      (``invoke-rc.d --skip-systemd-native`` does nothing: the unit is native);
      ``deb-systemd-helper unmask`` (nothing here: it never masked it) and ``enable`` when it
      was enabled (always on a first install), else ``update-state``; with systemd running:
      ``daemon-reload``, ``deb-systemd-invoke start`` (``restart`` on an upgrade);
    - prerm remove: ``deb-systemd-invoke stop``;
    - postrm remove: ``chmod -x`` the init script, ``daemon-reload``; purge: ``update-rc.d
      nagios-nrpe-server remove``, ``deb-systemd-helper purge`` (the user stays, as on Debian).
    """

    follows = {
        "preinst": "702e65446d71ca9e6e62b24744d0e5c491ea9e9d2183bd7a61bba8075d65b0d8",
        "postinst": "e039937a81eb55eefc8895ebd2e3fe8d1e981d195b1c369bfce8e34dcb430a42",
        "prerm": "6ce1e5683b9bbc1d88e525c390fc8e1bb716b6e83f8487e3eb39dd277b6e7f64",
        "postrm": "2c5db78327e8234c263e51b45ec6f42dd829cd96cd73eac31d63befb846e9638",
    }
    unit = "nagios-nrpe-server.service"
    init_script = "/etc/init.d/nagios-nrpe-server"

    def preinst(self, ctx: P.ScriptContext, action: str, old_version: str) -> None:
        if action in ("install", "upgrade"):
            if P.lookup_user("nagios") is not None:
                if primary_group_name("nagios") != "nagios":
                    set_primary_group("nagios", add_system_group("nagios"))
            else:
                P.add_system_user("nagios", "/var/lib/nagios")
        if action == "install" and old_version and os.path.exists(mpath(self.init_script)):
            P._chmod_x(self.init_script, True)

    def postinst(self, ctx: P.ScriptContext, action: str, old_version: str) -> None:
        if action != "configure":
            return
        for note in TMPF.create(["nagios-nrpe-server.conf"]):
            ctx.err.write(f"systemd-tmpfiles: {note}\n")
        if os.access(mpath(self.init_script), os.X_OK):
            P.update_rc_defaults("nagios-nrpe-server")
        if P.dsh_was_enabled(self.unit):
            P.dsh_enable(self.unit, ctx.err)
        else:
            P.dsh_update_state(self.unit)
        if P.systemd_booted():
            P.systemctl_quiet("daemon-reload")
            P.deb_systemd_invoke("restart" if old_version else "start", self.unit)

    def prerm(self, ctx: P.ScriptContext, action: str) -> None:
        if action == "remove" and P.systemd_booted():
            P.deb_systemd_invoke("stop", self.unit)

    def postrm(self, ctx: P.ScriptContext, action: str) -> None:
        if action == "remove":
            if os.access(mpath(self.init_script), os.X_OK):
                P._chmod_x(self.init_script, False)
            if P.systemd_booted():
                P.systemctl_quiet("daemon-reload")
        elif action == "purge":
            P.update_rc_remove("nagios-nrpe-server")
            P.dsh_purge(self.unit)


class NagiosNrpePluginScripts(P.Scripts):
    """nagios-nrpe-plugin 4.1.0-1+b1: postrm purge: ``rmdir /var/lib/nagios`` when empty."""

    follows = {"postrm": "5bf7e2e895e8e1ca23fa67ff40aaf36447672a75427f44d6ee45294730827e09"}

    def postrm(self, ctx: P.ScriptContext, action: str) -> None:
        if action == "purge":
            with contextlib.suppress(OSError):
                os.rmdir(mpath("/var/lib/nagios"))


BASIC_TEMPLATES = "/usr/share/monitoring-plugins/templates-basic"
PLUGINS_CONFIG = "/etc/nagios-plugins/config"
BASIC_PLUGINS = (
    "apt dhcp disk dummy ftp http load mail news ntp ping procs real ssh tcp_udp telnet users"
).split()


class MonitoringPluginsBasicScripts(P.Scripts):
    """monitoring-plugins-basic 2.3.3-5+deb12u2:

    - postinst configure: ``register_cfgs`` (``ucf`` each template of
      /usr/share/monitoring-plugins/templates-basic into /etc/nagios-plugins/config); ``setcap
      cap_net_raw+ep check_icmp cap_net_bind_service=+ep cap_net_raw=+ep check_dhcp`` and its
      message;
    - postrm purge: each plugin's /etc/nagios-plugins/config/X.cfg removed, ``ucf --purge``.
    """

    follows = {
        "postinst": "bad54b128ba9188546fac1ed7ab168bd110f6b360ca1a23d21961e02c7e3facd",
        "postrm": "50cb35abde6e25ce504326433789c465cc98d6a27a5a612a6ad10c29a3e37105",
    }

    def postinst(self, ctx: P.ScriptContext, action: str, old_version: str) -> None:
        if action != "configure":
            return
        for name in sorted(os.listdir(mpath(BASIC_TEMPLATES))):
            if name.endswith("cfg"):
                ucf_install(f"{BASIC_TEMPLATES}/{name}", f"{PLUGINS_CONFIG}/{name}")
        plugins = "/usr/lib/nagios/plugins"
        if setcap(
            "cap_net_raw+ep",
            f"{plugins}/check_icmp",
            "cap_net_bind_service=+ep cap_net_raw=+ep",
            f"{plugins}/check_dhcp",
        ):
            ctx.out.write("Setcap for check_icmp and check_dhcp worked!\n")
        else:
            ctx.err.write(
                "Setcap for check_icmp and check_dhcp failed.\n"
                "Please refer README.Debian.gz for using plugins needing\n"
                "higher privileges!\n"
            )

    def postrm(self, ctx: P.ScriptContext, action: str) -> None:
        if action == "purge":
            for f in BASIC_PLUGINS:
                dest = f"{PLUGINS_CONFIG}/{f}.cfg"
                with contextlib.suppress(OSError):
                    os.unlink(mpath(dest))
                ucf_purge(dest)


HOSTS_ALLOW = """# /etc/hosts.allow: list of hosts that are allowed to access the system.
#                   See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: LOCAL @some_netgroup
#             ALL: .foobar.edu EXCEPT terminalserver.foobar.edu
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#

"""
HOSTS_DENY = """# /etc/hosts.deny: list of hosts that are _not_ allowed to access the system.
#                  See the manual pages hosts_access(5) and hosts_options(5).
#
# Example:    ALL: some.host.name, .some.domain
#             ALL EXCEPT in.fingerd: other.host.name, .other.domain
#
# If you're going to protect the portmapper use the name "rpcbind" for the
# daemon name. See rpcbind(8) and rpc.mountd(8) for further information.
#
# The PARANOID wildcard matches any host whose name does not match its
# address.
#
# You may wish to enable this to ensure any programs that don't
# validate looked up hostnames still leave understandable logs. In past
# versions of Debian this has been the default.
# ALL: PARANOID

"""


class LibWrap0Scripts(P.Scripts):
    """libwrap0 7.6.q-32: postinst configure writes /etc/hosts.allow and /etc/hosts.deny when
    missing; its ``ldconfig`` trigger runs the base system's ldconfig (in a machine only: its
    /etc is its own); postrm purge removes both files."""

    follows = {
        "postinst": "f3e302532c77000aa6b6c02f249429e095dab35b27d2d7a7d1e30c7f131e46c3",
        "postrm": "28583fc6d2cf0bc57af846d726f2567f47e637d0ce5d355d83cc3b8a2fc81186",
    }

    def postinst(self, ctx: P.ScriptContext, action: str, old_version: str) -> None:
        if action != "configure":
            return
        for path, text in (("/etc/hosts.allow", HOSTS_ALLOW), ("/etc/hosts.deny", HOSTS_DENY)):
            if not os.path.exists(mpath(path)):
                with open(mpath(path), "w", encoding="utf-8") as f:
                    f.write(text)
        if machine_root() == "/":
            ldconfig = shutil.which("ldconfig", path="/usr/sbin:/sbin")
            if ldconfig:
                subprocess.run([ldconfig], check=False, capture_output=True)

    def postrm(self, ctx: P.ScriptContext, action: str) -> None:
        if action == "purge":
            for path in ("/etc/hosts.allow", "/etc/hosts.deny"):
                with contextlib.suppress(OSError):
                    os.unlink(mpath(path))


class IputilsPingScripts(P.Scripts):
    """iputils-ping 3:20221126-1+deb12u1: postinst configure: ``setcap cap_net_raw+ep
    /bin/ping`` and ``chmod u-s``, else (no setcap, or it fails) ``chmod u+s``."""

    follows = {"postinst": "ae732d248b6e4e9867dd1492e6f79f7304969ff89e6e8187c8817954c9ae39ae"}

    def postinst(self, ctx: P.ScriptContext, action: str, old_version: str) -> None:
        if action != "configure":
            return
        real = mpath("/bin/ping")
        mode = os.stat(real).st_mode & 0o7777
        if setcap("cap_net_raw+ep", "/bin/ping"):
            os.chmod(real, mode & ~0o4000)
        else:
            ctx.err.write("Setcap failed on /bin/ping, falling back to setuid\n")
            os.chmod(real, mode | 0o4000)


NRPE_SCRIPTS: dict[str, type[P.Scripts]] = {
    "nagios-nrpe-server": NagiosNrpeServerScripts,
    "nagios-nrpe-plugin": NagiosNrpePluginScripts,
    "monitoring-plugins-basic": MonitoringPluginsBasicScripts,
    "libwrap0": LibWrap0Scripts,
    "iputils-ping": IputilsPingScripts,
}
