"""Charms built into localjuju, deployable by name (``localjuju deploy easyrsa``).

Each is an ordinary machine charm directory (metadata.yaml, actions.yaml, an executable
``dispatch`` and Python code under ``src/``) that runs under the local model like any other charm:
its hooks call the Juju hook tools as subprocesses. Their ``dispatch`` runs the host's Debian
Python (``/usr/libexec/localjuju/python3``, a link every machine has), for its yaml and
cryptography packages: a machine's own ``/usr/bin/python3`` is its base's (3.10 or 3.12), with
no packages.

* ``easyrsa``: a tls-certificates provider reproducing charmed-kubernetes/layer-easyrsa.
* ``etcd-client``: a requirer of the ``etcd`` interface standing in for
  kubernetes-control-plane, with actions that read and write etcd through its v3 JSON gateway.

See docs/localjuju-builtin-charms.md.
"""

from __future__ import annotations

from pathlib import Path

CHARMS_DIR = Path(__file__).resolve().parent


def builtin_charms() -> dict[str, Path]:
    """Name -> directory of every built-in charm (a directory holding metadata.yaml)."""
    return {
        path.name: path
        for path in sorted(CHARMS_DIR.iterdir())
        if path.is_dir() and (path / "metadata.yaml").is_file()
    }


def builtin_charm_dir(name: str) -> Path | None:
    """The directory of built-in charm `name`, or None if there is no such built-in charm."""
    return builtin_charms().get(name)
