#!/usr/bin/python3
"""The etcd charm's Nagios plugin: ``check_etcd.py <check> [options]``, one subcommand a check.

Installed by the charm as ``/usr/local/lib/nagios/plugins/check_etcd.py`` (mode 0755) while an
``nrpe-external-master`` relation exists; NRPE runs it as user ``nagios``. Standard library
only, for the machine's ``/usr/bin/python3`` (3.10 on Ubuntu 22.04, 3.12 on 24.04): the charm
imports this module too (``etcd_charm.check_etcd``), so it has no relative import.

Checks:

- ``service``: ``systemctl is-active snap.etcd.etcd`` (any user may ask systemd);
- ``health``: this unit's member as the collector last saw it (``endpoint status``);
- ``alarms``: NOSPACE or CORRUPT raised on any member (``alarm list``);
- ``dbsize -w PCT -c PCT``: this member's database size against the backend quota;
- ``cert -w DAYS -c DAYS``: days until the server certificate's notAfter;
- ``backup``: the outcome of the last scheduled backup on this unit (the file the backup
  run writes, 0644, no secret: :data:`BACKUP_LAST_PATH`), CRITICAL when it failed.

Every check but ``service`` reads the status file the root collector writes
(``etcd_charm.nagios_collect``, from the charm's hooks and a 60 s systemd timer): the checks run
as ``nagios``, who cannot read etcd's 0600 client key. The file holds no secret. A status file
older than :data:`STALE_AFTER` seconds makes the check CRITICAL.

Plugin conventions (Nagios plugin API, "Plugin Return Code" and "Plugin Output Spec"; the
Monitoring Plugins development guidelines, sections on output, performance data and
threshold ranges): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; one status line
``ETCD-<CHECK> <STATE> - <text>``, performance data after ``|`` as
``label=value[UOM];warn;crit;min;max``, thresholds as ranges (``30:`` alerts below 30). A bad
argument or an unexpected error is UNKNOWN (argparse's exit 2 and Python's traceback exit 1
would read as CRITICAL and WARNING).
"""

from __future__ import annotations

import argparse
import base64
import calendar
import json
import math
import re
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATE_NAMES = ("OK", "WARNING", "CRITICAL", "UNKNOWN")

#: where the collector writes etcd's state (nagios' home, as layer-etcd's alarm cache was)
STATUS_PATH = "/var/lib/nagios/etcd-status.json"
#: the status file's format; a file of another format is UNKNOWN
FORMAT = 1
SERVICE = "snap.etcd.etcd"
#: the collector's timer interval, and the age past which the state is stale (5 intervals)
INTERVAL = 60
STALE_AFTER = 5 * INTERVAL

#: the outcome of the last scheduled backup (``etcd_charm.backup_schedule.LAST_PATH``)
BACKUP_LAST_PATH = "/var/snap/etcd/common/backup-last.json"

#: the alarms that make the alarms check CRITICAL (etcdserverpb.AlarmType)
CRITICAL_ALARMS = ("NOSPACE", "CORRUPT")
#: what etcd reports in ``endpoint status`` errors without a leader (etcdserver.ErrNoLeader)
NO_LEADER = "etcdserver: no leader"


@dataclass(frozen=True)
class Result:
    code: int
    text: str
    perfdata: str = ""

    def line(self, check: str) -> str:
        """The plugin's one line of output (a multi-line text is joined with "; ")."""
        text = "; ".join(ln.strip() for ln in self.text.splitlines() if ln.strip())
        out = f"ETCD-{check.upper()} {STATE_NAMES[self.code]} - {text}"
        return out + (f" | {self.perfdata}" if self.perfdata else "")


class Usage(Exception):
    """A bad argument: UNKNOWN."""


# --- pure evaluation -----------------------------------------------------------------------


def human_bytes(n: float) -> str:
    for unit, size in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def human_age(seconds: float) -> str:
    seconds = int(seconds)
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def evaluate_service(state: str, error: str = "") -> Result:
    """``systemctl is-active``'s answer (its first line; "" with ``error`` when it could not
    run). Starting or reloading is WARNING: systemd restarts a crashed etcd (Restart=always)."""
    state = state.strip()
    if not state:
        return Result(UNKNOWN, f"cannot ask systemd about {SERVICE}: {error or 'no answer'}")
    if state == "active":
        return Result(OK, f"{SERVICE} is active")
    if state in ("activating", "reloading"):
        return Result(WARNING, f"{SERVICE} is {state}")
    return Result(CRITICAL, f"{SERVICE} is {state}: etcd does not run on this unit")


def load(text: str | None, path: str = STATUS_PATH) -> tuple[dict[str, Any] | None, Result | None]:
    """The status file's record, or the UNKNOWN result of a missing or unreadable one."""
    if text is None:
        return None, Result(
            UNKNOWN,
            f"no status file {path}: the etcd charm's collector has not run yet "
            "(etcd-nagios-collect.timer)",
        )
    try:
        record = json.loads(text)
    except ValueError as e:
        return None, Result(UNKNOWN, f"status file {path} is not JSON: {e}")
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        return None, Result(UNKNOWN, f"status file {path} is not of format {FORMAT}")
    return record, None


def staleness(record: Mapping[str, Any], now: float) -> Result | None:
    """CRITICAL when the record is older than :data:`STALE_AFTER` (naming its age)."""
    collected = record.get("collected_at")
    if not isinstance(collected, (int, float)) or isinstance(collected, bool):
        return Result(UNKNOWN, "the status file does not say when it was collected")
    age = now - collected
    if age > STALE_AFTER:
        return Result(
            CRITICAL,
            f"etcd's state was last collected {human_age(age)} ago (stale after "
            f"{STALE_AFTER}s): is etcd-nagios-collect.timer running?",
        )
    return None


def _member(record: Mapping[str, Any]) -> Mapping[str, Any]:
    member = record.get("member")
    return member if isinstance(member, dict) else {}


def evaluate_health(record: Mapping[str, Any], now: float) -> Result:
    """This unit's member: started, answering, with a leader, without errors, a voter."""
    stale = staleness(record, now)
    if stale:
        return stale
    m = _member(record)
    if not m.get("started"):
        reason = m.get("reason") or "not started"
        return Result(CRITICAL, f"this unit runs no etcd member: {reason}")
    endpoint = m.get("endpoint", "")
    if not m.get("answered"):
        return Result(
            CRITICAL, f"etcd on {endpoint} does not answer: {m.get('error') or 'no status'}"
        )
    errors = [str(e) for e in m.get("errors") or ()]
    if not m.get("leader") or NO_LEADER in errors:
        return Result(
            CRITICAL, f"member {m.get('id')} has no raft leader: quorum lost or an election"
        )
    others = [e for e in errors if "alarm:" not in e]  # alarms: the alarms check
    if others:
        return Result(CRITICAL, f"member {m.get('id')} reports: {'; '.join(others)}")
    if m.get("is_learner"):
        return Result(WARNING, f"member {m.get('id')} is a learner catching up (not a voter)")
    return Result(
        OK,
        f"member {m.get('id')} answers on {endpoint}; raft leader {m.get('leader')}, "
        f"term {m.get('raft_term')}",
    )


def evaluate_alarms(record: Mapping[str, Any], now: float) -> Result:
    """NOSPACE or CORRUPT on any member: CRITICAL naming them; another alarm: WARNING."""
    stale = staleness(record, now)
    if stale:
        return stale
    alarms = record.get("alarms")
    if not isinstance(alarms, list):
        error = record.get("alarms_error") or "not listed"
        return Result(UNKNOWN, f"cannot list etcd's alarms: {error}")
    raised = [f"{a.get('alarm')} on member {a.get('member')}" for a in alarms]
    perf = f"alarms={len(alarms)};;0;0"
    if not alarms:
        return Result(OK, "no alarms raised", perf)
    kinds = {a.get("alarm") for a in alarms}
    text = ", ".join(raised)
    if "NOSPACE" in kinds:
        text += (
            " (the database reached its quota: etcd refuses writes; compact and defragment,"
            " then disarm)"
        )
    if kinds & set(CRITICAL_ALARMS):
        return Result(CRITICAL, text, perf)
    return Result(WARNING, text, perf)


def percent(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Usage(f"{name} {value!r} is not a number") from None
    if not 0 < number <= 100:
        raise Usage(f"{name} {value!r} is not a percentage (0-100]")
    return number


def evaluate_dbsize(record: Mapping[str, Any], now: float, warn: float, crit: float) -> Result:
    """This member's database file against the quota: ``warn``/``crit`` percent of it."""
    if warn >= crit:
        raise Usage(f"the warning threshold ({warn}%) must be below the critical one ({crit}%)")
    stale = staleness(record, now)
    if stale:
        return stale
    m = _member(record)
    quota = record.get("quota_bytes")
    if not isinstance(quota, int) or quota <= 0:
        return Result(UNKNOWN, "the status file has no backend quota")
    if not m.get("answered") or not isinstance(m.get("db_size"), int):
        return Result(UNKNOWN, "no database size: this unit's member does not answer")
    size, in_use = int(m["db_size"]), int(m.get("db_size_in_use") or 0)
    used = 100.0 * size / quota
    warn_bytes, crit_bytes = math.ceil(quota * warn / 100), math.ceil(quota * crit / 100)
    perf = (
        f"db_size={size}B;{warn_bytes};{crit_bytes};0;{quota} "
        f"db_size_in_use={in_use}B;;;0;{quota}"
    )
    text = (
        f"database {human_bytes(size)} of the {human_bytes(quota)} quota ({used:.1f}%), "
        f"{human_bytes(in_use)} in use"
    )
    if size >= crit_bytes:
        return Result(
            CRITICAL, text + ": at the quota etcd refuses writes; compact and defragment", perf
        )
    if size >= warn_bytes:
        return Result(WARNING, text, perf)
    return Result(OK, text, perf)


def days(value: str, name: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise Usage(f"{name} {value!r} is not a number of days") from None
    if number < 0:
        raise Usage(f"{name} {value!r} is negative")
    return number


def evaluate_cert(record: Mapping[str, Any], now: float, warn: float, crit: float) -> Result:
    """Days until the server certificate's notAfter: fewer than ``warn`` WARNING, fewer than
    ``crit`` (or expired, or unreadable) CRITICAL."""
    if warn <= crit:
        raise Usage(f"the warning threshold ({warn} days) must be above the critical one ({crit})")
    stale = staleness(record, now)
    if stale:
        return stale
    cert = record.get("cert")
    cert = cert if isinstance(cert, dict) else {}
    path = cert.get("path", "the server certificate")
    not_after = cert.get("not_after")
    if not isinstance(not_after, (int, float)) or isinstance(not_after, bool):
        return Result(CRITICAL, f"{path} cannot be read: {cert.get('error') or 'no expiry'}")
    left = (not_after - now) / 86400
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(not_after))
    perf = f"days_left={left:.1f};{warn:g}:;{crit:g}:"
    if left <= 0:
        return Result(CRITICAL, f"{path} expired {-left:.0f} days ago ({when})", perf)
    text = f"{path} expires in {left:.0f} days ({when})"
    if left < crit:
        return Result(CRITICAL, text, perf)
    if left < warn:
        return Result(WARNING, text, perf)
    return Result(OK, text, perf)


# --- the certificate's notAfter, without third-party modules ------------------------------

_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.+?)-----END CERTIFICATE-----", re.S)


def _tlv(der: bytes, at: int) -> tuple[int, int, int]:
    """(tag, start of the value, end of the value) of the DER element at ``at``."""
    if at + 2 > len(der):
        raise ValueError("truncated DER")
    tag, length = der[at], der[at + 1]
    at += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or at + count > len(der):
            raise ValueError("bad DER length")
        length = int.from_bytes(der[at : at + count], "big")
        at += count
    if at + length > len(der):
        raise ValueError("truncated DER")
    return tag, at, at + length


def _time(tag: int, text: str) -> float:
    """UTCTime (YYMMDDHHMMSSZ: 50-99 are 19YY) or GeneralizedTime (YYYYMMDDHHMMSSZ), as X.509
    (RFC 5280, 4.1.2.5) writes them, to seconds since the epoch."""
    if tag == 0x17 and re.fullmatch(r"\d{12}Z", text):
        year = int(text[:2])
        text = f"{1900 + year if year >= 50 else 2000 + year}{text[2:]}"
    elif not (tag == 0x18 and re.fullmatch(r"\d{14}Z", text)):
        raise ValueError(f"not an X.509 time: {text!r}")
    fields = (text[0:4], text[4:6], text[6:8], text[8:10], text[10:12], text[12:14])
    return float(calendar.timegm(tuple(int(f) for f in fields) + (0, 0, 0)))


def cert_not_after(pem: str) -> float:
    """notAfter (epoch seconds) of the first certificate of a PEM text: Certificate ->
    tbsCertificate -> [version], serialNumber, signature, issuer, validity(notBefore,
    notAfter) (RFC 5280, 4.1). ValueError when there is none or it is malformed."""
    found = _PEM.search(pem)
    if not found:
        raise ValueError("no PEM certificate")
    try:
        der = base64.b64decode("".join(found.group(1).split()), validate=True)
    except ValueError as e:
        raise ValueError(f"bad PEM: {e}") from None
    tag, start, _ = _tlv(der, 0)  # Certificate
    tag2, at, end = _tlv(der, start)  # tbsCertificate
    if tag != 0x30 or tag2 != 0x30:
        raise ValueError("not an X.509 certificate")
    tag, _, after = _tlv(der, at)
    if tag == 0xA0:  # [0] EXPLICIT version
        at = after
    for _field in ("serialNumber", "signature", "issuer"):
        _, _, at = _tlv(der, at)
    tag, at, validity_end = _tlv(der, at)
    if tag != 0x30 or validity_end > end:
        raise ValueError("no validity in the certificate")
    _, _, at = _tlv(der, at)  # notBefore
    tag, value, stop = _tlv(der, at)  # notAfter
    return _time(tag, der[value:stop].decode("ascii"))


def evaluate_backup(text: str | None, now: float) -> Result:
    """The last scheduled backup on this unit: CRITICAL when it failed (with when and why),
    OK with its id, age and size; OK when none ran here (no schedule, or another unit is
    the Juju leader, which takes them)."""
    if text is None:
        return Result(
            OK,
            "no scheduled backup has run on this unit (backup_schedule is empty, or the Juju "
            "leader's unit takes them)",
        )
    try:
        last = json.loads(text)
        ok, started = bool(last["ok"]), float(last["started"])
    except (ValueError, KeyError, TypeError) as e:
        return Result(UNKNOWN, f"the last backup's record cannot be read ({e})")
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(started))
    age = max(0.0, now - started)
    perf = f"age={int(age)}s;;;0"
    if not ok:
        return Result(
            CRITICAL, f"the scheduled backup of {when} failed: {last.get('error')}", perf
        )
    size = int(last.get("size", 0))
    return Result(
        OK,
        f"backup {last.get('backup_id')} in {last.get('location')} ({human_bytes(size)}), "
        f"taken {human_age(age)} ago",
        f"{perf} size={size}B;;;0",
    )


# --- the shell: arguments, the file, systemctl ---------------------------------------------


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would exit 2 (CRITICAL)
        raise Usage(message)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="check_etcd.py", description="Nagios checks of the etcd charm's unit.")
    p.add_argument("--status-file", default=STATUS_PATH, help=f"default {STATUS_PATH}")
    sub = p.add_subparsers(dest="check", required=True, parser_class=_Parser)
    sub.add_parser("service", help=f"systemctl is-active {SERVICE}")
    sub.add_parser("health", help="this unit's member answers, has a leader, no errors")
    sub.add_parser("alarms", help="NOSPACE or CORRUPT raised on any member")
    db = sub.add_parser("dbsize", help="the database size against the backend quota")
    db.add_argument("-w", "--warning", default="80", help="percent of the quota (default 80)")
    db.add_argument("-c", "--critical", default="90", help="percent of the quota (default 90)")
    cert = sub.add_parser("cert", help="days until the server certificate expires")
    cert.add_argument("-w", "--warning", default="30", help="days (default 30)")
    cert.add_argument("-c", "--critical", default="7", help="days (default 7)")
    backup = sub.add_parser("backup", help="the last scheduled backup on this unit")
    backup.add_argument(
        "--last-file", default=BACKUP_LAST_PATH, help=f"default {BACKUP_LAST_PATH}"
    )
    return p


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None


def systemctl_state() -> tuple[str, str]:
    """(the first line ``systemctl is-active`` printed, an error when it could not run)."""
    try:
        proc = subprocess.run(
            ["systemctl", "is-active", SERVICE],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return "", str(e)
    lines = proc.stdout.strip().splitlines()
    return (lines[0] if lines else ""), proc.stderr.strip()


def run(
    argv: Sequence[str],
    read: Callable[[str], str | None] = read_text,
    state: Callable[[], tuple[str, str]] = systemctl_state,
    now: Callable[[], float] = time.time,
) -> tuple[str, Result]:
    """(the check's name, its result) for ``argv``."""
    args = parser().parse_args(list(argv))
    check = str(args.check)
    if check == "service":
        return check, evaluate_service(*state())
    if check == "backup":
        return check, evaluate_backup(read(args.last_file), now())
    record, problem = load(read(args.status_file), args.status_file)
    if record is None:
        assert problem is not None
        return check, problem
    if check == "health":
        return check, evaluate_health(record, now())
    if check == "alarms":
        return check, evaluate_alarms(record, now())
    if check == "dbsize":
        warn, crit = percent(args.warning, "-w"), percent(args.critical, "-c")
        return check, evaluate_dbsize(record, now(), warn, crit)
    warn, crit = days(args.warning, "-w"), days(args.critical, "-c")
    return check, evaluate_cert(record, now(), warn, crit)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    check = "check"
    try:
        check, result = run(argv)
    except Usage as e:
        result = Result(UNKNOWN, f"usage: {e}")
    except Exception as e:  # noqa: BLE001 - a plugin's failure is UNKNOWN, never a traceback
        result = Result(UNKNOWN, f"{type(e).__name__}: {e}")
    print(result.line(check))
    return result.code


if __name__ == "__main__":
    sys.exit(main())
