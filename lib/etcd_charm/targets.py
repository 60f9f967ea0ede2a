"""Where the actions may write: the ``target`` directory of snapshot, restore's backup and
snap-upgrade's backup.

An archive holds the whole keyspace and is handed to the operator (owned by ``ubuntu``,
0600), so it belongs in a directory of the operator's: never among the system's own files,
Juju's agent state, or the snap's data where etcd keeps its database, configuration and
certificates (a snap refresh copies that, restore and snap-upgrade replace or purge it).
Paths are checked as given and once symlinks are resolved; a refused path writes and
creates nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .params import ActionError

#: directories no target may be, or be under: what each holds
FORBIDDEN: dict[str, str] = {
    "/etc": "the system's configuration",
    "/proc": "the kernel's process information (not a disk)",
    "/sys": "the kernel's device information (not a disk)",
    "/dev": "device files",
    "/boot": "the kernel and the boot loader",
    "/usr": "the system's programs and libraries",
    "/bin": "the system's programs",
    "/sbin": "the system's programs",
    "/lib": "the system's libraries",
    "/lib32": "the system's libraries",
    "/lib64": "the system's libraries",
    "/libx32": "the system's libraries",
    "/run": "runtime files (in memory: lost at the next boot)",
    "/snap": "the snaps' read-only images",
    "/var/lib/juju": "the Juju agent's state",
    "/var/lib/etcd": "the Debian package's etcd data (snap-upgrade purges it)",
    "/var/snap/etcd": (
        "etcd's own data, configuration and certificates (only "
        "/var/snap/etcd/common/backups is allowed there)"
    ),
}
#: the one place under a forbidden directory that is allowed: the charm's own backups
ALLOWED = ("/var/snap/etcd/common/backups",)


def _under(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def _rule_broken(path: str) -> str:
    """Why the normalised absolute ``path`` may not be a target ("" when it may)."""
    if path == "/":
        return "it is the root directory"
    if any(_under(path, ok) for ok in ALLOWED):
        return ""
    for root, what in FORBIDDEN.items():
        if path == root:
            return f"{root} holds {what}"
        if _under(path, root):
            return f"it is under {root}, which holds {what}"
    return ""


def refusal(path: str) -> str:
    """Why ``path`` may not be a target directory ("" when it may): it must be absolute,
    without ``..``, and neither it nor the path its symlinks resolve to may be ``/`` or a
    directory of :data:`FORBIDDEN` (or under one) outside :data:`ALLOWED`."""
    if not path:
        return "it is empty"
    if "\0" in path:
        return "it holds a NUL character"
    if not os.path.isabs(path):
        return "it is not an absolute path"
    if ".." in path.split("/"):
        return "it has a '..' component: give the directory itself"
    normal = "/" + os.path.normpath(path).lstrip("/")  # "//etc" is "/etc" too
    why = _rule_broken(normal)
    if why:
        return why
    real = os.path.realpath(normal)
    why = _rule_broken(real)
    if why:
        return f"it resolves to {real}: {why}"
    if os.path.exists(real) and not os.path.isdir(real):
        return "it exists and is not a directory"
    return ""


def check(path: str, param: str, default: str) -> str:
    """``path`` normalised, or :class:`ActionError` naming the rule it breaks and what to
    use instead (``default``: the action's default in actions.yaml)."""
    why = refusal(path)
    if why:
        raise ActionError(
            f"{param}={path!r} is refused: {why}. Use a directory of the operator's, such as "
            f"the default {default} (created if missing, owned by ubuntu, mode 0700); "
            "nothing was written"
        )
    return "/" + os.path.normpath(path).lstrip("/")


def ensure(path: str, param: str, default: str, give: Callable[[str], None] | None = None) -> str:
    """:func:`check` ``path``, then create it when it does not exist (mode 0700, handed to
    the operator by ``give``); an existing directory is used as it is."""
    target = check(path, param, default)
    if os.path.isdir(target):
        return target
    try:
        os.makedirs(target, mode=0o700)
        os.chmod(target, 0o700)  # whatever the umask
    except OSError as e:
        raise ActionError(
            f"{param}={path!r}: cannot create it ({e.strerror}); choose another directory, "
            f"such as the default {default}"
        ) from None
    if give is not None:
        give(target)
    return target
