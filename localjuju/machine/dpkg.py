"""``dpkg`` for a local-model machine: the package database and the effect of installing and
removing ``.deb`` packages, done natively.

The database is dpkg's own, in the machine's ``/var/lib/dpkg``: ``status`` (deb822 stanzas,
dpkg's field order), ``info/<pkg>.list`` (every path of the package, ``/.`` first),
``info/<pkg>.md5sums``, ``info/<pkg>.conffiles`` and the maintainer scripts as shipped. A machine
starts with an empty database: the host's packages that make up its ``/usr`` are not listed
(a dependency on a package that the local archive does not have is taken as satisfied by that
base system, see :mod:`localjuju.machine.apt_get`).

Maintainer scripts are never run (they need ``adduser``, ``deb-systemd-helper``,
``update-rc.d``... and the real init). Their effect is implemented here, per package
(:data:`NATIVE_SCRIPTS`); a package with maintainer scripts that have no stand-in is refused.
Conffiles are handled as ``dpkg --force-confold`` does (what charmhelpers' ``apt_install``
passes): a conffile changed locally is kept and the package's version is written beside it as
``<file>.dpkg-dist``.

Commands: ``dpkg -l|-s|-L|-S`` (run as ``dpkg-query``), ``-i``, ``-r``, ``-P``,
``--configure``, ``--print-architecture``, ``--compare-versions``; ``dpkg-query -l|-s|-L|-S|-W
[-f FORMAT]`` (:func:`query_main`). Messages and exit codes follow dpkg 1.21.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import fnmatch
import hashlib
import os
import re
import shutil
import stat
import struct
import sys
import tarfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from .. import debrepo as D
from . import mpath
from . import systemctl as SC
from . import units as U

ADMINDIR = "/var/lib/dpkg"
STATUS_FILE = f"{ADMINDIR}/status"
INFO_DIR = f"{ADMINDIR}/info"
LOCK = f"{ADMINDIR}/lock"
LOCK_FRONTEND = f"{ADMINDIR}/lock-frontend"
DPKG_VERSION = "1.21.1ubuntu2.3"

# dpkg's order of the fields it knows; other fields follow in the package's order.
FIELD_ORDER = (
    "Package",
    "Essential",
    "Protected",
    "Status",
    "Priority",
    "Section",
    "Installed-Size",
    "Origin",
    "Maintainer",
    "Bugs",
    "Architecture",
    "Multi-Arch",
    "Source",
    "Version",
    "Config-Version",
    "Replaces",
    "Provides",
    "Depends",
    "Pre-Depends",
    "Recommends",
    "Suggests",
    "Breaks",
    "Conflicts",
    "Enhances",
    "Conffiles",
    "Description",
    "Triggers-Pending",
    "Triggers-Awaited",
)
CONFFILE_LEFTOVERS = (
    "",
    ".dpkg-old",
    ".dpkg-new",
    ".dpkg-dist",
    ".dpkg-tmp",
    ".dpkg-bak",
    ".dpkg-remove",
    ".orig",
    ".rej",
    "~",
    ".bak",
)
MAINTAINER_SCRIPTS = ("preinst", "postinst", "prerm", "postrm")

WANT_ABBREV = {"unknown": "u", "install": "i", "hold": "h", "deinstall": "r", "purge": "p"}
STATE_ABBREV = {
    "not-installed": "n",
    "config-files": "c",
    "half-installed": "H",
    "unpacked": "U",
    "half-configured": "F",
    "triggers-awaited": "W",
    "triggers-pending": "t",
    "installed": "i",
}


class DpkgError(Exception):
    """A failure with dpkg's message (printed as is), exit status 1 unless ``code`` says."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


class LockError(DpkgError):
    """The database is locked by another process (or cannot be locked)."""

    def __init__(self, path: str, holder: int, reason: str = "") -> None:
        super().__init__(f"{path} is locked", 2)
        self.path = path
        self.holder = holder
        self.reason = reason


# ---------------------------------------------------------------------------------------------
# The database


def status_abbrev(stanza: D.Stanza) -> str:
    """``ii ``, ``rc ``: want, state and error flag of a status stanza."""
    want, flag, state = (stanza.get("Status", "unknown ok not-installed").split() + ["", ""])[:3]
    return (
        WANT_ABBREV.get(want, "?") + STATE_ABBREV.get(state, "?") + (" " if flag == "ok" else "R")
    )


def order_fields(stanza: D.Stanza) -> D.Stanza:
    out = {k: stanza[k] for k in FIELD_ORDER if k in stanza}
    out.update((k, v) for k, v in stanza.items() if k not in out)
    return out


class Database:
    """dpkg's database under the machine's ``/var/lib/dpkg`` (read at construction)."""

    def __init__(self) -> None:
        self.packages: dict[str, D.Stanza] = {}
        try:
            with open(mpath(STATUS_FILE), encoding="utf-8") as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        except OSError as e:
            raise DpkgError(
                f"dpkg: error: failed to open package info file '{STATUS_FILE}' for reading: "
                f"{e.strerror}",
                2,
            ) from e
        for st in D.parse_deb822(text):
            if "Package" in st:
                self.packages[st["Package"]] = st

    # -- state ---------------------------------------------------------------------------------

    def get(self, name: str) -> D.Stanza | None:
        return self.packages.get(name)

    def state(self, name: str) -> str:
        st = self.packages.get(name)
        if st is None:
            return "not-installed"
        return (st.get("Status", "").split() + ["", "", "not-installed"])[2]

    def installed(self, name: str) -> bool:
        return self.state(name) == "installed"

    def set_status(self, name: str, want: str, state: str) -> None:
        self.packages[name]["Status"] = f"{want} ok {state}"

    def conffiles(self, name: str) -> dict[str, str]:
        """path -> md5 of the distributed version (``Conffiles:``)."""
        out = {}
        for line in (self.packages.get(name) or {}).get("Conffiles", "").splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].startswith("/"):
                out[parts[0]] = parts[1]
        return out

    def save(self) -> None:
        path = mpath(STATUS_FILE)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        text = "".join(
            D.format_deb822(order_fields(self.packages[n])) + "\n" for n in sorted(self.packages)
        )
        if os.path.exists(path):
            with contextlib.suppress(OSError):
                shutil.copy2(path, path + "-old")
        tmp = path + "-new"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)

    # -- info files ----------------------------------------------------------------------------

    @staticmethod
    def info_path(name: str, kind: str) -> str:
        return mpath(f"{INFO_DIR}/{name}.{kind}")

    def files(self, name: str) -> list[str]:
        try:
            with open(self.info_path(name, "list"), encoding="utf-8") as f:
                return [line.rstrip("\n") for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def write_info(self, name: str, kind: str, data: bytes | str, mode: int = 0o644) -> None:
        path = self.info_path(name, kind)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = f"{path}.dpkg-new"
        with open(tmp, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)

    def remove_info(self, name: str, keep: tuple[str, ...] = ()) -> None:
        d = mpath(INFO_DIR)
        try:
            entries = os.listdir(d)
        except FileNotFoundError:
            return
        for e in entries:
            base, dot, kind = e.rpartition(".")
            if dot and base == name and kind not in keep:
                with contextlib.suppress(OSError):
                    os.unlink(os.path.join(d, e))

    def owners(self) -> dict[str, set[str]]:
        """path -> the packages that list it."""
        out: dict[str, set[str]] = {}
        for name in self.packages:
            for p in self.files(name):
                out.setdefault(p, set()).add(name)
        return out

    def file_count(self) -> int:
        paths: set[str] = set()
        for name in self.packages:
            paths.update(self.files(name))
        paths.discard("/.")
        return len(paths)


def _lock_holder(fd: int) -> int:
    """The PID holding a write lock on ``fd`` (fcntl F_GETLK), 0 if unknown."""
    flock = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
    try:
        res = fcntl.fcntl(fd, fcntl.F_GETLK, flock)
    except OSError:
        return 0
    return struct.unpack("hhqqi4x", res)[4]


@contextlib.contextmanager
def locked(frontend: bool = True) -> Iterator[None]:
    """Hold dpkg's locks (``lock-frontend`` then ``lock``) as apt and dpkg do, without
    waiting: a held lock raises :class:`LockError` naming its holder."""
    fds = []
    try:
        for p in ([LOCK_FRONTEND] if frontend else []) + [LOCK]:
            real = mpath(p)
            try:
                os.makedirs(os.path.dirname(real), exist_ok=True)
                fd = os.open(real, os.O_RDWR | os.O_CREAT, 0o640)
            except OSError as e:
                raise LockError(p, 0, f"open ({e.errno}: {e.strerror})") from e
            fds.append(fd)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as e:
                if e.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                raise LockError(p, _lock_holder(fd)) from e
        yield
    finally:
        for fd in reversed(fds):
            os.close(fd)  # closing releases the lock


# ---------------------------------------------------------------------------------------------
# The machine's users and groups (what adduser --system / deluser --system change)


def _append_if_present(path: str, line: str) -> None:
    """One more line in an account file the machine has (shadow files are optional)."""
    lines = _read_lines(path)
    if lines is not None:
        _write_lines(path, [*lines, line])


def _read_lines(path: str) -> list[str] | None:
    try:
        with open(mpath(path), encoding="utf-8") as f:
            return f.read().splitlines()
    except FileNotFoundError:
        return None


def _write_lines(path: str, lines: list[str]) -> None:
    real = mpath(path)
    mode = stat.S_IMODE(os.stat(real).st_mode) if os.path.exists(real) else 0o644
    tmp = f"{real}+"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write("".join(line + "\n" for line in lines))
    os.chmod(tmp, mode)
    with contextlib.suppress(OSError):
        st = os.stat(real)
        os.chown(tmp, st.st_uid, st.st_gid)
    os.replace(tmp, real)


def lookup_user(name: str) -> tuple[int, int, str] | None:
    """(uid, gid, home) of ``name`` in the machine's ``/etc/passwd``."""
    for line in _read_lines("/etc/passwd") or []:
        f = line.split(":")
        if len(f) >= 7 and f[0] == name:
            return int(f[2]), int(f[3]), f[5]
    return None


def _ids(path: str) -> set[int]:
    out = set()
    for line in _read_lines(path) or []:
        f = line.split(":")
        if len(f) >= 3 and f[2].isdigit():
            out.add(int(f[2]))
    return out


def add_system_user(name: str, home: str) -> tuple[int, int]:
    """``adduser --system --group --disabled-login --disabled-password --home HOME NAME``
    (adduser 3.1xx with useradd/groupadd): the first free system UID and GID from 100, shell
    ``/usr/sbin/nologin``, locked password, the home directory created (owned by the user,
    0755) when it does not exist. Returns (uid, gid)."""
    passwd = _read_lines("/etc/passwd")
    group = _read_lines("/etc/group")
    if passwd is None or group is None:
        raise DpkgError("adduser: /etc/passwd or /etc/group is missing")
    used_uids, used_gids = _ids("/etc/passwd"), _ids("/etc/group")
    uid = next((i for i in range(100, 1000) if i not in used_uids), -1)
    gid = next((i for i in range(100, 1000) if i not in used_gids), -1)
    if uid < 0 or gid < 0:
        raise DpkgError("adduser: No UID/GID pair is available in the range 100-999")
    existing = next((line for line in group if line.split(":")[0] == name), None)
    if existing is None:
        group.append(f"{name}:x:{gid}:")
        _write_lines("/etc/group", group)
        _append_if_present("/etc/gshadow", f"{name}:!::")
    else:
        gid = int(existing.split(":")[2])
    passwd.append(f"{name}:x:{uid}:{gid}::{home}:/usr/sbin/nologin")
    _write_lines("/etc/passwd", passwd)
    _append_if_present("/etc/shadow", f"{name}:!:{int(time.time() // 86400)}::::::")
    real_home = mpath(home.rstrip("/") or "/")
    if not os.path.exists(real_home):
        os.makedirs(real_home, mode=0o755)
        os.chmod(real_home, 0o755)
        _chown(real_home, uid, gid)
    return uid, gid


def del_system_user(name: str) -> None:
    """``deluser --system NAME``: the user, then its group of the same name when no other
    user has it as primary group and it has no members (userdel with USERGROUPS_ENAB)."""
    entry = lookup_user(name)
    if entry is None:
        return
    _, gid, _ = entry
    for path in ("/etc/passwd", "/etc/shadow"):
        lines = _read_lines(path)
        if lines is not None:
            _write_lines(path, [line for line in lines if line.split(":")[0] != name])
    others = [
        line for line in _read_lines("/etc/passwd") or [] if line.split(":")[3:4] == [str(gid)]
    ]
    group = _read_lines("/etc/group") or []
    own = next((line for line in group if line.split(":")[0] == name), None)
    members = own.split(":")[3] if own is not None and own.count(":") >= 3 else ""
    if own is not None and not others and not members:
        for path in ("/etc/group", "/etc/gshadow"):
            lines = _read_lines(path)
            if lines is not None:
                _write_lines(path, [line for line in lines if line.split(":")[0] != name])


# ---------------------------------------------------------------------------------------------
# What deb-systemd-helper, deb-systemd-invoke and update-rc.d do


DSH_STATE = "/var/lib/systemd/deb-systemd-helper-enabled"


def systemd_booted() -> bool:
    """The maintainer scripts' test: ``[ -d /run/systemd/system ]``."""
    return os.path.isdir(mpath("/run/systemd/system"))


def _dsh_links(unit: str) -> list[tuple[str, str]]:
    """(link, target) of the [Install] section of ``unit`` (WantedBy, RequiredBy, Alias)."""
    cfg = U.load_unit_config(unit)
    if cfg.load_state != "loaded":
        return []
    links = [(f"/etc/systemd/system/{t}.wants/{unit}", cfg.fragment) for t in cfg.wanted_by]
    links += [(f"/etc/systemd/system/{t}.requires/{unit}", cfg.fragment) for t in cfg.required_by]
    links += [(f"/etc/systemd/system/{a}", cfg.fragment) for a in cfg.alias]
    return links


def _dsh_state_file(unit: str) -> str:
    return f"{DSH_STATE}/{unit}.dsh-also"


def dsh_state(unit: str) -> list[str] | None:
    lines = _read_lines(_dsh_state_file(unit))
    return None if lines is None else [line for line in lines if line.strip()]


def dsh_was_enabled(unit: str) -> bool:
    """``deb-systemd-helper was-enabled``: true without a state file (a first install),
    else true when every link it recorded still exists."""
    recorded = dsh_state(unit)
    if recorded is None:
        return True
    return all(os.path.islink(mpath(p)) for p in recorded)


def _dsh_record(unit: str, links: list[str]) -> None:
    state = mpath(_dsh_state_file(unit))
    os.makedirs(os.path.dirname(state), exist_ok=True)
    old = dsh_state(unit) or []
    with open(state, "w", encoding="utf-8") as f:
        f.write("".join(p + "\n" for p in dict.fromkeys(old + links)))
    for p in links:
        mirror = mpath(DSH_STATE + p[len("/etc/systemd/system") :])
        os.makedirs(os.path.dirname(mirror), exist_ok=True)
        with open(mirror, "a", encoding="utf-8"):
            pass


def dsh_enable(unit: str, err: TextIO) -> None:
    """``deb-systemd-helper enable UNIT``: create the [Install] links, record them."""
    links = _dsh_links(unit)
    for link, target in links:
        real = mpath(link)
        if os.path.islink(real) and os.readlink(real) == target:
            continue
        os.makedirs(os.path.dirname(real), exist_ok=True)
        if os.path.lexists(real):
            os.unlink(real)
        os.symlink(target, real)
        err.write(f"Created symlink {link} \u2192 {target}.\n")
        err.flush()
    _dsh_record(unit, [link for link, _ in links])


def dsh_update_state(unit: str) -> None:
    _dsh_record(unit, [link for link, _ in _dsh_links(unit)])


def dsh_purge(unit: str) -> None:
    """``deb-systemd-helper purge UNIT``: remove the links it recorded, and its state."""
    for p in dsh_state(unit) or []:
        real = mpath(p)
        if os.path.islink(real):
            os.unlink(real)
        mirror = mpath(DSH_STATE + p[len("/etc/systemd/system") :])
        with contextlib.suppress(OSError):
            os.unlink(mirror)
        with contextlib.suppress(OSError):
            if os.path.dirname(mirror) != mpath(DSH_STATE):
                os.rmdir(os.path.dirname(mirror))
    with contextlib.suppress(OSError):
        os.unlink(mpath(_dsh_state_file(unit)))


def systemctl_quiet(op: str, units: list[str] | None = None) -> bool:
    """``systemctl OP UNITS >/dev/null || true``: True when it worked."""
    try:
        reply = SC.request(op, units=units or [])
    except (SC.SystemdError, OSError, ValueError):
        return False
    return all(r.get("ok") for r in reply.get("results", []))


def deb_systemd_invoke(action: str, unit: str) -> None:
    """``deb-systemd-invoke ACTION UNIT``: start/restart only an enabled (or static) unit.

    A machine is an Ubuntu machine: the host's ``/usr/sbin/policy-rc.d`` (a container's "do
    not start services") is not consulted.
    """
    if action in ("start", "restart") and U.enabled_state(unit) not in ("enabled", "static"):
        return
    systemctl_quiet(action, [unit])


RUNLEVELS_START = ("2", "3", "4", "5")
RUNLEVELS_STOP = ("0", "1", "6")


def update_rc_defaults(script: str) -> None:
    """``update-rc.d SCRIPT defaults`` without insserv: S01/K01 links in /etc/rc?.d."""
    for levels, prefix in ((RUNLEVELS_START, "S01"), (RUNLEVELS_STOP, "K01")):
        for rl in levels:
            d = mpath(f"/etc/rc{rl}.d")
            if any(e[3:] == script for e in _listdir(d) if e[:1] in "SK"):
                continue
            os.makedirs(d, exist_ok=True)
            os.symlink(f"../init.d/{script}", os.path.join(d, f"{prefix}{script}"))


def update_rc_remove(script: str) -> None:
    for rl in RUNLEVELS_START + RUNLEVELS_STOP + ("S",):
        d = mpath(f"/etc/rc{rl}.d")
        for e in _listdir(d):
            if e[:1] in "SK" and e[3:] == script and os.path.islink(os.path.join(d, e)):
                os.unlink(os.path.join(d, e))


def _listdir(d: str) -> list[str]:
    try:
        return sorted(os.listdir(d))
    except OSError:
        return []


# ---------------------------------------------------------------------------------------------
# Maintainer scripts, natively


@dataclass
class ScriptContext:
    package: str
    version: str
    out: TextIO
    err: TextIO


class Scripts:
    """The maintainer scripts of a package without any (or whose effect is nothing here)."""

    #: sha256 of the scripts this stand-in follows (a package whose scripts differ is
    #: installed with a warning)
    follows: dict[str, str] = {}

    def preinst(self, ctx: ScriptContext, action: str, old_version: str) -> None:
        pass

    def postinst(self, ctx: ScriptContext, action: str, old_version: str) -> None:
        pass

    def prerm(self, ctx: ScriptContext, action: str) -> None:
        pass

    def postrm(self, ctx: ScriptContext, action: str) -> None:
        pass


class EtcdServerScripts(Scripts):
    """Debian's etcd-server 3.4.23-4 (``dpkg -e etcd-server_3.4.23-4+b4_amd64.deb``):

    - preinst install (a reinstall): ``chmod +x /etc/init.d/etcd`` (dh_installinit);
    - postinst configure: ``adduser --system --group ... --home /var/lib/etcd/ etcd`` unless
      the user exists; ``mkdir -p -m 700 /var/lib/etcd; chmod 700``; ``update-rc.d etcd
      defaults`` (``invoke-rc.d --skip-systemd-native`` does nothing: the unit is native);
      ``deb-systemd-helper enable etcd.service`` when it was enabled (always on a first
      install), else ``update-state``; with systemd running: ``daemon-reload`` and
      ``deb-systemd-invoke start etcd.service`` (failures ignored, ``|| true``);
    - prerm remove: ``deb-systemd-invoke stop etcd.service``;
    - postrm remove: ``chmod -x /etc/init.d/etcd``, ``daemon-reload``; postrm purge:
      ``update-rc.d etcd remove``, ``deb-systemd-helper purge etcd.service``,
      ``deluser --system etcd``, ``rm -rf /var/lib/etcd``.
    """

    follows = {
        "preinst": "294dd1ef7b754fbb59684eeb5449fa2eeca6299dc59cfaf248fe5dfc35eefa6d",
        "postinst": "e38b3bffa946a2b98e5527486ecffff9e87fb7724d832248844ad49b0ab78a15",
        "prerm": "78a62d6ec353b75c9baf29e033cc7a8670668cf583612adec053c5c1b0392858",
        "postrm": "da8d2a5877e2948a245cdd6a85d3efb2bbc64037925669320b31c981665bf301",
    }
    unit = "etcd.service"
    init_script = "/etc/init.d/etcd"
    home = "/var/lib/etcd"

    def preinst(self, ctx: ScriptContext, action: str, old_version: str) -> None:
        if action == "install" and old_version and os.path.exists(mpath(self.init_script)):
            _chmod_x(self.init_script, True)

    def postinst(self, ctx: ScriptContext, action: str, old_version: str) -> None:
        if action != "configure":
            return
        if lookup_user("etcd") is None:
            add_system_user("etcd", self.home + "/")
        real = mpath(self.home)
        os.makedirs(real, mode=0o700, exist_ok=True)
        os.chmod(real, 0o700)
        if os.access(mpath(self.init_script), os.X_OK):
            update_rc_defaults("etcd")
        if dsh_was_enabled(self.unit):
            dsh_enable(self.unit, ctx.err)
        else:
            dsh_update_state(self.unit)
        if systemd_booted():
            systemctl_quiet("daemon-reload")
            deb_systemd_invoke("restart" if old_version else "start", self.unit)

    def prerm(self, ctx: ScriptContext, action: str) -> None:
        if action == "remove" and systemd_booted():
            deb_systemd_invoke("stop", self.unit)

    def postrm(self, ctx: ScriptContext, action: str) -> None:
        if action == "remove":
            if os.access(mpath(self.init_script), os.X_OK):
                _chmod_x(self.init_script, False)
            if systemd_booted():
                systemctl_quiet("daemon-reload")
        elif action == "purge":
            update_rc_remove("etcd")
            dsh_purge(self.unit)
            del_system_user("etcd")
            shutil.rmtree(mpath(self.home), ignore_errors=True)


def _chmod_x(path: str, on: bool) -> None:
    real = mpath(path)
    with contextlib.suppress(OSError):
        mode = stat.S_IMODE(os.stat(real).st_mode)
        os.chmod(real, mode | 0o111 if on else mode & ~0o111)


NATIVE_SCRIPTS: dict[str, Callable[[], Scripts]] = {"etcd-server": EtcdServerScripts}


def scripts_for(name: str, shipped: dict[str, bytes]) -> Scripts:
    """The native stand-in for the maintainer scripts ``shipped`` with package ``name``."""
    factory = NATIVE_SCRIPTS.get(name)
    if factory is None:
        if any(k in shipped for k in MAINTAINER_SCRIPTS):
            raise DpkgError(
                f"package {name} has maintainer scripts ({', '.join(sorted(shipped))}) and "
                "localjuju's dpkg has no native stand-in for them"
            )
        return Scripts()
    return factory()


def scripts_differ(scripts: Scripts, shipped: dict[str, bytes]) -> list[str]:
    """The shipped scripts that are not the ones the stand-in follows."""
    out = []
    for name in MAINTAINER_SCRIPTS:
        want = scripts.follows.get(name)
        data = shipped.get(name)
        if want is None and data is None:
            continue
        if data is None or hashlib.sha256(data).hexdigest() != want:
            out.append(name)
    return out


# ---------------------------------------------------------------------------------------------
# The engine


def _norm(member: str) -> str:
    """Tar member name -> machine path (``./usr/bin/x`` -> ``/usr/bin/x``, ``./`` -> ``/.``)."""
    name = member
    while name.startswith("./"):
        name = name[2:]
    name = name.strip("/")
    if not name or name == ".":
        return "/."
    norm = os.path.normpath("/" + name)
    if ".." in norm.split("/"):
        raise DpkgError(f"unsafe path in package: {member!r}")
    return norm


def _md5(path: str) -> str | None:
    try:
        return D.md5_file(path)
    except (FileNotFoundError, IsADirectoryError):
        return None


@dataclass
class Dpkg:
    """One dpkg run: unpack, configure, remove and purge packages, printing what dpkg prints."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    confnew: bool = False  # --force-confnew (default: --force-confold)
    db: Database = field(default_factory=Database)
    _read_db: bool = False
    pending_dist: dict[str, dict[str, str]] = field(default_factory=dict)

    def say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def reading_database(self) -> None:
        if not self._read_db:
            self._read_db = True
            n = self.db.file_count()
            self.say(f"(Reading database ... {n} files and directories currently installed.)")

    def new_run(self) -> None:
        """A new dpkg invocation (apt runs dpkg once per phase)."""
        self._read_db = False

    def _ctx(self, name: str) -> ScriptContext:
        return ScriptContext(name, self.db.packages[name].get("Version", ""), self.out, self.err)

    # -- unpack --------------------------------------------------------------------------------

    def unpack(self, deb_path: str, shown_path: str | None = None) -> str:
        """``dpkg --unpack``: returns the package name."""
        try:
            deb = D.DebFile(deb_path)
        except (D.DebError, OSError) as e:
            raise DpkgError(f"dpkg: error processing archive {deb_path} (--unpack):\n {e}") from e
        name, version = deb.package, deb.version
        shipped = deb.maintainer_scripts()
        try:
            scripts = scripts_for(name, shipped)
        except DpkgError as e:
            raise DpkgError(f"dpkg: error processing archive {deb_path} (--unpack):\n {e}") from e
        prior = self.db.get(name)
        prior_state = self.db.state(name)
        if prior_state not in ("not-installed", "config-files"):
            raise DpkgError(
                f"dpkg: error processing archive {deb_path} (--unpack):\n "
                f"{name} is already installed ({prior_state}); upgrades are not supported here"
            )
        if prior is None:
            self.say(f"Selecting previously unselected package {name}.")
        self.reading_database()
        self.say(f"Preparing to unpack {shown_path or deb_path} ...")
        differ = scripts_differ(scripts, shipped)
        if differ:
            self.err.write(
                f"dpkg: warning: {name} {version}: its {', '.join(differ)} differ from the "
                f"ones localjuju's stand-in follows\n"
            )
        old_version = prior.get("Config-Version", prior.get("Version", "")) if prior else ""
        ctx = ScriptContext(name, version, self.out, self.err)
        scripts.preinst(ctx, "install", old_version)
        self.say(f"Unpacking {name} ({version}) ...")
        old_conf = self.db.conffiles(name)
        owners = self.db.owners()
        conffiles = deb.conffiles()
        dist: dict[str, str] = {}
        paths: list[str] = []
        with deb.data() as tar:
            members = tar.getmembers()
            for m in members:
                path = _norm(m.name)
                paths.append(path)
                if m.isfile() and path not in conffiles:
                    other = sorted((owners.get(path) or set()) - {name})
                    if other:
                        raise DpkgError(
                            f"dpkg: error processing archive {deb_path} (--unpack):\n trying to "
                            f"overwrite '{path}', which is also in package {other[0]}"
                        )
            for m in members:
                path = _norm(m.name)
                if path == "/.":
                    continue
                if m.isfile() and path in conffiles:
                    data = self._extract_bytes(tar, m)
                    dist[path] = hashlib.md5(data).hexdigest()  # noqa: S324
                    self._install_conffile(path, data, m, old_conf.get(path))
                else:
                    self._extract(tar, m, path)
        # the database: info files, then the status entry
        self.db.write_info(name, "list", "".join(p + "\n" for p in paths))
        md5sums = deb.control_files.get("md5sums")
        if md5sums is not None:
            self.db.write_info(name, "md5sums", md5sums)
        self.db.remove_info(name, keep=("list", "md5sums"))
        if conffiles:
            self.db.write_info(name, "conffiles", "".join(c + "\n" for c in conffiles))
        for sname, data in shipped.items():
            self.db.write_info(name, sname, data, 0o755 if sname in MAINTAINER_SCRIPTS else 0o644)
        st = dict(deb.control)
        st["Status"] = "install ok unpacked"
        if conffiles:
            st["Conffiles"] = "".join(f"\n {c} {dist.get(c, 'newconffile')}" for c in conffiles)
        if old_version:
            st["Config-Version"] = old_version
        self.db.packages[name] = st
        self.db.save()
        return name

    @staticmethod
    def _extract_bytes(tar: tarfile.TarFile, m: tarfile.TarInfo) -> bytes:
        f = tar.extractfile(m)
        return f.read() if f is not None else b""

    def _extract(self, tar: tarfile.TarFile, m: tarfile.TarInfo, path: str) -> None:
        real = mpath(path)
        if m.isdir():
            if not os.path.isdir(real):  # an existing directory (or link to one) is kept
                if os.path.lexists(real):
                    os.unlink(real)
                os.mkdir(real, m.mode & 0o7777)
                os.chmod(real, m.mode & 0o7777)
                _chown(real, m.uid, m.gid)
            return
        if os.path.isdir(real) and not os.path.islink(real):
            raise DpkgError(f"dpkg: error: trying to overwrite directory '{path}' with a file")
        tmp = real + ".dpkg-new"
        if os.path.lexists(tmp):
            os.unlink(tmp)
        if m.issym():
            os.symlink(m.linkname, tmp)
        elif m.islnk():
            os.link(mpath(_norm(m.linkname)), tmp)
        elif m.isfile():
            src = tar.extractfile(m)
            with open(tmp, "wb") as f:
                if src is not None:
                    shutil.copyfileobj(src, f, 1 << 20)
            os.chmod(tmp, m.mode & 0o7777)
            _chown(tmp, m.uid, m.gid)
            os.utime(tmp, (m.mtime, m.mtime))
        else:
            raise DpkgError(f"dpkg: error: unsupported file type of '{path}' in the package")
        os.replace(tmp, real)

    def _install_conffile(
        self, path: str, data: bytes, m: tarfile.TarInfo, recorded: str | None
    ) -> None:
        real = mpath(path)
        new = hashlib.md5(data).hexdigest()  # noqa: S324
        current = _md5(real) if os.path.lexists(real) else None

        def write(target: str) -> None:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            tmp = target + ".dpkg-tmp"
            with open(tmp, "wb") as f:
                f.write(data)
            os.chmod(tmp, m.mode & 0o7777)
            _chown(tmp, m.uid, m.gid)
            os.utime(tmp, (m.mtime, m.mtime))
            os.replace(tmp, target)

        if current is None or current == new:
            write(real)
            return
        if recorded is not None and recorded == new:
            return  # changed locally, not in the package: kept silently
        if recorded is not None and current == recorded:
            write(real)  # not changed locally: the package's new version
            return
        self.err.write(
            f"\nConfiguration file '{path}'\n"
            " ==> File on system created by you or by a script.\n"
            " ==> File also in package provided by package maintainer.\n"
        )
        if self.confnew:
            self.err.write(" ==> Using new file as you requested.\n")
            os.replace(real, real + ".dpkg-old")
            write(real)
        else:
            self.err.write(" ==> Using current old file as you requested.\n")
            write(real + ".dpkg-dist")
        self.err.flush()

    # -- configure -----------------------------------------------------------------------------

    def configure(self, name: str) -> None:
        st = self.db.get(name)
        if st is None or self.db.state(name) != "unpacked":
            return
        version = st.get("Version", "")
        old_version = st.pop("Config-Version", "")
        self.say(f"Setting up {name} ({version}) ...")
        scripts = scripts_for(name, self._shipped_scripts(name))
        self.db.set_status(name, "install", "half-configured")
        self.db.save()
        scripts.postinst(self._ctx(name), "configure", old_version)
        self.db.set_status(name, "install", "installed")
        self.db.save()

    def _shipped_scripts(self, name: str) -> dict[str, bytes]:
        out = {}
        for s in MAINTAINER_SCRIPTS:
            try:
                with open(self.db.info_path(name, s), "rb") as f:
                    out[s] = f.read()
            except FileNotFoundError:
                continue
        return out

    # -- remove and purge ----------------------------------------------------------------------

    def remove(self, name: str) -> None:
        """``dpkg --remove``: prerm, the package's files except conffiles, postrm. Without
        conffiles and postrm nothing is left and the entry goes (as dpkg does)."""
        st = self.db.get(name)
        if st is None or self.db.state(name) in ("not-installed", "config-files"):
            return
        self.reading_database()
        version = st.get("Version", "")
        self.say(f"Removing {name} ({version}) ...")
        shipped = self._shipped_scripts(name)
        scripts = scripts_for(name, shipped)
        scripts.prerm(self._ctx(name), "remove")
        conffiles = self.db.conffiles(name)
        others = self.db.owners()
        files = self.db.files(name)
        for path in reversed(files):
            if path == "/." or path in conffiles:
                continue
            if (others.get(path) or set()) - {name}:
                continue
            _remove_path(mpath(path))
        scripts.postrm(self._ctx(name), "remove")
        if not conffiles and "postrm" not in shipped:
            del self.db.packages[name]
            self.db.remove_info(name)
            self.db.save()
            return
        kept = [p for p in files if p == "/." or _is_ancestor_or_self(p, conffiles)]
        self.db.write_info(name, "list", "".join(p + "\n" for p in kept))
        self.db.remove_info(name, keep=("list", "postrm"))
        self.db.set_status(name, "deinstall", "config-files")
        st["Config-Version"] = version
        self.db.save()

    def purge(self, name: str) -> None:
        """``dpkg --purge`` of a package in config-files state: conffiles, postrm purge, the
        status entry."""
        st = self.db.get(name)
        if st is None or self.db.state(name) != "config-files":
            return
        self.reading_database()
        version = st.get("Config-Version") or st.get("Version", "")
        self.say(f"Purging configuration files for {name} ({version}) ...")
        scripts = scripts_for(name, self._shipped_scripts(name))
        for path in self.db.conffiles(name):
            for ext in CONFFILE_LEFTOVERS:
                real = mpath(path + ext)
                if os.path.lexists(real) and not os.path.isdir(real):
                    os.unlink(real)
        others = self.db.owners()
        for path in reversed(self.db.files(name)):
            if path != "/." and not (others.get(path) or set()) - {name}:
                real = mpath(path)
                if os.path.isdir(real) and not os.path.islink(real):
                    with contextlib.suppress(OSError):
                        os.rmdir(real)
        self.db.set_status(name, "purge", "config-files")
        scripts.postrm(self._ctx(name), "purge")
        del self.db.packages[name]
        self.db.remove_info(name)
        self.db.save()


def _is_ancestor_or_self(path: str, conffiles: dict[str, str]) -> bool:
    return any(c == path or c.startswith(path.rstrip("/") + "/") for c in conffiles)


def _remove_path(real: str) -> None:
    """Remove one listed path: a file or symlink is unlinked, a directory removed when empty.
    A symlink to a directory (``/lib`` on a merged-/usr machine) stands for the directory the
    package listed and is never removed."""
    try:
        st = os.lstat(real)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode) or (stat.S_ISLNK(st.st_mode) and os.path.isdir(real)):
        if stat.S_ISDIR(st.st_mode):
            with contextlib.suppress(OSError):
                os.rmdir(real)
        return
    os.unlink(real)


def _chown(path: str, uid: int, gid: int) -> None:
    if os.geteuid() == 0:
        os.lchown(path, uid, gid)


def architecture() -> str:
    m = os.uname().machine
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armhf", "i686": "i386"}.get(m, m)


# ---------------------------------------------------------------------------------------------
# dpkg-query


def _glob_match(pattern: str, name: str) -> bool:
    return fnmatch.fnmatchcase(name, pattern)


def synopsis(st: D.Stanza) -> str:
    return st.get("Description", "").split("\n", 1)[0]


def list_packages(db: Database, patterns: list[str], out: TextIO, err: TextIO) -> int:
    """``dpkg-query -l``: dpkg 1.21's table, columns as wide as their widest entry."""
    rc = 0
    if patterns:
        chosen: list[str] = []
        for pat in patterns:
            hits = [n for n in sorted(db.packages) if _glob_match(pat, n)]
            if not hits:
                err.write(f"dpkg-query: no packages found matching {pat}\n")
                rc = 1
            chosen += [n for n in hits if n not in chosen]
    else:
        chosen = [n for n in sorted(db.packages) if db.state(n) != "not-installed"]
    if not chosen:
        return rc
    rows = []
    for n in sorted(chosen):
        st = db.packages[n]
        rows.append(
            (
                status_abbrev(st),
                n,
                st.get("Version", "") or "<none>",
                st.get("Architecture", "") or "<none>",
                synopsis(st) or "(no description available)",
            )
        )
    nw = max([14] + [len(r[1]) for r in rows])
    vw = max([12] + [len(r[2]) for r in rows])
    aw = max([12] + [len(r[3]) for r in rows])
    dw = max([33] + [len(r[4]) for r in rows])
    out.write(
        "Desired=Unknown/Install/Remove/Purge/Hold\n"
        "| Status=Not/Inst/Conf-files/Unpacked/halF-conf/Half-inst/trig-aWait/Trig-pend\n"
        "|/ Err?=(none)/Reinst-required (Status,Err: uppercase=bad)\n"
    )
    out.write(f"||/ {'Name':<{nw}} {'Version':<{vw}} {'Architecture':<{aw}} Description\n")
    out.write(f"+++-{'=' * nw}-{'=' * vw}-{'=' * aw}-{'=' * dw}\n")
    for abbrev, name, version, arch, desc in rows:
        out.write(f"{abbrev} {name:<{nw}} {version:<{vw}} {arch:<{aw}} {desc}\n")
    return rc


def _field_value(db: Database, name: str, key: str) -> str:
    st = db.packages[name]
    if key == "binary:Package":
        return name
    if key == "binary:Summary":
        return synopsis(st)
    if key == "db:Status-Abbrev":
        return status_abbrev(st)
    status = (st.get("Status", "unknown ok not-installed").split() + ["", "", ""])[:3]
    if key == "db:Status-Want":
        return status[0]
    if key == "db:Status-Eflag":
        return status[1]
    if key == "db:Status-Status":
        return status[2]
    if key == "db-fsys:Files":
        return "".join(f" {p}\n" for p in db.files(name))
    if key == "source:Package":
        return st.get("Source", name).split()[0]
    value = next((v for k, v in st.items() if k.lower() == key.lower()), "")
    return value


_FORMAT = re.compile(r"\$\{([^}:;]+(?::[^};]+)?)(?:;(-?\d+))?\}")


def format_package(db: Database, name: str, fmt: str) -> str:
    fmt = fmt.replace("\\n", "\n").replace("\\t", "\t").replace("\\\\", "\\")

    def sub(m: re.Match[str]) -> str:
        value = _field_value(db, name, m.group(1))
        if m.group(2):
            width = int(m.group(2))
            value = value.rjust(-width) if width < 0 else value.ljust(width)
        return value

    return _FORMAT.sub(sub, fmt)


def query_main(argv: list[str] | None = None, prog: str = "dpkg-query") -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out, err = sys.stdout, sys.stderr
    action = ""
    fmt = "${binary:Package}\t${Version}\n"
    names: list[str] = []
    actions = {
        "-l": "list",
        "--list": "list",
        "-s": "status",
        "--status": "status",
        "-L": "listfiles",
        "--listfiles": "listfiles",
        "-S": "search",
        "--search": "search",
        "-W": "show",
        "--show": "show",
        "-p": "print-avail",
        "--print-avail": "print-avail",
    }
    i = 0
    while i < len(args):
        a = args[i]
        if a in actions:
            action = actions[a]
        elif a in ("-f", "--showformat"):
            i += 1
            fmt = args[i] if i < len(args) else ""
        elif a.startswith("--showformat="):
            fmt = a.split("=", 1)[1]
        elif a.startswith("-f") and len(a) > 2:
            fmt = a[3:] if a[2] == "=" else a[2:]
        elif re.fullmatch(r"-[lsLSW]+", a):
            action = actions["-" + a[-1]]
        elif a.startswith(("--admindir", "--root", "--instdir", "--no-pager", "--load-avail")):
            pass
        elif a in ("--version",):
            out.write(
                f"Debian dpkg-query package management program version {DPKG_VERSION} "
                f"({architecture()}).\n"
            )
            return 0
        elif a in ("-h", "--help"):
            out.write("Usage: dpkg-query [<option>...] <command>\n")
            return 0
        elif a.startswith("-") and a != "-":
            err.write(
                f"{prog}: error: unknown option {a}\n\nUse --help for help about "
                "querying packages.\n"
            )
            return 2
        else:
            names.append(a)
        i += 1
    if not action:
        err.write(
            f"{prog}: error: need an action option\n\nUse --help for help about "
            "querying packages.\n"
        )
        return 2
    try:
        db = Database()
    except DpkgError as e:
        err.write(str(e) + "\n")
        return e.code
    if action == "list":
        return list_packages(db, names, out, err)
    if action == "show":
        rc = 0
        chosen = []
        for pat in names or ["*"]:
            hits = [n for n in sorted(db.packages) if _glob_match(pat, n)]
            if not names:
                hits = [n for n in hits if db.state(n) != "not-installed"]
            if not hits:
                err.write(f"dpkg-query: no packages found matching {pat}\n")
                rc = 1
            chosen += [n for n in hits if n not in chosen]
        for n in chosen:
            out.write(format_package(db, n, fmt))
        return rc
    if action == "search":
        return _search(db, names, out, err)
    if not names:
        err.write(
            f"{prog}: error: --{action} needs at least one package name argument\n\n"
            "Use --help for help about querying packages.\n"
        )
        return 2
    rc = 0
    for idx, n in enumerate(names):
        st = db.get(n)
        if action in ("status", "print-avail"):
            if st is None or (action == "print-avail"):
                what = (
                    "not installed and no information is available"
                    if action == "status"
                    else "not available"
                )
                err.write(f"dpkg-query: package '{n}' is {what}\n")
                rc = 1
            else:
                out.write(D.format_deb822(order_fields(st)))
        else:  # listfiles
            if st is None or db.state(n) == "not-installed":
                err.write(f"dpkg-query: package '{n}' is not installed\n")
                rc = 1
            else:
                files = db.files(n)
                if files:
                    out.write("".join(p + "\n" for p in files))
                else:
                    out.write(f"Package '{n}' does not contain any files (!)\n")
        if idx < len(names) - 1:
            out.write("\n")
    if rc and action == "status":
        err.write("Use dpkg --info (= dpkg-deb --info) to examine archive files.\n")
    elif rc and action == "listfiles":
        err.write("Use dpkg --contents (= dpkg-deb --contents) to list archive files contents.\n")
    return rc


def _path_matches(pattern: str, path: str) -> bool:
    """dpkg -S: a glob, an absolute path (exact), or a substring."""
    if any(c in pattern for c in "*?["):
        return fnmatch.fnmatchcase(path, pattern)
    if pattern.startswith("/"):
        return path == (pattern.rstrip("/") or "/")
    return pattern in path


def _search(db: Database, patterns: list[str], out: TextIO, err: TextIO) -> int:
    if not patterns:
        err.write("dpkg-query: error: --search needs at least one file name pattern argument\n")
        return 2
    rc = 0
    owners = db.owners()
    for pat in patterns:
        hits = sorted(p for p in owners if p != "/." and _path_matches(pat, p))
        if not hits:
            err.write(f"dpkg-query: no path found matching pattern {pat}\n")
            rc = 1
        for p in hits:
            out.write(f"{', '.join(sorted(owners[p]))}: {p}\n")
    return rc


# ---------------------------------------------------------------------------------------------
# dpkg


DPKG_HELP = """Usage: dpkg [<option>...] <command>

This is the local model's dpkg: -i|--install <.deb>..., -r|--remove <package>...,
-P|--purge <package>..., --configure <package>...|-a, -l|-s|-L|-S (dpkg-query),
--print-architecture, --compare-versions <a> <op> <b>.
"""
UNKNOWN_OPTION_TAIL = """
Type dpkg --help for help about installing and deinstalling packages [*];
Use 'apt' or 'aptitude' for user-friendly package management;
Type dpkg -Dhelp for a list of dpkg debug flag values;
Type dpkg --force-help for a list of forcing options;
Type dpkg-deb --help for help about manipulating *.deb files;

Options marked [*] produce a lot of output - pipe it through 'less' or 'more' !
"""
QUERY_ACTIONS = ("-l", "--list", "-s", "--status", "-L", "--listfiles", "-S", "--search", "-p")
RELATIONS = {
    "lt": "<<",
    "le": "<=",
    "eq": "=",
    "ne": "!=",
    "ge": ">=",
    "gt": ">>",
    "<<": "<<",
    "<=": "<=",
    "=": "=",
    ">=": ">=",
    ">>": ">>",
    "<": "<=",
    ">": ">=",
}


def _usage_error(message: str) -> int:
    sys.stderr.write(f"dpkg: error: {message}\n{UNKNOWN_OPTION_TAIL}")
    return 2


def compare_versions(args: list[str]) -> int:
    if len(args) != 3:
        return _usage_error(
            "--compare-versions takes three arguments: <version> <relation> <version>"
        )
    a, rel, b = args
    op = RELATIONS.get(rel.replace("-nl", ""))
    if op is None:
        return _usage_error("--compare-versions bad relation")
    if not a or not b:  # an empty version: 'nl' forms treat it as later, plain ones as earlier
        empty_later = rel.endswith("-nl")
        if not a and not b:
            c = 0
        elif not a:
            c = 1 if empty_later else -1
        else:
            c = -1 if empty_later else 1
    else:
        c = D.version_compare(a, b)
    ok = {
        "<<": c < 0,
        "<=": c <= 0,
        "=": c == 0,
        "!=": c != 0,
        ">=": c >= 0,
        ">>": c > 0,
    }[op]
    return 0 if ok else 1


def dpkg_main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        return _usage_error("need an action option")
    for a in args:
        if a in QUERY_ACTIONS or re.fullmatch(r"-[lsLS]+", a) and not a.startswith("--"):
            return query_main(args, prog="dpkg")
    confnew = False
    action = ""
    targets: list[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-i", "--install"):
            action = "install"
        elif a in ("-r", "--remove"):
            action = "remove"
        elif a in ("-P", "--purge"):
            action = "purge"
        elif a == "--configure":
            action = "configure"
        elif a in ("-a", "--pending"):
            targets.append("-a")
        elif a == "--print-architecture":
            print(architecture())
            return 0
        elif a == "--print-foreign-architectures":
            return 0
        elif a == "--compare-versions":
            return compare_versions(args[i + 1 : i + 4])
        elif a == "--version":
            print(
                f"Debian 'dpkg' package management program version {DPKG_VERSION} "
                f"({architecture()})."
            )
            return 0
        elif a in ("-h", "--help"):
            print(DPKG_HELP)
            return 0
        elif a == "--force-confnew":
            confnew = True
        elif (
            a.startswith("--force-")
            or a in ("--no-triggers", "--no-debsig")
            or a.startswith(("--status-fd", "--log", "--admindir", "--root", "--instdir"))
        ):
            pass
        elif a.startswith("-") and a != "-":
            return _usage_error(f"unknown option {a}")
        else:
            targets.append(a)
        i += 1
    if not action:
        return _usage_error("need an action option")
    try:
        with locked():
            d = Dpkg(confnew=confnew)
            return _run_action(d, action, [t for t in targets if t != "-a"], "-a" in targets)
    except LockError as e:
        sys.stderr.write(
            f"dpkg: error: dpkg frontend lock was locked by another process with pid {e.holder}\n"
            "Note: removing the lock file is always wrong, can damage the locked area\n"
            "and the entire system. See <https://wiki.debian.org/Teams/Dpkg/FAQ>.\n"
            if not e.reason
            else "dpkg: error: requested operation requires superuser privilege\n"
        )
        return 2
    except DpkgError as e:
        sys.stderr.write(str(e) + "\n")
        return e.code


def _run_action(d: Dpkg, action: str, targets: list[str], pending: bool) -> int:
    if action == "configure":
        names = [n for n in d.db.packages if d.db.state(n) == "unpacked"] if pending else targets
        for n in names:
            d.configure(n)
        return 0
    if not targets:
        return _usage_error(f"--{action} needs at least one package name argument")
    errors = []
    if action == "install":
        names = []
        for t in targets:
            try:
                names.append(d.unpack(t))
            except DpkgError as e:
                errors.append((t, str(e)))
        for n in names:
            d.configure(n)
    else:
        for t in targets:
            if d.db.get(t) is None:
                sys.stderr.write(
                    f"dpkg: warning: ignoring request to remove {t} which isn't installed\n"
                )
                continue
            d.remove(t)
            if action == "purge":
                d.purge(t)
    if errors:
        for _, msg in errors:
            sys.stderr.write(msg + "\n")
        sys.stderr.write("Errors were encountered while processing:\n")
        for t, _ in errors:
            sys.stderr.write(f" {t}\n")
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return dpkg_main(argv)
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())


# The NRPE packages' stand-ins live in their own module (it uses the helpers above).
from .dpkg_nrpe import NRPE_SCRIPTS  # noqa: E402

NATIVE_SCRIPTS.update(NRPE_SCRIPTS)
