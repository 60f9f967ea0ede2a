"""The hook entry point (what every ``hooks/<name>`` runs): the reactive framework."""

from __future__ import annotations

import os
import sys
import warnings


def main() -> None:
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
    warnings.filterwarnings("ignore", message="pkg_resources is deprecated")
    from .actions import main as action_main

    action_main()
