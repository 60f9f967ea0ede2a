"""The userland that runs inside a local-model machine.

- ``python -m localjuju.machine.init``: the machine's PID 1, a small systemd stand-in that
  supervises the services defined by unit files (:mod:`localjuju.machine.systemd`);
- ``python -m localjuju.machine.systemctl`` / ``journalctl``: its clients;
- ``python -m localjuju.machine.snap``: ``snap``, backed by the model's local snap store;
- ``python -m localjuju.machine.apt_get`` / ``dpkg`` / ``dpkg_query``: ``apt-get``, ``dpkg`` and
  ``dpkg-query``, backed by the model's local package archive.

Every absolute path these programs use goes through :func:`mpath`, which prefixes it with
``$LOCALJUJU_MACHINE_ROOT`` (default ``/``) so that they can be tested against a directory.
Paths handed to other programs (environment variables such as ``$SNAP``, arguments) are the
prefixed, real paths; paths written into files and symlinks are the machine's own paths.
Only the standard library and PyYAML are used here.
"""

from __future__ import annotations

import functools
import os
import sys

ROOT_ENV = "LOCALJUJU_MACHINE_ROOT"
STORE_ENV = "LOCALJUJU_STORE"
STORE_OVERLAY_ENV = "LOCALJUJU_STORE_OVERLAY"
APT_REPO_ENV = "LOCALJUJU_APT_REPO"

SYSTEMD_SOCKET = "/run/localjuju/systemd.sock"
NOTIFY_SOCKET = "/run/systemd/notify"
READY_FILE = "/run/localjuju/ready"
LOG_DIR = "/var/log/localjuju"
STORE_DIR = "/var/lib/localjuju/store"
STORE_OVERLAY_DIR = "/var/lib/localjuju/store-overlay"
APT_REPO_DIR = "/var/lib/localjuju/apt"

# The PATH systemd gives to services, and a login shell's PATH on Ubuntu with snapd.
SERVICE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
COMMANDS = (
    "snap",
    "systemctl",
    "journalctl",
    "apt-get",
    "dpkg",
    "dpkg-query",
    "systemd-analyze",
)


def machine_root() -> str:
    """The directory that stands for the machine's ``/`` (``$LOCALJUJU_MACHINE_ROOT``)."""
    root = os.environ.get(ROOT_ENV) or "/"
    return os.path.abspath(root)


def mpath(path: str) -> str:
    """The real path of the machine path ``path`` (absolute, as seen inside the machine)."""
    if not path.startswith("/"):
        raise ValueError(f"machine paths are absolute, got {path!r}")
    root = machine_root()
    if root == "/":
        return path
    return root + path


def unmpath(real: str) -> str:
    """The inverse of :func:`mpath` for a real path under the machine root."""
    root = machine_root()
    if root == "/":
        return real
    if real == root:
        return "/"
    if real.startswith(root + "/"):
        return real[len(root) :]
    raise ValueError(f"{real} is not under the machine root {root}")


def store_dir() -> str:
    """The snap store the ``snap`` command reads: ``$LOCALJUJU_STORE`` or the machine's."""
    return os.environ.get(STORE_ENV) or mpath(STORE_DIR)


def store_overlay_dir() -> str:
    """The model's channel map overlay of the store (``$LOCALJUJU_STORE_OVERLAY`` or the
    machine's, bound read-only from the model's ``store/`` directory)."""
    return os.environ.get(STORE_OVERLAY_ENV) or mpath(STORE_OVERLAY_DIR)


def apt_repo_dir() -> str:
    """The package archive ``apt-get`` reads: ``$LOCALJUJU_APT_REPO`` or the machine's."""
    return os.environ.get(APT_REPO_ENV) or mpath(APT_REPO_DIR)


def command_module(command: str) -> str:
    """The module behind one of :data:`COMMANDS` (``apt-get`` -> ``localjuju.machine.apt_get``)."""
    if command not in COMMANDS:
        raise ValueError(f"unknown machine command {command!r}")
    return "localjuju.machine." + command.replace("-", "_")


@functools.cache
def _purelib(python: str) -> str:
    """The site-packages directory of the interpreter ``python`` (a venv's own)."""
    import subprocess  # not on the machine commands' own start-up path
    import sysconfig

    if python == sys.executable:
        return sysconfig.get_paths()["purelib"]
    return subprocess.run(
        [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def command_script(command: str, python: str | None = None) -> str:
    """The text of ``/usr/bin/<command>`` for one of :data:`COMMANDS`.

    It starts the interpreter without ``site`` (``-I -S``), with this package's root and the
    interpreter's site-packages on ``sys.path``: the ``.pth`` files ``site`` would run (an
    editable install's finder among them) cost more than a whole ``systemctl`` call of the
    real systemd, written in C, and a charm's hook calls ``snap`` and ``systemctl``."""
    module = command_module(command)
    py = python or sys.executable
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    code = (
        f"import sys; sys.path[:0] = [{root!r}, {_purelib(py)!r}]; "
        f"sys.argv[0] = {'/usr/bin/' + command!r}; "
        f"from {module} import main; sys.exit(main())"
    )
    return (
        "#!/bin/sh\n"
        f"# localjuju machine command: {command} (see docs/localjuju-machines.md)\n"
        f'exec {py} -I -S -c "{code}" "$@"\n'
    )


def install_commands(python: str | None = None) -> list[str]:
    """Make ``/usr/bin/<command>`` of every :data:`COMMANDS` run ours, unless it already does.

    Files are replaced by rename, so a file bind-mounted over one of them is never written
    through (the rename fails and the file is left alone). Returns the paths written.
    """
    written = []
    for command in COMMANDS:
        target = mpath(f"/usr/bin/{command}")
        try:
            with open(target, encoding="utf-8", errors="replace") as f:
                if f"from {command_module(command)} import main;" in f.read(4096):
                    continue
        except OSError:
            pass
        tmp = f"{target}.localjuju-{os.getpid()}"
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                f.write(command_script(command, python))
            os.chmod(tmp, 0o755)
            os.replace(tmp, target)
            written.append(target)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return written
