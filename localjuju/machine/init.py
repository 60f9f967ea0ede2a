"""The machine's PID 1: ``python -m localjuju.machine.init``.

It reaps orphans, listens on ``/run/localjuju/systemd.sock`` for ``systemctl``, starts every
enabled service unit (``/etc/systemd/system/*.target.wants/``), supervises them, writes their
output to ``/var/log/localjuju/<unit>.log`` (read by ``journalctl``) and creates
``/run/localjuju/ready`` once it listens. On SIGTERM (or SIGINT) it stops every unit (KillSignal,
then SIGKILL after TimeoutStopSec), then, as PID 1, every remaining process, and exits 0.

Not PID 1 (tests), it makes itself a child subreaper so that orphans of its services are still
its children. Environment: ``LOCALJUJU_MACHINE_ROOT`` (default ``/``) prefixes every path;
``LOCALJUJU_INSTALL_COMMANDS=0`` leaves ``/usr/bin/<command>`` of the machine commands
(``snap``, ``systemctl``, ``journalctl``, ``apt-get``, ``dpkg``, ``dpkg-query``,
``systemd-analyze``) alone (by
default they are made to run this package's commands unless they already do).
"""

from __future__ import annotations

import os
import sys

from . import LOG_DIR, SYSTEMD_SOCKET, install_commands, mpath
from .systemd import Manager


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args and args[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if args:
        print(f"init: unexpected arguments: {' '.join(args)}", file=sys.stderr)
        return 2
    os.umask(0o022)
    # /run/systemd/system is how programs tell that systemd is the init (sd_booted(),
    # charmhelpers' init_is_systemd()); it is also a unit directory.
    for d in (
        os.path.dirname(SYSTEMD_SOCKET),
        "/etc/systemd/system",
        "/run/systemd/system",
        LOG_DIR,
    ):
        os.makedirs(mpath(d), exist_ok=True)
    if os.environ.get("LOCALJUJU_INSTALL_COMMANDS", "1") != "0":
        install_commands()
    try:
        os.chdir(mpath("/"))
    except OSError:
        pass
    return Manager().run()


if __name__ == "__main__":
    sys.exit(main())
