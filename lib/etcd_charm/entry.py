"""The hook entry point (what every ``hooks/<name>`` runs): the reactive framework.

Both entry points first make ``distutils`` importable on every Python a base runs: charmhelpers
(the newest release too) imports ``distutils.version`` at import time, and Python 3.12 removed
``distutils`` from the standard library (Ubuntu 24.04). The charm vendors setuptools (for
``pkg_resources``), whose ``setuptools/_distutils`` is the maintained distutils; a finder placed
last on ``sys.meta_path`` loads it under the name ``distutils`` only when nothing else provides
it (3.10 and 3.11 keep their own), without importing setuptools itself.

They also stand in for ``pkg_resources`` until something needs more of it than
``iter_entry_points``. charms.reactive imports ``pkg_resources`` in every hook only to ask for
the ``charms.reactive.relation_factory`` entry points (none in the charm's venv), and that
import builds setuptools' working set of every distribution on ``sys.path``: about a fifth of
a hook's CPU time. :class:`EntryPointsOnly` answers the question from the ``entry_points.txt``
files on ``sys.path`` and loads the real module for any other name (jinja2's
``PackageLoader``, for one).
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator, Sequence
from types import ModuleType
from typing import Any


class SetuptoolsDistutils:
    """``distutils`` from the vendored ``setuptools/_distutils``, as a last resort (a meta path
    finder: Python asks it only for ``find_spec``; not derived from ``importlib.abc``, whose
    import costs more than the rest of this module)."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "distutils":
            return None
        setuptools = importlib.util.find_spec("setuptools")  # located, not imported
        if setuptools is None or not setuptools.submodule_search_locations:
            return None
        package = os.path.join(list(setuptools.submodule_search_locations)[0], "_distutils")
        init = os.path.join(package, "__init__.py")
        if not os.path.isfile(init):
            return None
        return importlib.util.spec_from_file_location(
            "distutils", init, submodule_search_locations=[package]
        )


def provide_distutils() -> None:
    """Append the fallback finder once (the standard library's distutils, where there is one,
    is found first)."""
    if not any(isinstance(f, SetuptoolsDistutils) for f in sys.meta_path):
        sys.meta_path.append(SetuptoolsDistutils())


class EntryPoint:
    """What ``pkg_resources.iter_entry_points`` yields, as far as its callers use it."""

    def __init__(self, name: str, value: str, dist: str) -> None:
        self.name = name
        self.module_name, _, attrs = value.partition(":")
        self.attrs = tuple(a for a in attrs.split("[")[0].strip().split(".") if a)
        self.dist = dist

    def load(self) -> Any:
        target: Any = importlib.import_module(self.module_name.strip())
        for attr in self.attrs:
            target = getattr(target, attr)
        return target

    def __repr__(self) -> str:
        return f"{self.name} = {self.module_name}:{'.'.join(self.attrs)}"


def _entry_points_files() -> Iterator[tuple[str, str]]:
    """(distribution, path of its entry_points.txt) for each distribution on ``sys.path``, the
    first of each name only (as setuptools' working set keeps it)."""
    seen: set[str] = set()
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for name in names:
            stem, dot, kind = name.rpartition(".")
            if not dot or kind not in ("dist-info", "egg-info"):
                continue
            dist = stem.split("-")[0].lower()
            if dist in seen:
                continue
            seen.add(dist)
            path = os.path.join(entry or ".", name, "entry_points.txt")
            if os.path.isfile(path):
                yield dist, path


def iter_entry_points(group: str, name: str | None = None) -> Iterator[EntryPoint]:
    """``pkg_resources.iter_entry_points``: the group's entry points (only those called
    ``name`` if given), read from the ``entry_points.txt`` of each distribution."""
    for dist, path in _entry_points_files():
        section = None
        with open(path, encoding="utf-8") as f:
            for raw in f:
                line = raw.strip()
                if not line or line.startswith(("#", ";")):
                    continue
                if line.startswith("[") and line.endswith("]"):
                    section = line[1:-1].strip()
                    continue
                if section != group or "=" not in line:
                    continue
                key, _, value = line.partition("=")
                if name is None or key.strip() == name:
                    yield EntryPoint(key.strip(), value.strip(), dist)


class EntryPointsOnly(ModuleType):
    """``pkg_resources`` until a caller asks for a name other than ``iter_entry_points``: then
    the real module is imported in its place and answers (``from pkg_resources import X``
    included)."""

    def __init__(self) -> None:
        super().__init__("pkg_resources", "entry points only, until more is needed")
        self.iter_entry_points = iter_entry_points

    def __getattr__(self, attr: str) -> Any:
        if attr.startswith("__"):
            raise AttributeError(attr)
        if sys.modules.get("pkg_resources") is self:
            del sys.modules["pkg_resources"]
        return getattr(importlib.import_module("pkg_resources"), attr)


def provide_entry_points() -> None:
    """Put :class:`EntryPointsOnly` in place of ``pkg_resources`` unless the real module is
    already loaded."""
    sys.modules.setdefault("pkg_resources", EntryPointsOnly())


def main() -> None:
    provide_distutils()
    provide_entry_points()
    charm_dir = os.environ.get("JUJU_CHARM_DIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(sys.argv[0]))
    )
    os.environ.setdefault("CHARM_DIR", charm_dir)
    os.environ.setdefault("JUJU_CHARM_DIR", charm_dir)
    os.chdir(charm_dir)
    from . import idle

    hook_name = os.environ.get("JUJU_HOOK_NAME") or os.path.basename(sys.argv[0])
    if idle.answered(charm_dir, hook_name):
        return  # a peer hook with nothing to act on (idle.py): the framework is not loaded
    # charms.reactive imports pkg_resources, which warns on every hook
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from charms.reactive import main as reactive_main

    from . import tracing

    tracing.install()
    reactive_main()


def run_action() -> None:
    """The entry point of every ``actions/<name>``."""
    provide_distutils()
    provide_entry_points()
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from .actions import main as action_main

    action_main()
