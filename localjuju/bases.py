"""The bases the local model's machines run, and the base Juju chooses for a deployment.

A base is an operating system and its channel, written as Juju writes it: ``ubuntu@22.04``.
Each base the model can run has the identity files of that Ubuntu release and the Python that
release ships as ``/usr/bin/python3`` (22.04: 3.10, 24.04: 3.12). The interpreters come from the
host: ``scripts/setup`` records them under ``.cache/pythons/<version>`` (from pyenv), or
``$LOCALJUJU_PYTHON_3_10`` / ``$LOCALJUJU_PYTHON_3_12`` name an interpreter prefix.

:func:`select_base` is Juju 3.6's ``BaseSelector.CharmBase``: the base asked for with
``--base``, else the model's ``default-base`` when it is set, else the latest Ubuntu LTS if the
charm supports it, else Juju's default LTS if the charm supports it, else the charm's first.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from . import paths


@dataclass(frozen=True)
class Release:
    """An Ubuntu release the model has a machine image for."""

    base: str
    version: str  # "22.04.5 LTS (Jammy Jellyfish)"
    codename: str
    python: str  # the X.Y of its /usr/bin/python3

    @property
    def number(self) -> str:
        return self.base.partition("@")[2]

    @property
    def pretty(self) -> str:
        return "Ubuntu " + self.version.split(" (")[0]

    def os_release(self) -> str:
        return (
            f'PRETTY_NAME="{self.pretty}"\n'
            'NAME="Ubuntu"\n'
            f'VERSION_ID="{self.number}"\n'
            f'VERSION="{self.version}"\n'
            f"VERSION_CODENAME={self.codename}\n"
            "ID=ubuntu\n"
            "ID_LIKE=debian\n"
            'HOME_URL="https://www.ubuntu.com/"\n'
            'SUPPORT_URL="https://help.ubuntu.com/"\n'
            'BUG_REPORT_URL="https://bugs.launchpad.net/ubuntu/"\n'
            'PRIVACY_POLICY_URL="https://www.ubuntu.com/legal/terms-and-policies/privacy-policy"\n'
            f"UBUNTU_CODENAME={self.codename}\n"
        )

    def lsb_release(self) -> str:
        return (
            "DISTRIB_ID=Ubuntu\n"
            f"DISTRIB_RELEASE={self.number}\n"
            f"DISTRIB_CODENAME={self.codename}\n"
            f'DISTRIB_DESCRIPTION="{self.pretty}"\n'
        )


RELEASES = {
    r.base: r
    for r in (
        Release("ubuntu@22.04", "22.04.5 LTS (Jammy Jellyfish)", "jammy", "3.10"),
        Release("ubuntu@24.04", "24.04.3 LTS (Noble Numbat)", "noble", "3.12"),
    )
}
"""The bases the local model runs machines of."""

# Juju 3.6: the bases it deploys machine charms to (core/base), its latest LTS
# (base.LatestLTSBase) and its default supported LTS (version.DefaultSupportedLTSBase).
JUJU_SUPPORTED = ("ubuntu@20.04", "ubuntu@22.04", "ubuntu@24.04")
LATEST_LTS = "ubuntu@24.04"
JUJU_DEFAULT_LTS = "ubuntu@22.04"

_BASE_RE = re.compile(r"^([a-z]+)@(\d+\.\d+)(?:/(stable|candidate|beta|edge))?$")


class BaseError(Exception):
    pass


def parse(text: str) -> str:
    """``ubuntu@24.04`` from ``ubuntu@24.04`` or ``ubuntu@24.04/stable``; BaseError if bad."""
    m = _BASE_RE.match(text.strip())
    if not m:
        raise BaseError(
            f'invalid base string "{text}": expected base string to contain os and channel '
            "separated by '@'"
        )
    return f"{m.group(1)}@{m.group(2)}"


def select_base(
    requested: str | None, default_base: str, charm_bases: list[str], force: bool = False
) -> str:
    """The base a deployment gets, as Juju 3.6's BaseSelector chooses it."""
    if not charm_bases:
        raise BaseError("charm does not define any bases")
    declared = charm_bases
    charm_bases = [b for b in declared if b in JUJU_SUPPORTED]
    if not charm_bases:
        raise BaseError(f'the charm defined bases "{", ".join(declared)}" not supported')
    if requested:
        return _user_requested(parse(requested), charm_bases, force)
    if default_base:
        return _user_requested(parse(default_base), charm_bases, force)
    for preferred in (LATEST_LTS, JUJU_DEFAULT_LTS):
        if preferred in charm_bases:
            return preferred
    return charm_bases[0]


def _user_requested(base: str, charm_bases: list[str], force: bool) -> str:
    if base in charm_bases:
        return base
    if base not in JUJU_SUPPORTED:
        raise BaseError(f"base: {base} not supported")
    if force:
        return base
    raise BaseError(
        f'base "{base}/stable" is not supported, supported bases are: {", ".join(charm_bases)}'
    )


def release(base: str) -> Release:
    """The machine image of a base; BaseError for a base the local model cannot run."""
    try:
        return RELEASES[base]
    except KeyError:
        raise BaseError(
            f"the local model has no machine image for {base} "
            f"(it runs {' and '.join(RELEASES)})"
        ) from None


@dataclass(frozen=True)
class Interpreter:
    """A CPython installation on the host that a machine runs as its /usr/bin/python3."""

    version: str  # "3.12"
    prefix: Path
    binary: Path  # the real file of bin/pythonX.Y
    libpython: Path | None  # lib/libpythonX.Y.so.1.0 when the binary links it

    @property
    def stdlib(self) -> Path:
        return self.prefix / "lib" / f"python{self.version}"


def interpreter(version: str) -> Interpreter | None:
    """The host's CPython ``version`` for machines, or None when the host has none.

    ``$LOCALJUJU_PYTHON_3_12`` (a prefix) wins over ``.cache/pythons/3.12`` (set up by
    scripts/setup). A prefix must hold ``bin/python3.12`` and ``lib/python3.12/os.py``.
    """
    env = os.environ.get("LOCALJUJU_PYTHON_" + version.replace(".", "_"))
    link = Path(env) if env else paths.pythons_dir() / version
    try:
        prefix = link.resolve(strict=True)
    except OSError:
        return None
    binary = prefix / "bin" / f"python{version}"
    if not binary.exists() or not (prefix / "lib" / f"python{version}" / "os.py").is_file():
        return None
    lib = prefix / "lib" / f"libpython{version}.so.1.0"
    return Interpreter(version, prefix, binary.resolve(), lib.resolve() if lib.exists() else None)


def host_python_version() -> str:
    """The X.Y of the host's /usr/bin/python3 (what a machine runs when its own is missing)."""
    name = os.path.basename(os.path.realpath("/usr/bin/python3"))
    return name.removeprefix("python")
