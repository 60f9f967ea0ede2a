"""The machine's ``snapd.service``.

The machine's ``snap`` command does snapd's work itself, so the daemon has little to do: it
exists so that ``systemctl restart snapd.service`` (layer-etcd restarts it after ``snap install
core``), ``is-active`` and ``status`` work as on Ubuntu, and it runs snapd's automatic refreshes
when the model asks for them (model config ``localjuju-snap-auto-refresh``, a duration; the
controller writes it in seconds to the store overlay's ``auto-refresh`` file, 0 for never).

It is a small shell loop (no Python resident in every machine): once a second it reads that
file and, every that many seconds, runs ``snap debug localjuju-auto-refresh``. Restarting it
does not touch the snaps' services, which are units of their own.
"""

from __future__ import annotations

import os
import sys

from . import mpath

UNIT = "/etc/systemd/system/snapd.service"
WANTS = "/etc/systemd/system/multi-user.target.wants/snapd.service"
DAEMON = "/usr/lib/snapd/snapd"

UNIT_TEXT = """\
[Unit]
Description=Snap Daemon
After=time-set.target
Wants=time-set.target

[Service]
OOMScoreAdjust=-900
ExecStart=/usr/lib/snapd/snapd
EnvironmentFile=-/etc/environment
Restart=always
Type=simple
KillMode=process

[Install]
WantedBy=multi-user.target
"""

DAEMON_TEXT = """\
#!/bin/sh
# snapd (localjuju): the machine's snap command does snapd's work itself; this daemon runs
# the automatic refreshes every localjuju-snap-auto-refresh (see docs/localjuju-snaps.md).
overlay=${{LOCALJUJU_STORE_OVERLAY:-${{LOCALJUJU_MACHINE_ROOT:-}}/var/lib/localjuju/store-overlay}}
echo "snapd (localjuju) started; automatic refreshes as $overlay/auto-refresh says"
elapsed=0
while :; do
  interval=0
  if [ -r "$overlay/auto-refresh" ]; then
    read -r interval < "$overlay/auto-refresh" || interval=0
  fi
  case $interval in ''|*[!0-9]*) interval=0 ;; esac
  elapsed=$((elapsed + 1))
  if [ "$interval" -gt 0 ] && [ "$elapsed" -ge "$interval" ]; then
    elapsed=0
    {python} -m localjuju.machine.snap debug localjuju-auto-refresh
  fi
  sleep 1
done
"""


def files(python: str | None = None) -> dict[str, tuple[str, int]]:
    """Machine path -> (text, mode) of the daemon and its unit."""
    return {
        UNIT: (UNIT_TEXT, 0o644),
        DAEMON: (DAEMON_TEXT.format(python=python or sys.executable), 0o755),
    }


def install(python: str | None = None) -> None:
    """Write the unit, the daemon and the unit's enablement under the machine root."""
    for path, (text, mode) in files(python).items():
        real = mpath(path)
        os.makedirs(os.path.dirname(real), exist_ok=True)
        with open(real, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(real, mode)
    wants = mpath(WANTS)
    os.makedirs(os.path.dirname(wants), exist_ok=True)
    if not os.path.islink(wants):
        os.symlink(UNIT, wants)
