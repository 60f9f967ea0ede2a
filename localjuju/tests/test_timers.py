"""Timers in the machines' systemd stand-in: calendar events (systemd's calendarspec.c), the
next-elapse decision (timer.c), ``systemd-analyze calendar``, ``.timer`` units run by the
supervisor against a directory, and systemctl as a user that is not root.

Expected values come from systemd's own sources and test tables (src/test/test-calendarspec.c,
at systemd/systemd: the normalized forms and next elapses below are rows of its
test_one()/test_next() tables or follow from their rules).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from localjuju.machine import calendar as C
from localjuju.machine import systemd_analyze as SA
from localjuju.machine import timers as TM
from localjuju.machine import units as U

from .test_systemd import PY, Machine, wait_until

S = C.USEC_PER_SEC


def epoch(text: str) -> int:
    """``YYYY-MM-DD HH:MM:SS`` UTC -> µs since the epoch."""
    return int(time.mktime(time.strptime(text + " UTC", "%Y-%m-%d %H:%M:%S %Z"))) * S - int(
        time.timezone * S
    )


@pytest.fixture
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


# ---------------------------------------------------------------------------------------------
# Calendar events: normalized forms (test-calendarspec.c test_one() rows)


@pytest.mark.parametrize(
    ("expr", "normalized"),
    [
        ("Sat,Thu,Mon-Wed,Sat-Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"),
        ("Sat,Thu,Mon..Wed,Sat..Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"),
        ("Mon,Sun 12-*-* 2,1:23", "Mon,Sun 2012-*-* 01,02:23:00"),
        ("Wed *-1", "Wed *-*-01 00:00:00"),
        ("Wed-Wed,Wed *-1", "Wed *-*-01 00:00:00"),
        ("Wed..Wed,Wed *-1", "Wed *-*-01 00:00:00"),
        ("Wed, 17:48", "Wed *-*-* 17:48:00"),
        ("Wednesday,", "Wed *-*-* 00:00:00"),
        ("Wed-Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"),
        ("Wed..Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"),
        ("*-*-7 0:0:0", "*-*-07 00:00:00"),
        ("10-15", "*-10-15 00:00:00"),
        ("monday *-12-* 17:00", "Mon *-12-* 17:00:00"),
        ("Mon,Fri *-*-3,1,2 *:30:45", "Mon,Fri *-*-01,02,03 *:30:45"),
        ("12,14,13,12:20,10,30", "*-*-* 12,13,14:10,20,30:00"),
        ("12..14:10,20,30", "*-*-* 12..14:10,20,30:00"),
        ("mon,fri *-1/2-1,3 *:30:45", "Mon,Fri *-01/2-01,03 *:30:45"),
        ("03-05 08:05:40", "*-03-05 08:05:40"),
        ("08:05:40", "*-*-* 08:05:40"),
        ("05:40", "*-*-* 05:40:00"),
        ("Sat,Sun 12-05 08:05:40", "Sat,Sun *-12-05 08:05:40"),
        ("Sat,Sun 08:05:40", "Sat,Sun *-*-* 08:05:40"),
        ("2003-03-05 05:40", "2003-03-05 05:40:00"),
        ("2003-02..04-05", "2003-02..04-05 00:00:00"),
        ("2003-03-05", "2003-03-05 00:00:00"),
        ("03-05", "*-03-05 00:00:00"),
        ("hourly", "*-*-* *:00:00"),
        ("daily", "*-*-* 00:00:00"),
        ("monthly", "*-*-01 00:00:00"),
        ("weekly", "Mon *-*-* 00:00:00"),
        ("minutely", "*-*-* *:*:00"),
        ("quarterly", "*-01,04,07,10-01 00:00:00"),
        ("semi-annually", "*-01,07-01 00:00:00"),
        ("annually", "*-01-01 00:00:00"),
        ("yearly", "*-01-01 00:00:00"),
        ("*:2/3", "*-*-* *:02/3:00"),
        ("2015-10-25 01:00:00 uTc", "2015-10-25 01:00:00 UTC"),
        ("2016-03-27 03:17:00.4200005", "2016-03-27 03:17:00.420001"),
        ("2016-03-27 03:17:00/0.42", "2016-03-27 03:17:00/0.420000"),
        ("9..11,13:00,30", "*-*-* 09..11,13:00,30:00"),
        ("1..3-1..3 1..3:1..3", "*-01..03-01..03 01..03:01..03:00"),
        ("*-*~1 Utc", "*-*~01 00:00:00 UTC"),
        ("*-*~05,3 ", "*-*~03,05 00:00:00"),
        ("*-*~* 00:00:00", "*-*-* 00:00:00"),
        ("Monday", "Mon *-*-* 00:00:00"),
        ("Monday *-*-*", "Mon *-*-* 00:00:00"),
        ("*-*-*", "*-*-* 00:00:00"),
        ("*:*:*", "*-*-* *:*:*"),
        ("*:*", "*-*-* *:*:00"),
        ("12:*", "*-*-* 12:*:00"),
        ("*:30", "*-*-* *:30:00"),
        ("93..00-*-*", "1993..2000-*-* 00:00:00"),
        ("00..07-*-*", "2000..2007-*-* 00:00:00"),
        ("*:20..39/5", "*-*-* *:20..35/5:00"),
        ("00:00:20..40/1", "*-*-* 00:00:20..40"),
        ("*~03/1,03..05", "*-*~03/1,03..05 00:00:00"),
        ("@1493187147 UTC", "2017-04-26 06:12:27 UTC"),
        ("@0 UTC", "1970-01-01 00:00:00 UTC"),
    ],
)
def test_normalized_forms(expr: str, normalized: str) -> None:
    assert C.normalize(expr) == normalized


@pytest.mark.parametrize(
    ("expr", "err"),
    [
        ("test", "Invalid argument"),
        (":", "Invalid argument"),
        ("::", "Invalid argument"),
        ("*-*-*-*", "Invalid argument"),
        ("*:*:*:*", "Invalid argument"),
        ("-00:+00/-5", "Invalid argument"),
        ("00:+00/-5", "Invalid argument"),
        ("2016~11-22", "Invalid argument"),
        ("*-*~5/5", "Invalid argument"),
        ("Monday.. 12:00", "Invalid argument"),
        ("Monday..", "Invalid argument"),
        ("-1~-1", "Invalid argument"),
        ("Monday.../2", "Invalid argument"),
        ("*-10~-1", "Invalid argument"),
        ("00:00:00/0", "Numerical result out of range"),
        ("*-13-01", "Invalid argument"),
        ("25:00", "Invalid argument"),
        ("", "Invalid argument"),
        ("5min", "Invalid argument"),
    ],
)
def test_invalid_expressions(expr: str, err: str) -> None:
    with pytest.raises(C.CalendarError) as e:
        C.parse(expr)
    assert e.value.strerror == err


# test-calendarspec.c test_next() rows (after, expected), all in UTC
@pytest.mark.parametrize(
    ("expr", "after", "expected"),
    [
        ("2016-03-27 03:17:00 UTC", "2016-03-25 10:00:00", "2016-03-27 03:17:00"),
        ("2016-03-27 03:17:00 UTC", "2016-03-28 10:00:00", None),
        ("daily UTC", "2026-12-05 04:40:00", "2026-12-06 00:00:00"),
        ("hourly UTC", "2026-12-05 04:40:00", "2026-12-05 05:00:00"),
        ("weekly UTC", "2026-12-05 04:40:00", "2026-12-07 00:00:00"),
        ("monthly UTC", "2026-12-05 04:40:00", "2027-01-01 00:00:00"),
        ("yearly UTC", "2026-12-05 04:40:00", "2027-01-01 00:00:00"),
        ("Mon..Fri 02:00 UTC", "2026-12-05 04:40:00", "2026-12-07 02:00:00"),
        ("*:0/15 UTC", "2026-12-05 04:40:00", "2026-12-05 04:45:00"),
        ("*-02-29 UTC", "2026-12-05 04:40:00", "2028-02-29 00:00:00"),
        ("*-*~01 UTC", "2026-02-10 00:00:00", "2026-02-28 00:00:00"),
        ("*-*~03/2 UTC", "2026-12-05 00:00:00", "2026-12-29 00:00:00"),
        ("Sun *-*-* 01:00:00 UTC", "2016-11-15 14:00:00", "2016-11-20 01:00:00"),
        ("*-*-31 UTC", "2026-11-05 00:00:00", "2026-12-31 00:00:00"),
        ("2199-12-31 UTC", "2200-01-01 00:00:00", None),
        ("Fri 2026-12-* UTC", "2026-12-05 04:40:00", "2026-12-11 00:00:00"),
    ],
)
def test_next_elapse(expr: str, after: str, expected: str | None) -> None:
    got = C.next_elapse(C.parse(expr), epoch(after))
    assert got == (epoch(expected) if expected else None)


def test_next_elapse_is_strictly_after() -> None:
    spec = C.parse("*:*:0/2 UTC")
    t = epoch("2026-12-05 04:40:02")
    assert C.next_elapse(spec, t) == t + 2 * S
    assert C.next_elapse(spec, t - 1) == t


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (0, "now"),
        (500, "500us left"),
        (1500 * 1000, "1s left"),
        (90 * S, "1min 30s left"),
        (5 * 60 * S, "5min left"),
        (3 * 3600 * S + 20 * 60 * S, "3h 20min left"),
        (19 * 3600 * S, "19h left"),
        (43 * 3600 * S, "1 day 19h left"),
        (3 * 86400 * S, "3 days left"),
        (26 * 86400 * S, "3 weeks 5 days left"),
        (-277 * S, "4min 37s ago"),
    ],
)
def test_format_relative(delta: int, text: str) -> None:
    now = epoch("2026-12-05 04:40:00")
    assert C.format_relative(now + delta, now) == text


# ---------------------------------------------------------------------------------------------
# systemd-analyze calendar


def test_analyze_calendar_output(utc: None) -> None:
    now = epoch("2026-12-05 04:40:00")
    out, err, rc = SA.calendar_one("daily", now, 1)
    assert (out, err, rc) == (
        [
            "  Original form: daily",
            "Normalized form: *-*-* 00:00:00",
            "    Next elapse: Sun 2026-12-06 00:00:00 UTC",
            "       From now: 19h left",
        ],
        [],
        0,
    )
    out, _, _ = SA.calendar_one("*-*-* 00:00:00", now, 2)
    assert out == [
        "Normalized form: *-*-* 00:00:00",
        "    Next elapse: Sun 2026-12-06 00:00:00 UTC",
        "       From now: 19h left",
        "       Iter. #2: Mon 2026-12-07 00:00:00 UTC",
        "       From now: 1 day 19h left",
    ]
    out, _, _ = SA.calendar_one("2020-01-01", now, 1)
    assert out[-1] == "    Next elapse: never"


def test_analyze_calendar_errors(utc: None) -> None:
    out, err, rc = SA.calendar_one("5min", 0, 1)
    assert out == [] and rc == 1
    assert err == [
        "Failed to parse calendar specification '5min': Invalid argument",
        "Hint: this expression is a valid timespan. Use 'systemd-analyze timespan \"5min\"' "
        "instead?",
    ]


def test_analyze_command_exit_status(tmp_path: Path) -> None:
    env = dict(os.environ, TZ="UTC")
    p = subprocess.run(
        [PY, "-m", "localjuju.machine.systemd_analyze", "calendar", "daily", "bogus", "hourly"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1
    assert "Failed to parse calendar specification 'bogus': Invalid argument" in p.stderr
    assert p.stdout.count("Normalized form:") == 2
    p = subprocess.run(
        [PY, "-m", "localjuju.machine.systemd_analyze", "blame"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode == 1 and "only 'calendar'" in p.stderr


# ---------------------------------------------------------------------------------------------
# [Timer] settings and the next-elapse decision


def test_timer_unit_settings(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(machine.root))
    machine.unit(
        "b.timer",
        "[Timer]\nOnCalendar=daily\nOnCalendar=Mon *-*-* 3:00\nOnBootSec=5min\n"
        "Persistent=true\nRandomizedDelaySec=1h\n[Install]\nWantedBy=timers.target\n",
    )
    cfg = U.load_unit_config("b.timer")
    assert cfg.load_state == "loaded", cfg.load_error
    assert cfg.timer_unit == "b.service"
    assert cfg.timer_calendar == ["*-*-* 00:00:00", "Mon *-*-* 03:00:00"]
    assert cfg.timer_monotonic == [("OnBootUSec", 300.0)]
    assert cfg.persistent and cfg.randomized_delay_sec == 3600.0
    machine.unit("c.timer", "[Timer]\nUnit=other\nOnCalendar=bogus\n")
    bad = U.load_unit_config("c.timer")
    assert bad.load_state == "bad-setting" and "bogus" in bad.load_error
    machine.unit("d.timer", "[Timer]\nPersistent=true\n")
    assert "lacks value setting" in U.load_unit_config("d.timer").load_error
    machine.unit("e.timer", "[Timer]\nOnActiveSec=1\nOnCalendar=\n")
    assert "lacks value setting" in U.load_unit_config("e.timer").load_error


def clocks(**kw: float) -> TM.Clocks:
    base = dict(
        now_monotonic=1000.0,
        now_realtime=epoch("2026-12-05 04:40:00"),
        boot_monotonic=900.0,
        activated_monotonic=990.0,
        activated_realtime=epoch("2026-12-05 04:39:50"),
    )
    base.update(kw)
    return TM.Clocks(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("mono", "cal", "kw", "disabled", "want_mono", "want_real", "elapsed", "spent"),
    [
        # OnBootSec counts from boot, OnActiveSec from activation
        ([("OnBootUSec", 300.0)], [], {}, set(), 1200.0, None, False, set()),
        ([("OnActiveUSec", 30.0)], [], {}, set(), 1020.0, None, False, set()),
        # a one-time trigger that elapsed before the last trigger is spent
        (
            [("OnBootUSec", 60.0), ("OnUnitActiveUSec", 60.0)],
            [],
            {"last_trigger_monotonic": 980.0},
            set(),
            1040.0,
            None,
            False,
            {0},
        ),
        # OnUnitActiveSec= without a base (never ran, never triggered): nothing to wait for
        ([("OnUnitActiveUSec", 60.0)], [], {}, set(), None, None, True, set()),
        # ... from the later of the unit's activation and the last trigger
        (
            [("OnUnitActiveUSec", 60.0)],
            [],
            {"unit_inactive_exit_monotonic": 995.0, "last_trigger_monotonic": 990.0},
            set(),
            1055.0,
            None,
            False,
            set(),
        ),
        (
            [("OnUnitInactiveUSec", 10.0)],
            [],
            {"unit_inactive_enter_monotonic": 999.0},
            set(),
            1009.0,
            None,
            False,
            set(),
        ),
        # a calendar event: after the activation when never triggered
        ([], ["*-*-* 00:00:00 UTC"], {}, set(), None, epoch("2026-12-06 00:00:00"), False, set()),
        # ... after the last trigger (a Persistent= stamp from two days ago: due now)
        (
            [],
            ["*-*-* 00:00:00 UTC"],
            {"last_trigger_realtime": epoch("2026-12-03 00:00:00")},
            set(),
            None,
            epoch("2026-12-04 00:00:00"),
            False,
            set(),
        ),
        # spent triggers stay spent
        ([("OnBootUSec", 300.0)], [], {}, {0}, None, None, True, {0}),
    ],
)
def test_timer_plan(
    mono: list[tuple[str, float]],
    cal: list[str],
    kw: dict[str, float],
    disabled: set[int],
    want_mono: float | None,
    want_real: int | None,
    elapsed: bool,
    spent: set[int],
) -> None:
    c = clocks(**kw)
    p = TM.plan(mono, cal, c, disabled)
    assert (p.next_monotonic, p.next_realtime, p.elapsed, p.disabled) == (
        want_mono,
        want_real,
        elapsed,
        spent,
    )
    if want_real is not None and want_real < c.now_realtime:
        assert p.due(c.now_monotonic, c.now_realtime)
    armed = [t for t in p.monotonic_next if t is not None]
    assert (min(armed) if armed else None) == want_mono
    assert all(p.monotonic_next[i] is None for i in spent)


def test_unit_relative_trigger_leaves_timer_around() -> None:
    p = TM.plan([("OnUnitActiveUSec", 60.0)], [], clocks(), set())
    assert p.elapsed and p.leave_around
    p = TM.plan([("OnActiveUSec", 1.0)], [], clocks(last_trigger_monotonic=995.0), set())
    assert p.elapsed and not p.leave_around and p.disabled == {0}


# ---------------------------------------------------------------------------------------------
# The supervisor runs timers (against a directory)


@pytest.fixture
def machine(tmp_path: Path) -> Iterator[Machine]:
    m = Machine(tmp_path / "root")
    m.root.mkdir()
    yield m
    if m.proc is not None:
        m.shutdown()


def runs(m: Machine) -> list[tuple[float, float]]:
    """(start, end) of every run of the test service (from its own log)."""
    log = m.path("/runs")
    if not log.exists():
        return []
    out = []
    for line in log.read_text().splitlines():
        parts = line.split()
        if len(parts) == 2:
            out.append((float(parts[0]), float(parts[1])))
    return out


def oneshot(m: Machine, name: str, seconds: float) -> None:
    """A Type=oneshot service that records its (start, end) in /runs (a script: ``$`` and
    ``%`` in a unit file are systemd's)."""
    script = m.write(
        f"/usr/local/bin/{name}.sh",
        f's=$(date +%s.%N); sleep {seconds}; echo "$s $(date +%s.%N)" >> {m.path("/runs")}\n',
    )
    script.chmod(0o755)
    m.unit(
        name,
        f"[Unit]\nDescription=Job {name}\n[Service]\nType=oneshot\nExecStart=/bin/sh {script}\n",
    )


def test_timer_triggers_oneshot_and_never_overlaps(machine: Machine) -> None:
    m = machine
    oneshot(m, "job.service", 1.2)
    m.unit(
        "job.timer",
        "[Unit]\nDescription=Job timer\n[Timer]\nOnActiveSec=0\nOnUnitActiveSec=300ms\n"
        "[Install]\nWantedBy=timers.target\n",
    )
    m.boot()
    p = m.systemctl("enable", "--now", "job.timer")
    assert p.returncode == 0, p.stderr
    assert "timers.target.wants/job.timer" in p.stderr
    wait_until(lambda: len(runs(m)) >= 3, timeout=30, what="three runs")
    r = runs(m)
    # OnUnitActiveSec=300ms is shorter than a run: the next run starts only after the last ended
    for (_, end), (start, _) in zip(r, r[1:], strict=False):
        assert start >= end - 0.05, r
    assert m.prop("job.timer", "ActiveState") == "active"
    assert m.prop("job.timer", "Result") == "success"
    assert m.prop("job.timer", "LastTriggerUSec").endswith(time.strftime("%Z"))
    assert m.prop("job.timer", "Unit") == "job.service"
    assert m.systemctl("is-active", "job.timer").stdout.strip() == "active"
    m.systemctl("stop", "job.timer", check=True)
    assert m.prop("job.timer", "ActiveState") == "inactive"
    assert m.prop("job.timer", "NextElapseUSecRealtime") == "n/a"
    n = len(runs(m))
    wait_until(lambda: m.prop("job.service", "ActiveState") == "inactive", what="last run ends")
    time.sleep(1.0)  # a stopped timer starts nothing more (observe a while)
    assert len(runs(m)) <= n + 1


def test_calendar_timer_list_and_show(machine: Machine) -> None:
    m = machine
    oneshot(m, "cal.service", 0)
    m.unit("cal.timer", "[Unit]\nDescription=Every two seconds\n[Timer]\nOnCalendar=*:*:0/2\n")
    m.unit(
        "idle.timer",
        "[Timer]\nOnCalendar=2099-01-01\nUnit=cal.service\n[Install]\nWantedBy=timers.target\n",
    )
    m.boot()
    m.systemctl("start", "cal.timer", check=True)
    m.systemctl("enable", "idle.timer", check=True)  # loaded (wanted by timers.target), inactive
    wait_until(lambda: runs(m), timeout=10, what="a calendar run")
    started = runs(m)[0][0]
    assert int(started) % 2 == 0 or started - int(started) > 0.9  # on an even second
    last = m.prop("cal.timer", "LastTriggerUSec")
    assert int(last.split()[2].split(":")[2]) % 2 == 0
    nxt = m.prop("cal.timer", "NextElapseUSecRealtime")
    assert nxt != "n/a" and int(nxt.split()[2].split(":")[2]) % 2 == 0
    assert m.prop("cal.timer", "TimersCalendar").startswith("{ OnCalendar=*-*-* *:*:00/2 ;")
    out = m.systemctl("list-timers").stdout.splitlines()
    assert out[0].split() == ["NEXT", "LEFT", "LAST", "PASSED", "UNIT", "ACTIVATES"]
    assert out[1].split()[-2:] == ["cal.timer", "cal.service"]
    assert out[-2:] == ["1 timers listed.", "Pass --all to see loaded but inactive timers, too."]
    # the columns: NEXT is one wider than its timestamps, then single spaces
    assert out[0].index("LEFT") == len(nxt) + 2
    every = m.systemctl("list-timers", "--all").stdout.splitlines()
    idle = next(line for line in every if "idle.timer" in line)
    assert idle.split()[:4] == ["n/a", "n/a", "n/a", "n/a"]
    assert every[-1] == "2 timers listed."
    status = m.systemctl("status", "cal.timer").stdout
    assert "Active: active (waiting)" in status or "Active: active (running)" in status
    assert "   Triggers: \u25cf cal.service" in status


def test_timer_without_its_unit_fails(machine: Machine) -> None:
    m = machine
    m.unit("lonely.timer", "[Timer]\nOnActiveSec=1h\n")
    m.boot()
    p = m.systemctl("start", "lonely.timer")
    assert p.returncode == 1
    assert "Job for lonely.timer failed" in p.stderr
    assert m.prop("lonely.timer", "Result") == "resources"
    assert "Refusing to start, unit lonely.service to trigger not loaded." in m.journal(
        "lonely.timer"
    )


def test_persistent_catch_up_and_restart(machine: Machine) -> None:
    """Enabled timers start at boot; a Persistent= timer whose stamp says it missed an
    elapse runs its unit at once; a plain one waits for its next time."""
    m = machine
    oneshot(m, "p.service", 0)
    oneshot(m, "q.service", 0)
    for name, persistent in (("p", "true"), ("q", "false")):
        m.unit(
            f"{name}.timer",
            f"[Timer]\nOnCalendar=hourly\nPersistent={persistent}\n"
            "[Install]\nWantedBy=timers.target\n",
        )
    m.boot()
    m.systemctl("enable", "p.timer", "q.timer", check=True)
    m.shutdown()
    stamp = m.path("/var/lib/systemd/timers/stamp-p.timer")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.touch()
    old = time.time() - 2 * 3600
    os.utime(stamp, (old, old))
    m.boot()
    wait_until(lambda: runs(m), timeout=10, what="the catch-up run")
    assert m.prop("p.timer", "ActiveState") == "active"
    assert m.prop("q.timer", "ActiveState") == "active"
    assert stamp.stat().st_mtime > old + 3600  # touched at the trigger
    time.sleep(0.5)
    assert len(runs(m)) == 1  # only p ran: q was never due
    assert m.prop("q.timer", "LastTriggerUSec") == "n/a"


# ---------------------------------------------------------------------------------------------
# systemctl as a user that is not root


def test_unprivileged_systemctl(open_root: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to run a client as another user")
    m = Machine(open_root / "root")
    m.root.mkdir()
    m.root.chmod(0o755)
    m.unit("svc.service", "[Service]\nExecStart=/bin/sleep 600\n")
    oneshot(m, "t.service", 0)
    m.unit("t.timer", "[Timer]\nOnActiveSec=1h\n")
    m.boot()
    try:
        m.systemctl("start", "svc", "t.timer", check=True)

        def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [PY, "-m", "localjuju.machine.systemctl", *args],
                env=m.env,
                capture_output=True,
                text=True,
                timeout=60,
                user=65534,
                group=65534,
                extra_groups=[],
            )

        assert as_nobody("is-active", "svc").stdout == "active\n"
        p = as_nobody("is-enabled", "svc")
        assert (p.returncode, p.stdout) == (0, "static\n")
        assert "MainPID=" in as_nobody("show", "svc").stdout
        assert as_nobody("status", "svc").returncode == 0
        assert "svc.service" in as_nobody("list-units").stdout
        assert "t.timer" in as_nobody("list-timers").stdout
        assert as_nobody("is-failed", "svc").returncode == 1
        p = as_nobody("stop", "svc")
        assert p.returncode == 1
        assert p.stderr == (
            "Failed to stop svc.service: Interactive authentication required.\n"
            "See system logs and 'systemctl status svc.service' for details.\n"
        )
        p = as_nobody("enable", "svc")
        assert (p.returncode, p.stderr) == (
            1,
            "Failed to enable unit: Interactive authentication required.\n",
        )
        p = as_nobody("daemon-reload")
        assert (p.returncode, p.stderr) == (
            1,
            "Failed to reload daemon: Interactive authentication required.\n",
        )
        assert as_nobody("kill", "svc").returncode == 1
        assert as_nobody("poweroff").returncode == 1
        # nothing changed
        assert m.prop("svc.service", "ActiveState") == "active"
        assert m.proc is not None and m.proc.poll() is None
    finally:
        m.shutdown()


# systemd/systemd src/test/test-calendarspec.c (stored at dbfd41e2df44, the rows of a version
# after v251) test_next(): (expression, $TZ, after, next elapse or None)
SYSTEMD_NEXT_ROWS = [
    ("2016-03-27 03:17:00", "", 12345, 1459048620000000),
    ("2016-03-27 03:17:00", "CET", 12345, 1459041420000000),
    ("2016-03-27 03:17:00", "EET", 12345, None),
    ("2016-03-27 03:17:00 UTC", "CET", 12345, 1459048620000000),
    ("2016-03-27 03:17:00 UTC", "EET", 12345, 1459048620000000),
    ("2016-03-27 03:17:00.420000001 UTC", "EET", 12345, 1459048620420000),
    ("2016-03-27 03:17:00.4200005 UTC", "EET", 12345, 1459048620420001),
    ("2015-11-13 09:11:23.42", "EET", 12345, 1447398683420000),
    ("2015-11-13 09:11:23.42/1.77", "EET", 1447398683420000, 1447398685190000),
    ("2015-11-13 09:11:23.42/1.77", "EET", 1447398683419999, 1447398683420000),
    ("Sun 16:00:00", "CET", 1456041600123456, 1456066800000000),
    ("*-04-31", "", 12345, None),
    ("2016-02~01 UTC", "", 12345, 1456704000000000),
    ("Mon 2017-05~01..07 UTC", "", 12345, 1496016000000000),
    ("Mon 2017-05~07/1 UTC", "", 12345, 1496016000000000),
    ("*-*-01/5 04:00:00 UTC", "", 1646010000000000, 1646107200000000),
    ("*-01/7-01 04:00:00 UTC", "", 1664607600000000, 1672545600000000),
    ("2017-08-06 9,11,13,15,17:00 UTC", "", 1502029800000000, 1502031600000000),
    ("2017-08-06 9..17/2:00 UTC", "", 1502029800000000, 1502031600000000),
    ("2016-12-* 3..21/6:00 UTC", "", 1482613200000001, 1482634800000000),
    ("2017-09-24 03:30:00 Pacific/Auckland", "", 12345, 1506177000000000),
    ("2017-09-24 02:30:00 Pacific/Auckland", "", 12345, None),
    ("2017-04-02 02:30:00 Pacific/Auckland", "", 12345, 1491053400000000),
    ("2017-04-02 02:30:00 Pacific/Auckland", "", 1491053400000000, None),
    ("2017-04-02 03:30:00 Pacific/Auckland", "", 12345, 1491060600000000),
    ("2017-09-09 20:42:00 Pacific/Auckland", "EET", 12345, 1504946520000000),
    ("Sun *-*-* 01:00:00 Europe/Dublin", "", 1616412478000000, 1617494400000000),
    ("Sun *-*-* 01:00:00 Europe/Dublin", "IST", 1616412478000000, 1617494400000000),
]


@pytest.mark.parametrize(("expr", "tz", "after", "expected"), SYSTEMD_NEXT_ROWS)
def test_next_elapse_systemd_rows(
    expr: str, tz: str, after: int, expected: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if tz:
        monkeypatch.setenv("TZ", tz)
    else:
        monkeypatch.delenv("TZ", raising=False)
    time.tzset()
    try:
        assert C.next_elapse(C.parse(expr), after) == expected
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize(
    "expr",
    [
        " utc",
        "    ",
        "7",
        "121212:1:2",
        "2000-03-05.23 00:00:00",
        "2000-03-05 00:00.1:00",
        "00:00:00/0.00000001",
        "00:00:00.0..00.9",
        "2016- 11- 24 12: 30: 00",
        "*~29",
        "*~16..31",
        "12..1/2-*",
        "20/4:00",
        "00:00/60",
        "00:00:2300",
        "00:00:18446744073709551615",
        "@88588582097858858",
    ],
)
def test_systemd_refuses(expr: str) -> None:
    with pytest.raises(C.CalendarError):
        C.parse(expr)


# ---------------------------------------------------------------------------------------------
# tmpfiles.d (systemd-tmpfiles --create, types d and D)


@pytest.mark.parametrize(
    ("text", "made", "skipped"),
    [
        ("d /run/nagios 0755 nagios nagios - -\n", [("d", "/run/nagios", 0o755, "nagios")], 0),
        ("#c\n\nD /run/x 0700 root root -\n", [("D", "/run/x", 0o700, "root")], 0),
        ("d /run/y - - - -\n", [("d", "/run/y", None, "")], 0),
        ("L /run/z - - - - /etc/z\nf /run/f 0644\n", [], 2),
    ],
)
def test_tmpfiles_lines(
    text: str, made: list[tuple[str, str, int | None, str]], skipped: int
) -> None:
    from localjuju.machine import tmpfiles as TMPF

    lines, other = TMPF.parse(text)
    assert [(x.type, x.path, x.mode, x.user) for x in lines] == made
    assert len(other) == skipped


def test_tmpfiles_of_packages_only(machine: Machine, monkeypatch: pytest.MonkeyPatch) -> None:
    from localjuju.machine import tmpfiles as TMPF

    monkeypatch.setenv("LOCALJUJU_MACHINE_ROOT", str(machine.root))
    machine.write("/etc/passwd", "root:x:0:0::/root:/bin/sh\nsvc:x:4242:4243::/:/bin/sh\n")
    machine.write("/etc/group", "root:x:0:\nsvc:x:4243:\n")
    machine.write("/usr/lib/tmpfiles.d/pkg.conf", "d /run/pkg 0750 svc svc -\n")
    machine.write("/usr/lib/tmpfiles.d/host.conf", "d /run/host 0755 root root -\n")
    machine.write("/etc/tmpfiles.d/local.conf", "d /run/local 0700 - - -\nL /run/l - - - - /x\n")
    machine.write("/var/lib/dpkg/info/pkg.list", "/.\n/usr/lib/tmpfiles.d/pkg.conf\n")
    notes = TMPF.create()
    st = machine.path("/run/pkg").stat()
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid) == (0o750, 4242, 4243)
    assert not machine.path("/run/host").exists()  # the host's, not a package of the machine
    assert machine.path("/run/local").stat().st_mode & 0o7777 == 0o700
    assert notes == [
        "/etc/tmpfiles.d/local.conf: not implemented by the local model's tmpfiles: "
        "L /run/l - - - - /x"
    ]
