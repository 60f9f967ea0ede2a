"""``systemd-tmpfiles --create`` for a local-model machine, natively: the lines of type ``d`` and
``D`` (create a directory, then set its mode and owner), as systemd's tmpfiles.d(5) describes.

Read at boot by the supervisor (systemd-tmpfiles-setup.service runs before the services: /run
is empty at every boot) and by the maintainer-script stand-ins (``systemd-tmpfiles --create
<name>.conf`` in a postinst). The configuration files are ``/etc/tmpfiles.d``,
``/run/tmpfiles.d`` and ``/usr/lib/tmpfiles.d`` (the first wins for a file name); those under
``/usr/lib`` count only when a package of the machine's dpkg installed them (the host's own are
visible there, and belong to the host). Other line types are not implemented: they are
reported, never guessed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from . import mpath
from . import units as U

CONF_DIRS = ("/etc/tmpfiles.d", "/run/tmpfiles.d")
PACKAGE_DIR = "/usr/lib/tmpfiles.d"


@dataclass
class Line:
    type: str
    path: str
    mode: int | None
    user: str
    group: str


def parse(text: str) -> tuple[list[Line], list[str]]:
    """(the lines this stand-in acts on, the ones it does not implement)."""
    lines, skipped = [], []
    for raw in text.splitlines():
        s = raw.strip()
        if not s or s.startswith("#"):
            continue
        f = s.split()
        kind = f[0].rstrip("!+-=~^")
        if kind not in ("d", "D") or len(f) < 2:
            skipped.append(s)
            continue
        mode = f[2] if len(f) > 2 else "-"
        lines.append(
            Line(
                kind,
                f[1],
                int(mode.lstrip("~:"), 8) if mode not in ("-", "") else None,
                f[3] if len(f) > 3 and f[3] != "-" else "",
                f[4] if len(f) > 4 and f[4] != "-" else "",
            )
        )
    return lines, skipped


def _packaged() -> set[str]:
    """Machine paths of the tmpfiles.d files of the machine's dpkg packages."""
    out: set[str] = set()
    info = mpath(U.DPKG_INFO_DIR)
    try:
        entries = os.listdir(info)
    except OSError:
        return out
    for e in entries:
        if not e.endswith(".list"):
            continue
        try:
            with open(os.path.join(info, e), encoding="utf-8", errors="replace") as f:
                for line in f:
                    p = line.rstrip("\n")
                    if p.startswith(PACKAGE_DIR + "/") and p.endswith(".conf"):
                        out.add(p)
        except OSError:
            continue
    return out


def config_files(names: list[str] | None = None) -> list[str]:
    """Machine paths of the configuration files to apply, by file name (``names``: only
    those, as ``systemd-tmpfiles --create NAME.conf``)."""
    by_name: dict[str, str] = {}
    for p in sorted(_packaged()):
        if os.path.isfile(mpath(p)):
            by_name[os.path.basename(p)] = p
    U.conf_files(list(CONF_DIRS), by_name)
    keys = sorted(by_name) if names is None else [n for n in names if n in by_name]
    return [by_name[k] for k in keys]


def create(names: list[str] | None = None) -> list[str]:
    """Apply the ``d``/``D`` lines; returns messages about what was not done."""
    notes = []
    for conf in config_files(names):
        try:
            with open(mpath(conf), encoding="utf-8") as f:
                lines, skipped = parse(f.read())
        except OSError as e:
            notes.append(f"{conf}: {e.strerror}")
            continue
        for s in skipped:
            notes.append(f"{conf}: not implemented by the local model's tmpfiles: {s}")
        for line in lines:
            real = mpath(line.path)
            try:
                os.makedirs(
                    real, mode=line.mode if line.mode is not None else 0o755, exist_ok=True
                )
                if line.mode is not None:
                    os.chmod(real, line.mode)
                uid = gid = -1
                if line.user:
                    entry = U.lookup_user(line.user)
                    if entry is None:
                        notes.append(f"{conf}: Failed to resolve user '{line.user}'")
                        continue
                    uid = entry[0]
                if line.group:
                    g = U.lookup_group(line.group)
                    if g is None:
                        notes.append(f"{conf}: Failed to resolve group '{line.group}'")
                        continue
                    gid = g
                if uid >= 0 or gid >= 0:
                    os.chown(real, uid, gid)
            except OSError as e:
                notes.append(f"{conf}: {line.path}: {e.strerror}")
    return notes
