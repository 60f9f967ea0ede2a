"""Strict confinement of snap apps: what snap-confine and snapd's AppArmor template enforce,
reproduced with a mount namespace per app and a reduced capability bounding set.

A strictly confined app runs in a mount namespace where:

- every mount of the machine is read-only (per-mount ``MS_REMOUNT|MS_BIND|MS_RDONLY``, the file
  systems themselves stay writable for everyone else);
- ``/tmp`` is ``/tmp/snap-private-tmp/snap.<snap>/tmp`` (snap-confine's private /tmp);
- ``/snap`` holds only ``/snap/<snap>`` (read-only); ``/var/snap`` only ``/var/snap/<snap>``,
  read-only except ``$SNAP_DATA`` (the current revision) and ``$SNAP_COMMON``;
  ``/var/lib/snapd`` only the ``void`` directory; ``/run/localjuju`` (the service manager's
  socket) is empty;
- without the ``home`` plug ``/root`` holds only ``/root/snap/<snap>`` (``$SNAP_USER_DATA`` and
  ``$SNAP_USER_COMMON`` writable) and ``/home`` is empty; with it ``/root`` and every
  ``/home/<user>`` are writable, their top-level hidden entries are replaced by inaccessible
  (mode 000) ones, their ``snap`` directory shows only ``<snap>`` and their ``bin`` is
  read-only (home.go's rules);
- without a connected ``removable-media`` plug ``/mnt``, ``/media`` and ``/run/media`` are
  empty; with it ``/mnt`` and ``/media/*`` are writable (removable_media.go);

and the app is exec'd by ``setpriv`` with a bounding set of only the capabilities snapd's
default template grants (``ipc_lock``, ``sys_chroot``): root keeps no ``CAP_DAC_OVERRIDE`` or
``CAP_DAC_READ_SEARCH`` ("traditional DAC to be enforced for root"), so another user's 0700
directory refuses it with EACCES, and no ``CAP_SYS_ADMIN``, so it cannot undo the mounts.

On a machine (root ``/``) the namespace is built once per app and kept, as snap-confine keeps
``/run/snapd/ns/<snap>.mnt``: a bind mount of the namespace on
``/run/snapd/ns/<snap>.<app>.mnt``; later calls only ``nsenter`` it. ``snap connect``,
``disconnect``, ``refresh``, ``revert`` and ``remove`` discard it (snap-discard-ns); a running
daemon keeps the view it started with. Against a directory (``$LOCALJUJU_MACHINE_ROOT``, the
tests) each call builds a throwaway namespace, unless ``LOCALJUJU_SNAP_NS=persist`` (a test
that runs in a throwaway mount namespace of its own).

Usage (by the ``/snap/bin`` wrappers): ``python -m localjuju.machine.confine prepare <snap>
<app>`` and ``python -m localjuju.machine.confine run <snap> <app> -- <argv>...``.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import json
import os
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import yaml

from . import machine_root, mpath

NS_DIR = "/run/snapd/ns"
LOCK_DIR = "/run/snapd/lock"
SCRATCH = "/run/snapd/confine"
VOID = "/var/lib/snapd/void"
PRIVATE_TMP = "/tmp/snap-private-tmp"
STATE_FILE = "/var/lib/snapd/state.json"
SETPRIV = "/usr/bin/setpriv"
NSENTER = "/usr/bin/nsenter"
#: snapd's default AppArmor template grants only these (``capability ipc_lock``,
#: ``capability sys_chroot``; setuid/setgid/chown only with system-usernames)
KEEP_CAPS = ("ipc_lock", "sys_chroot")
CAP_ARGS = ["--inh-caps=-all", "--bounding-set=-all," + ",".join("+" + c for c in KEEP_CAPS)]
#: confinement values that run unconfined
UNCONFINED = ("classic", "devmode")

CLONE_NEWNS = 0x00020000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_RELATIME = 1 << 21
MNT_DETACH = 2
_KEPT_FLAGS = (
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
)

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = [
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_char_p,
    ctypes.c_ulong,
    ctypes.c_char_p,
]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]


class ConfineError(Exception):
    """Printed as ``snap-confine: <message>``, exit status 1 (the app does not run)."""


def _b(s: str | None) -> bytes | None:
    return None if s is None else os.fsencode(s)


def _check(rc: int, what: str) -> None:
    if rc != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def sys_mount(src: str | None, tgt: str, fstype: str | None, flags: int, data: str = "") -> None:
    rc = _libc.mount(_b(src), _b(tgt), _b(fstype), flags, _b(data) if data else None)
    _check(rc, f"cannot mount {src or fstype} on {tgt}")


def sys_umount(tgt: str) -> None:
    _check(_libc.umount2(_b(tgt), MNT_DETACH), f"cannot unmount {tgt}")


def remount(tgt: str, ro: bool) -> None:
    """Set the read-only flag of the mount at ``tgt`` only (never its file system)."""
    st = os.statvfs(tgt).f_flag
    flags = MS_REMOUNT | MS_BIND | (MS_RDONLY if ro else 0)
    for st_flag, ms_flag in _KEPT_FLAGS:
        if st & st_flag:
            flags |= ms_flag
    sys_mount(None, tgt, None, flags)


def bind(src: str, tgt: str, ro: bool) -> None:
    sys_mount(src, tgt, None, MS_BIND)
    remount(tgt, ro)


def tmpfs(tgt: str, mode: int) -> None:
    sys_mount("tmpfs", tgt, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode:o},size=64k")


def _unescape(s: str) -> str:
    """Mount points in /proc/self/mountinfo escape space, tab, newline and backslash."""
    out = bytearray()
    raw = s.encode()
    i = 0
    while i < len(raw):
        if raw[i : i + 1] == b"\\" and raw[i + 1 : i + 4].isdigit():
            out.append(int(raw[i + 1 : i + 4], 8))
            i += 4
        else:
            out.append(raw[i])
            i += 1
    return os.fsdecode(bytes(out))


def mount_points() -> list[str]:
    with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return [_unescape(line.split()[4]) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------
# What an app may see


@dataclass
class Profile:
    snap: str
    app: str
    rev: str
    confinement: str = "strict"
    plugs: set[str] = field(default_factory=set)  # connected plugs of this app
    uid: int = 0

    @property
    def tag(self) -> str:
        return f"{self.snap}.{self.app}"

    @property
    def confined(self) -> bool:
        return self.confinement not in UNCONFINED


def connected_plugs(entry: dict, meta: dict, app: str) -> set[str]:
    declared = set(((meta.get("apps") or {}).get(app) or {}).get("plugs") or [])
    return declared & set((entry.get("connections") or {}).keys())


def load_profile(snap: str, app: str) -> Profile:
    try:
        with open(mpath(STATE_FILE), encoding="utf-8") as f:
            entry = json.load(f)["snaps"][snap]
        rev = entry["revision"]
        with open(mpath(f"/snap/{snap}/{rev}/meta/snap.yaml"), encoding="utf-8") as f:
            meta = yaml.safe_load(f) or {}
    except (OSError, KeyError, ValueError, yaml.YAMLError) as e:
        raise ConfineError(f"cannot read the profile of snap.{snap}.{app}: {e}") from e
    return Profile(
        snap=snap,
        app=app,
        rev=rev,
        confinement=str(meta.get("confinement") or "strict"),
        plugs=connected_plugs(entry, meta, app),
        uid=os.getuid(),
    )


def persistent() -> bool:
    """Whether namespaces are kept in /run/snapd/ns (a machine, or a test that asks)."""
    return machine_root() == "/" or os.environ.get("LOCALJUJU_SNAP_NS") == "persist"


def ns_file(snap: str, app: str) -> str:
    return mpath(f"{NS_DIR}/{snap}.{app}.mnt")


def ready_file(snap: str, app: str) -> str:
    """Exists once :func:`ns_file` holds a namespace (the wrappers test it, no exec needed)."""
    return mpath(f"{NS_DIR}/{snap}.{app}.ready")


def _mkdir(path: str, mode: int) -> None:
    if not os.path.isdir(path):
        os.makedirs(path, exist_ok=True)
        os.chmod(path, mode)


def private_tmp(snap: str) -> str:
    return mpath(f"{PRIVATE_TMP}/snap.{snap}/tmp")


def prepare_dirs(p: Profile) -> None:
    """What snap-confine creates outside the namespace before it builds it."""
    _mkdir(mpath(PRIVATE_TMP), 0o700)
    _mkdir(mpath(f"{PRIVATE_TMP}/snap.{p.snap}"), 0o700)
    _mkdir(private_tmp(p.snap), 0o1777)
    _mkdir(mpath(f"/run/user/{p.uid}/snap.{p.snap}"), 0o700)
    _mkdir(mpath(SCRATCH), 0o755)
    _mkdir(mpath(VOID), 0o111)
    for d in (f"/root/snap/{p.snap}/{p.rev}", f"/root/snap/{p.snap}/common"):
        os.makedirs(mpath(d), exist_ok=True)


# ---------------------------------------------------------------------------------------------
# Building the namespace (in the process that will own it, after unshare)


class _Builder:
    def __init__(self, p: Profile) -> None:
        self.p = p
        self.fds: dict[str, int] = {}

    def src(self, path: str) -> str | None:
        """A handle on ``path`` taken before anything covers it (``/proc/self/fd/N``)."""
        if path not in self.fds:
            try:
                self.fds[path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                return None
        return f"/proc/self/fd/{self.fds[path]}"

    def close(self) -> None:
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    def build(self) -> None:
        p = self.p
        root = machine_root()
        # snap-confine makes the namespace a recursive slave of the machine's: mount events of
        # the machine reach it (its /media is shared: a volume mounted or unmounted there is
        # seen by the app), nothing done here goes back
        sys_mount(None, "/", None, MS_REC | MS_SLAVE)
        if mpath(NS_DIR) in mount_points():
            sys_umount(mpath(NS_DIR))  # this namespace must not pin the others
        # handles on everything that stays visible, before any of it is covered
        snap_dir = self.src(mpath(f"/snap/{p.snap}"))
        var_snap = self.src(mpath(f"/var/snap/{p.snap}"))
        data = self.src(mpath(f"/var/snap/{p.snap}/{p.rev}"))
        common = self.src(mpath(f"/var/snap/{p.snap}/common"))
        tmp = self.src(private_tmp(p.snap))
        xdg = self.src(mpath(f"/run/user/{p.uid}/snap.{p.snap}"))
        reroot = self.src(root) if root != "/" and root.startswith("/tmp/") else None
        home = "home" in p.plugs
        homes = [mpath("/root")]
        if home and os.path.isdir(mpath("/home")):
            homes += [
                e.path
                for e in os.scandir(mpath("/home"))
                if e.is_dir(follow_symlinks=False) and not e.name.startswith(".")
            ]
        hidden = {h: self._hidden(h) for h in homes}
        for h in homes:
            self.src(h)
            self.src(f"{h}/snap/{p.snap}")
            self.src(f"{h}/snap/{p.snap}/{p.rev}")
            self.src(f"{h}/snap/{p.snap}/common")
        media = {}
        for d in ("/mnt", "/media", "/run/media"):
            if os.path.isdir(mpath(d)):
                media[mpath(d)] = [
                    e.path for e in os.scandir(mpath(d)) if e.is_dir(follow_symlinks=False)
                ]
                for sub in [mpath(d)] + media[mpath(d)]:
                    self.src(sub)

        # 1. everything read-only (with removable-media, not what is mounted under /media:
        #    its file systems stay writable, and unmounting them in the machine reaches here)
        removable = "removable-media" in p.plugs
        under_media = tuple(mpath(d) + "/" for d in ("/media", "/run/media"))
        for mp in mount_points():
            if removable and mp.startswith(under_media):
                continue
            try:
                remount(mp, ro=True)
            except OSError:
                pass  # covered or vanished mount points
        # 2. private /tmp (the real /tmp: it is what programs use)
        if tmp:
            bind(tmp, "/tmp", ro=False)
        if reroot:  # a test's machine directory lives in the host's /tmp: show it again
            target = "/tmp/" + os.path.relpath(root, "/tmp")
            os.makedirs(target, exist_ok=True)
            sys_mount(reroot, target, None, MS_BIND | MS_REC)
            remount(target, ro=True)
        # 3. masks: an inaccessible directory and file (mode 000: root without
        #    CAP_DAC_OVERRIDE gets EACCES, as from an AppArmor deny)
        scratch = mpath(SCRATCH)
        tmpfs(scratch, 0o755)
        os.mkdir(f"{scratch}/void", 0o000)
        os.close(os.open(f"{scratch}/nofile", os.O_CREAT | os.O_WRONLY, 0o000))
        os.chmod(f"{scratch}/void", 0o000)
        os.chmod(f"{scratch}/nofile", 0o000)
        remount(scratch, ro=True)
        # 4. the snap, its data; nothing of other snaps or of snapd
        self._only(mpath("/snap"), 0o755, [(p.snap, snap_dir, True)])
        self._only(mpath("/var/snap"), 0o755, [(p.snap, var_snap, True)])
        self._rw(data, mpath(f"/var/snap/{p.snap}/{p.rev}"))
        self._rw(common, mpath(f"/var/snap/{p.snap}/common"))
        if os.path.isdir(mpath("/var/lib/snapd")):
            tmpfs(mpath("/var/lib/snapd"), 0o755)
            os.mkdir(mpath(VOID), 0o111)
            os.chmod(mpath(VOID), 0o111)
            remount(mpath("/var/lib/snapd"), ro=True)
        if os.path.isdir(mpath("/run/localjuju")):
            tmpfs(mpath("/run/localjuju"), 0o755)
            remount(mpath("/run/localjuju"), ro=True)
        if xdg:
            bind(xdg, mpath(f"/run/user/{p.uid}/snap.{p.snap}"), ro=False)
        # 5. homes (home.go), else only $SNAP_USER_DATA / $SNAP_USER_COMMON
        if home:
            for h in homes:
                self._home(h, hidden[h])
            # /home itself stays read-only (@{HOMEDIRS}/ r)
        else:
            r = mpath("/root")
            tmpfs(r, 0o700)
            os.mkdir(f"{r}/snap", 0o755)
            self._user_snap(r)
            remount(r, ro=True)
            if os.path.isdir(mpath("/home")):
                tmpfs(mpath("/home"), 0o755)
                remount(mpath("/home"), ro=True)
        # 6. removable media (removable_media.go), only when connected
        for d, subs in media.items():
            if "removable-media" not in self.p.plugs:
                tmpfs(d, 0o755)
                remount(d, ro=True)
            elif d == mpath("/mnt"):
                self._rw(self.src(d), d)
            else:
                mounted = set(mount_points())
                for sub in subs:
                    if sub not in mounted:  # a mount there is writable already (step 1)
                        self._rw(self.src(sub), sub)
        self.close()

    @staticmethod
    def _hidden(h: str) -> list[tuple[str, bool]]:
        try:
            entries = list(os.scandir(h))
        except OSError:
            return []
        return [
            (e.path, e.is_dir(follow_symlinks=False))
            for e in entries
            if e.name.startswith(".") and not e.is_symlink()
        ]

    def _rw(self, src: str | None, tgt: str) -> None:
        if src and os.path.isdir(tgt):
            bind(src, tgt, ro=False)

    def _only(self, d: str, mode: int, keep: list[tuple[str, str | None, bool]]) -> None:
        """``d`` becomes a read-only directory holding only ``keep`` (name, source, ro)."""
        if not os.path.isdir(d):
            return
        tmpfs(d, mode)
        for name, src, ro in keep:
            if src:
                os.mkdir(f"{d}/{name}", 0o755)
                bind(src, f"{d}/{name}", ro=ro)
        remount(d, ro=True)

    def _user_snap(self, h: str) -> None:
        """``<home>/snap``: only ``<snap>``, read-only but for its revision and common."""
        s = self.p.snap
        src = self.src(f"{h}/snap/{s}")
        if not src:
            return
        os.makedirs(f"{h}/snap/{s}", exist_ok=True)
        bind(src, f"{h}/snap/{s}", ro=True)
        self._rw(self.src(f"{h}/snap/{s}/{self.p.rev}"), f"{h}/snap/{s}/{self.p.rev}")
        self._rw(self.src(f"{h}/snap/{s}/common"), f"{h}/snap/{s}/common")

    def _home(self, h: str, hidden: list[tuple[str, bool]]) -> None:
        src = self.src(h)
        if not src:
            return
        bind(src, h, ro=False)
        scratch = mpath(SCRATCH)
        for path, is_dir in hidden:
            try:
                bind(f"{scratch}/void" if is_dir else f"{scratch}/nofile", path, ro=True)
            except OSError:
                pass  # vanished since
        if os.path.isdir(f"{h}/snap") and not os.path.islink(f"{h}/snap"):
            tmpfs(f"{h}/snap", 0o755)
            self._user_snap(h)
            remount(f"{h}/snap", ro=True)
        if os.path.isdir(f"{h}/bin") and not os.path.islink(f"{h}/bin"):
            bind(f"{h}/bin", f"{h}/bin", ro=True)  # audit deny @{HOME}/bin wl


# ---------------------------------------------------------------------------------------------
# Entering


def _lock(snap: str) -> int:
    d = mpath(LOCK_DIR)
    os.makedirs(d, exist_ok=True)
    fd = os.open(f"{d}/{snap}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


def _private_ns_dir() -> None:
    """snap-confine's /run/snapd/ns: a private bind mount of itself, where namespaces are kept."""
    d = mpath(NS_DIR)
    os.makedirs(d, exist_ok=True)
    if d not in mount_points():
        sys_mount(d, d, None, MS_BIND)
        sys_mount(None, d, None, MS_PRIVATE)


def home_dirs() -> list[str]:
    """``/root`` and every ``/home/<user>``: the directories whose top-level hidden entries a
    namespace masks when it is built."""
    homes = [mpath("/root")]
    if os.path.isdir(mpath("/home")):
        homes += sorted(e.path for e in os.scandir(mpath("/home")) if e.is_dir())
    return homes


def stale(p: Profile) -> bool:
    """Whether the kept namespace of ``p`` is missing or older than a change of a home
    directory's entries (a hidden entry created since would be reachable in it, which
    AppArmor's home rules never allow: it is built again)."""
    try:
        built = os.stat(ready_file(p.snap, p.app)).st_mtime_ns
    except FileNotFoundError:
        return True
    for h in home_dirs():
        try:
            if os.stat(h).st_mtime_ns > built:
                return True
        except FileNotFoundError:
            continue
    return False


def _forget(snap: str, app: str) -> None:
    """Drop one app's kept namespace (the caller holds the snap's lock)."""
    ready, target = ready_file(snap, app), ns_file(snap, app)
    if os.path.exists(ready):
        os.unlink(ready)
    if os.path.exists(target):
        if os.path.ismount(target):
            sys_umount(target)
        os.unlink(target)


def prepare(p: Profile) -> str:
    """The kept namespace of ``p`` (built now when there is none, or again when a home
    directory changed since: :func:`stale`). Returns its file."""
    target = ns_file(p.snap, p.app)
    if not stale(p):
        return target
    lock = _lock(p.snap)
    try:
        if not stale(p):
            return target
        _forget(p.snap, p.app)
        prepare_dirs(p)
        _private_ns_dir()
        cpus = sorted(os.sched_getaffinity(0))
        for attempt in range(2 * len(cpus) + 1):
            try:
                return _build_and_keep(p, target, cpus[attempt % len(cpus)])
            except _Retry:
                pass  # the kernel refused the bind (EINVAL): build it on another CPU
        raise ConfineError(f"cannot preserve the mount namespace of snap.{p.tag}")
    finally:
        os.close(lock)


class _Retry(Exception):
    pass


def _build_and_keep(p: Profile, target: str, cpu: int) -> str:
    """Build the namespace in a child, keep it on ``target`` from here.

    The kernel refuses (EINVAL) to bind a mount namespace whose id is not greater than the
    caller's (mnt_ns_loop). Linux 6.x hands out namespace ids in per-CPU batches, so a
    namespace created later on another CPU can get a smaller id than ours: the child creates
    it on ``cpu`` and :func:`prepare` tries each CPU in turn (the newest batch always wins)."""
    built_r, built_w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover (child)
        os.close(built_r)
        os.close(done_w)
        ok = b"0"
        try:
            os.sched_setaffinity(0, {cpu})
            _check(_libc.unshare(CLONE_NEWNS), "cannot unshare the mount namespace")
            _Builder(p).build()
            ok = b"1"
        except BaseException:
            traceback.print_exc()
        os.write(built_w, ok)
        os.read(done_r, 1)
        os._exit(0)
    os.close(built_w)
    os.close(done_r)
    try:
        if os.read(built_r, 1) != b"1":
            raise ConfineError(f"cannot build the mount namespace of snap.{p.tag}")
        with open(target, "a"):
            pass
        try:
            sys_mount(f"/proc/{pid}/ns/mnt", target, None, MS_BIND)
        except OSError as e:
            os.unlink(target)
            if e.errno == errno.EINVAL:
                raise _Retry() from e
            raise ConfineError(f"cannot preserve the mount namespace: {e}") from e
        with open(ready_file(p.snap, p.app), "w"):
            pass
    finally:
        os.write(done_w, b"x")
        os.close(done_w)
        os.close(built_r)
        os.waitpid(pid, 0)
    return target


def discard(snap: str) -> None:
    """snap-discard-ns: forget the kept namespaces of ``snap`` (processes in them keep them)."""
    d = mpath(NS_DIR)
    if not os.path.isdir(d):
        return
    lock = _lock(snap)
    try:
        for name in os.listdir(d):
            if not name.startswith(f"{snap}.") or name.count(".") != 2:
                continue
            path = f"{d}/{name}"
            if name.endswith(".ready"):
                os.unlink(path)
        for name in os.listdir(d):
            if name.startswith(f"{snap}.") and name.endswith(".mnt") and name.count(".") == 2:
                path = f"{d}/{name}"
                if os.path.ismount(path):
                    sys_umount(path)
                os.unlink(path)
    finally:
        os.close(lock)


def inner_prefix() -> list[str]:
    """Inside the namespace: drop capabilities, stay in the directory given as the next
    argument when it is visible (else snap-confine's void directory), exec the rest."""
    return [
        SETPRIV,
        *CAP_ARGS,
        "--",
        "/bin/sh",
        "-c",
        f'cd "$0" 2>/dev/null || cd {mpath(VOID)} 2>/dev/null || cd /; exec "$@"',
    ]


def exec_confined(p: Profile, argv: list[str], env: dict[str, str] | None = None) -> None:
    """Exec ``argv`` confined (or as it is, for classic/devmode snaps and non-root callers:
    the model has no setuid snap-confine)."""
    env = dict(os.environ) if env is None else env
    if not p.confined or os.geteuid() != 0:
        os.execve(argv[0], argv, env)
    try:
        cwd = os.getcwd()
    except OSError:
        cwd = "/"
    if persistent():
        ns = prepare(p)
        os.execve(NSENTER, [NSENTER, f"--mount={ns}", "--", *inner_prefix(), cwd, *argv], env)
    prepare_dirs(p)
    try:
        _check(_libc.unshare(CLONE_NEWNS), "cannot unshare the mount namespace")
        _Builder(p).build()
    except OSError as e:
        raise ConfineError(str(e)) from e
    try:
        os.chdir(cwd)
    except OSError:
        try:
            os.chdir(mpath(VOID))
        except OSError:
            os.chdir("/")
    os.execve(SETPRIV, [SETPRIV, *CAP_ARGS, "--", *argv], env)


def wrapper_lines(p: Profile, py: str, argv: list[str], q: Callable[[str], str]) -> list[str]:
    """The end of a ``/snap/bin`` wrapper (``$_u`` is the caller's uid): enter the app's
    namespace and exec ``argv "$@"``; ``q`` quotes for the shell."""
    cmd = " ".join(q(a) for a in argv)
    if not p.confined:
        return [f'exec {cmd} "$@"']
    lines = ['if [ "$_u" != 0 ]; then', f'  exec {cmd} "$@"', "fi"]
    if persistent():
        ns, ready = ns_file(p.snap, p.app), ready_file(p.snap, p.app)
        inner = " ".join(q(a) for a in inner_prefix())
        homes = f"{q(mpath('/root'))} {q(mpath('/home'))}/*"
        lines += [
            # built, and no home directory's entries changed since (shell builtins only)
            f"_s=0; [ -e {q(ready)} ] || _s=1",
            f'for _d in {homes}; do [ "$_d" -nt {q(ready)} ] && _s=1; done',
            f'[ "$_s" = 0 ] || {q(py)} -m localjuju.machine.confine prepare '
            f"{p.snap} {p.app} || exit 1",
            f'exec {NSENTER} --mount={q(ns)} -- {inner} "$PWD" {cmd} "$@"',
        ]
    else:
        lines.append(
            f'exec {q(py)} -m localjuju.machine.confine run {p.snap} {p.app} -- {cmd} "$@"'
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        if len(args) >= 3 and args[0] == "prepare":
            p = load_profile(args[1], args[2])
            if p.confined:
                prepare(p)
            return 0
        if len(args) >= 5 and args[0] == "run" and args[3] == "--":
            exec_confined(load_profile(args[1], args[2]), args[4:])
        sys.stderr.write("usage: confine prepare <snap> <app> | run <snap> <app> -- <argv>\n")
        return 2
    except (ConfineError, OSError) as e:
        sys.stderr.write(f"snap-confine: {e}\n")
        return 1


if __name__ == "__main__":
    sys.exit(main())
