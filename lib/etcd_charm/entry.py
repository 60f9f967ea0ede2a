"""The hook entry point (what every ``hooks/<name>`` runs): the reactive framework.

Both entry points first make ``distutils`` importable on every Python a base runs: charmhelpers
(the newest release too) imports ``distutils.version`` at import time, and Python 3.12 removed
``distutils`` from the standard library (Ubuntu 24.04). The charm vendors setuptools (for
``pkg_resources``), whose ``setuptools/_distutils`` is the maintained distutils; a finder placed
last on ``sys.meta_path`` loads it under the name ``distutils`` only when nothing else provides
it (3.10 and 3.11 keep their own), without importing setuptools itself.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType


class SetuptoolsDistutils(importlib.abc.MetaPathFinder):
    """``distutils`` from the vendored ``setuptools/_distutils``, as a last resort."""

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


def main() -> None:
    provide_distutils()
    charm_dir = os.environ.get("JUJU_CHARM_DIR") or os.path.dirname(
        os.path.dirname(os.path.abspath(sys.argv[0]))
    )
    os.environ.setdefault("CHARM_DIR", charm_dir)
    os.environ.setdefault("JUJU_CHARM_DIR", charm_dir)
    os.chdir(charm_dir)
    # charms.reactive imports pkg_resources, which warns on every hook
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from charms.reactive import main as reactive_main

    reactive_main()


def run_action() -> None:
    """The entry point of every ``actions/<name>``."""
    provide_distutils()
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from .actions import main as action_main

    action_main()
