"""When a ``.timer`` unit elapses next: the pure decision of systemd's ``timer_enter_waiting()``
(src/core/timer.c, systemd 249/255; read at systemd/systemd, see docs/localjuju-fidelity.md).

- ``OnActiveSec=`` counts from the timer's activation, ``OnBootSec=`` from the machine's boot
  and ``OnStartupSec=`` from the service manager's start (the same moment here: PID 1 starts
  with the machine); each of these is a one-time trigger, disabled once it lies before the last
  trigger.
- ``OnUnitActiveSec=`` counts from the later of the triggered unit's last activation
  (``InactiveExitTimestamp``) and the last trigger; ``OnUnitInactiveSec=`` from the later of
  its last deactivation and the last trigger; both skipped while there is no such time.
- ``OnCalendar=`` elapses at the calendar's next time after the last trigger (``Persistent=``
  keeps it across reboots in ``/var/lib/systemd/timers/stamp-<timer>``: a time missed while the
  machine was down elapses at once), or after the timer's activation when never triggered.
- No next elapse at all: the timer is elapsed (``active (elapsed)`` when it has a unit-relative
  trigger or ``RemainAfterElapse=yes``, the default; else it stops).

Monotonic times are seconds of ``time.monotonic()``; realtime ones are µs since the epoch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import calendar as C

STAMP_DIR = "/var/lib/systemd/timers"

ONE_TIME = ("OnActiveUSec", "OnBootUSec", "OnStartupUSec")


def stamp_path(timer: str) -> str:
    return f"{STAMP_DIR}/stamp-{timer}"


@dataclass
class Clocks:
    """What the decision reads (0 is "never")."""

    now_monotonic: float
    now_realtime: int
    boot_monotonic: float
    activated_monotonic: float
    activated_realtime: int
    last_trigger_monotonic: float = 0.0
    last_trigger_realtime: int = 0
    unit_inactive_exit_monotonic: float = 0.0
    unit_inactive_enter_monotonic: float = 0.0


@dataclass
class Plan:
    next_monotonic: float | None = None  # the earliest monotonic trigger
    next_realtime: int | None = None  # the earliest calendar trigger (µs)
    disabled: set[int] = field(default_factory=set)  # one-time triggers now spent
    elapsed: bool = False  # nothing left to wait for
    leave_around: bool = False  # elapsed, but stays active (unit-relative triggers)
    calendar_next: list[int | None] = field(default_factory=list)  # per OnCalendar=
    monotonic_next: list[float | None] = field(default_factory=list)  # per monotonic trigger

    def due(self, now_monotonic: float, now_realtime: int) -> bool:
        return (self.next_monotonic is not None and self.next_monotonic <= now_monotonic) or (
            self.next_realtime is not None and self.next_realtime <= now_realtime
        )


def plan(
    monotonic: list[tuple[str, float]],
    calendar: list[str],
    clocks: Clocks,
    disabled: set[int],
) -> Plan:
    """The next elapse of a timer with these triggers (``disabled``: indices of
    ``monotonic`` already spent)."""
    out = Plan(disabled=set(disabled))
    out.monotonic_next = [None] * len(monotonic)
    for i, (base_name, value) in enumerate(monotonic):
        if i in out.disabled:
            continue
        if base_name == "OnActiveUSec":
            base = clocks.activated_monotonic
        elif base_name in ("OnBootUSec", "OnStartupUSec"):
            base = clocks.boot_monotonic
        elif base_name == "OnUnitActiveUSec":
            out.leave_around = True
            base = max(clocks.unit_inactive_exit_monotonic, clocks.last_trigger_monotonic)
            if base <= 0:
                continue
        else:  # OnUnitInactiveUSec
            out.leave_around = True
            base = max(clocks.unit_inactive_enter_monotonic, clocks.last_trigger_monotonic)
            if base <= 0:
                continue
        when = base + value
        if (
            clocks.last_trigger_monotonic > 0
            and when < clocks.last_trigger_monotonic
            and base_name in ONE_TIME
        ):
            out.disabled.add(i)
            continue
        out.monotonic_next[i] = when
        if out.next_monotonic is None or when < out.next_monotonic:
            out.next_monotonic = when
    for expr in calendar:
        b = clocks.last_trigger_realtime or clocks.activated_realtime
        nxt = C.next_elapse(C.parse(expr), b)
        out.calendar_next.append(nxt)
        if nxt is not None and (out.next_realtime is None or nxt < out.next_realtime):
            out.next_realtime = nxt
    out.elapsed = out.next_monotonic is None and out.next_realtime is None
    return out


def next_realtime_usec(p: Plan, clocks: Clocks) -> int | None:
    """``NextElapseUSecRealtime``-like wall-clock time of the earliest trigger (monotonic
    triggers converted at the current offset between the clocks)."""
    cands = []
    if p.next_realtime is not None:
        cands.append(p.next_realtime)
    if p.next_monotonic is not None:
        offset = p.next_monotonic - clocks.now_monotonic
        cands.append(clocks.now_realtime + int(offset * C.USEC_PER_SEC))
    return min(cands) if cands else None
