"""Where the local model keeps things on the host.

``$LOCALJUJU_HOME`` (default ``/var/lib/localjuju`` for root, else ``~/.local/share/localjuju``)
holds one directory per model: ``models/<name>/`` with ``state.json`` (the whole model state,
rewritten atomically after every change), ``controller.sock`` (the controller's API socket),
``controller.pid``, ``controller.log``, ``debug.log`` (what ``juju debug-log`` shows), ``charms/``
(unpacked charms by revision) and ``machines/<id>/`` (each machine's disk).
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
"""The installation root: the repository holding ``localjuju/`` and ``.venv/``."""


def home() -> Path:
    env = os.environ.get("LOCALJUJU_HOME")
    if env:
        return Path(env)
    if os.geteuid() == 0:
        return Path("/var/lib/localjuju")
    return Path.home() / ".local/share/localjuju"


def models_dir() -> Path:
    return home() / "models"


def model_dir(name: str) -> Path:
    return models_dir() / name


def venv_python() -> Path:
    """The interpreter of the project's venv, usable in machines.

    It is built on the host's versioned ``/usr/bin/python3.X`` (not ``/usr/bin/python3``, which
    inside a machine is its base's Python), so the model's own tools in a machine (init,
    systemctl, snap, apt-get, the hook tools) run on the host's Python and its packages whatever
    the machine's ``python3`` is.
    """
    return ROOT / ".venv" / "bin" / "python"


def store_dir() -> Path:
    env = os.environ.get("LOCALJUJU_STORE")
    return Path(env) if env else ROOT / ".cache" / "snap-store"


def apt_repo_dir() -> Path:
    """The machines' local package archive (``python -m localjuju.debrepo``)."""
    env = os.environ.get("LOCALJUJU_APT_REPO")
    return Path(env) if env else ROOT / ".cache" / "apt-repo"


def pythons_dir() -> Path:
    """Links to the host's CPython prefixes that machines run (``3.10``, ``3.12``), made by
    scripts/setup."""
    return ROOT / ".cache" / "pythons"


def builtin_charms_dir() -> Path:
    return ROOT / "localjuju" / "charms"
