"""The Nagios plugin (lib/etcd_charm/check_etcd.py): its evaluations by tables, its
certificate parser against real certificates (made with ``cryptography``), its command line and
exit codes, and that it runs on the bases' Pythons with the standard library only."""

from __future__ import annotations

import datetime
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from etcd_charm import check_etcd as P

from .fixtures import DATA
from .test_base_pythons import need

PLUGIN = Path(P.__file__)
NOW = 1_800_000_000.0
DAY = 86400.0
GIB = 1 << 30


def record(**changes: Any) -> dict[str, Any]:
    """A fresh record of a healthy voter, 1 GiB of 2 GiB, no alarms, 100 days of certificate."""
    member = {
        "endpoint": "https://127.0.0.1:2379",
        "started": True,
        "reason": "",
        "answered": True,
        "id": "8e9e05c52164694d",
        "leader": "8e9e05c52164694d",
        "raft_term": 4,
        "is_learner": False,
        "errors": [],
        "db_size": GIB,
        "db_size_in_use": GIB // 2,
        "version": "3.5.16",
    }
    member.update(changes.pop("member", {}))
    base: dict[str, Any] = {
        "format": P.FORMAT,
        "collected_at": NOW - 30,
        "member": member,
        "alarms": [],
        "alarms_error": "",
        "quota_bytes": 2 * GIB,
        "cert": {"path": "/var/snap/etcd/common/server.crt", "not_after": NOW + 100 * DAY},
    }
    base.update(changes)
    return base


@pytest.mark.parametrize(
    "state, error, code, words",
    [
        ("active\n", "", P.OK, "is active"),
        ("activating", "", P.WARNING, "is activating"),
        ("reloading", "", P.WARNING, "is reloading"),
        ("inactive", "", P.CRITICAL, "is inactive"),
        ("failed", "", P.CRITICAL, "is failed"),
        ("deactivating", "", P.CRITICAL, "is deactivating"),
        ("", "Failed to connect to bus", P.UNKNOWN, "Failed to connect to bus"),
    ],
)
def test_service(state: str, error: str, code: int, words: str) -> None:
    result = P.evaluate_service(state, error)
    assert (result.code, words in result.text) == (code, True), result


STALE = {"collected_at": NOW - P.STALE_AFTER - 1}


@pytest.mark.parametrize(
    "changes, code, words",
    [
        ({}, P.OK, "member 8e9e05c52164694d answers on https://127.0.0.1:2379"),
        (STALE, P.CRITICAL, "last collected 5m ago"),
        ({"collected_at": NOW - 3 * 86400}, P.CRITICAL, "last collected 3d ago"),
        ({"collected_at": "yesterday"}, P.UNKNOWN, "does not say when"),
        ({"member": {"started": False, "reason": "Waiting for certificates"}}, P.CRITICAL,
         "runs no etcd member: Waiting for certificates"),
        ({"member": {"answered": False, "error": "context deadline exceeded"}}, P.CRITICAL,
         "does not answer: context deadline exceeded"),
        ({"member": {"leader": ""}}, P.CRITICAL, "no raft leader"),
        ({"member": {"errors": [P.NO_LEADER]}}, P.CRITICAL, "no raft leader"),
        ({"member": {"errors": ["memberID:10276657743932975437 alarm:NOSPACE "]}}, P.OK,
         "answers"),  # the alarms check's business
        ({"member": {"errors": ["etcdserver: request timed out"]}}, P.CRITICAL,
         "reports: etcdserver: request timed out"),
        ({"member": {"is_learner": True}}, P.WARNING, "learner catching up"),
    ],
)  # fmt: skip
def test_health(changes: dict[str, Any], code: int, words: str) -> None:
    result = P.evaluate_health(record(**changes), NOW)
    assert result.code == code and words in result.text, result


@pytest.mark.parametrize(
    "changes, code, words, perf",
    [
        ({}, P.OK, "no alarms raised", "alarms=0;;0;0"),
        ({"alarms": [{"member": "8e9e05c52164694d", "alarm": "NOSPACE"}]}, P.CRITICAL,
         "NOSPACE on member 8e9e05c52164694d (the database reached its quota", "alarms=1;;0;0"),
        ({"alarms": [{"member": "a", "alarm": "CORRUPT"}, {"member": "b", "alarm": "NOSPACE"}]},
         P.CRITICAL, "CORRUPT on member a, NOSPACE on member b", "alarms=2;;0;0"),
        ({"alarms": [{"member": "a", "alarm": "7"}]}, P.WARNING, "7 on member a", "alarms=1;;0;0"),
        ({"alarms": None, "alarms_error": "this unit's member does not answer"}, P.UNKNOWN,
         "cannot list etcd's alarms: this unit's member does not answer", ""),
        (STALE, P.CRITICAL, "last collected", ""),
    ],
)  # fmt: skip
def test_alarms(changes: dict[str, Any], code: int, words: str, perf: str) -> None:
    result = P.evaluate_alarms(record(**changes), NOW)
    assert (result.code, result.perfdata) == (code, perf) and words in result.text, result


@pytest.mark.parametrize(
    "size, quota, code, words",
    [
        (GIB, 2 * GIB, P.OK, "database 1.0 GiB of the 2.0 GiB quota (50.0%), 512.0 MiB in use"),
        (1717986918, 2 * GIB, P.OK, "(80.0%)"),  # 80% of 2 GiB is 1717986918.4 bytes
        (1717986919, 2 * GIB, P.WARNING, "(80.0%)"),
        (1932735283, 2 * GIB, P.WARNING, "(90.0%)"),  # 90% is 1932735283.2
        (1932735284, 2 * GIB, P.CRITICAL, "refuses writes"),
        (8 * GIB, 8 * GIB, P.CRITICAL, "(100.0%)"),
        (20480, 8 * GIB, P.OK, "20.0 KiB of the 8.0 GiB quota"),
    ],
)
def test_dbsize(size: int, quota: int, code: int, words: str) -> None:
    result = P.evaluate_dbsize(
        record(member={"db_size": size}, quota_bytes=quota), NOW, 80.0, 90.0
    )
    assert result.code == code and words in result.text, result
    warn, crit = math.ceil(quota * 0.8), math.ceil(quota * 0.9)
    assert result.perfdata.startswith(f"db_size={size}B;{warn};{crit};0;{quota} ")


@pytest.mark.parametrize(
    "changes, code, words",
    [
        ({"member": {"answered": False}}, P.UNKNOWN, "does not answer"),
        ({"quota_bytes": 0}, P.UNKNOWN, "no backend quota"),
        (STALE, P.CRITICAL, "last collected"),
    ],
)
def test_dbsize_without_data(changes: dict[str, Any], code: int, words: str) -> None:
    result = P.evaluate_dbsize(record(**changes), NOW, 80.0, 90.0)
    assert result.code == code and words in result.text, result


@pytest.mark.parametrize(
    "not_after, code, words, perf",
    [
        (NOW + 100 * DAY, P.OK, "expires in 100 days (2027-", "days_left=100.0;30:;7:"),
        (NOW + 29.5 * DAY, P.WARNING, "expires in 30 days", "days_left=29.5;30:;7:"),
        (NOW + 6 * DAY, P.CRITICAL, "expires in 6 days", "days_left=6.0;30:;7:"),
        (NOW - 2 * DAY, P.CRITICAL, "expired 2 days ago", "days_left=-2.0;30:;7:"),
        (None, P.CRITICAL, "cannot be read: no PEM certificate", ""),
    ],
)
def test_cert(not_after: float | None, code: int, words: str, perf: str) -> None:
    cert = {"path": "/var/snap/etcd/common/server.crt", "not_after": not_after}
    if not_after is None:
        cert["error"] = "no PEM certificate"
    result = P.evaluate_cert(record(cert=cert), NOW, 30.0, 7.0)
    assert (result.code, result.perfdata) == (code, perf) and words in result.text, result


def test_thresholds_in_the_wrong_order_are_refused() -> None:
    with pytest.raises(P.Usage, match="must be below"):
        P.evaluate_dbsize(record(), NOW, 90.0, 80.0)
    with pytest.raises(P.Usage, match="must be above"):
        P.evaluate_cert(record(), NOW, 7.0, 30.0)


@pytest.mark.parametrize(
    "text, code, words",
    [
        (None, P.UNKNOWN, "no status file /x: the etcd charm's collector has not run yet"),
        ("{", P.UNKNOWN, "is not JSON"),
        ('{"format": 99}', P.UNKNOWN, "is not of format 1"),
        ("[]", P.UNKNOWN, "is not of format 1"),
    ],
)
def test_an_unusable_status_file_is_unknown(text: str | None, code: int, words: str) -> None:
    loaded, problem = P.load(text, "/x")
    assert loaded is None and problem is not None
    assert problem.code == code and words in problem.text


# --- the certificate's notAfter --------------------------------------------------------------


def make_cert(not_after: datetime.datetime) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "10.0.0.1")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime.datetime(2024, 1, 1, tzinfo=datetime.timezone.utc))
        .not_valid_after(not_after)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), False)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(
    "not_after",
    [
        datetime.datetime(2026, 3, 4, 5, 6, 7, tzinfo=datetime.timezone.utc),  # UTCTime
        datetime.datetime(2049, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc),
        datetime.datetime(2051, 6, 1, 0, 0, 0, tzinfo=datetime.timezone.utc),  # GeneralizedTime
    ],
)
def test_not_after_is_read_from_the_certificate(not_after: datetime.datetime) -> None:
    pem = make_cert(not_after)
    chain = pem + make_cert(datetime.datetime(2030, 1, 1, tzinfo=datetime.timezone.utc))
    assert P.cert_not_after(chain) == not_after.timestamp()  # the first one: the server's


def test_not_after_of_the_fixture_certificate_agrees_with_cryptography() -> None:
    pem = (DATA / "certs" / "server.pem").read_text()
    expected = x509.load_pem_x509_certificate(pem.encode()).not_valid_after_utc.timestamp()
    assert P.cert_not_after(pem) == expected


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "no PEM certificate"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "no PEM certificate"),
        ("-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "bad PEM"),
        ("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n",
         "not an X.509 certificate"),  # a SEQUENCE of an INTEGER
        ("-----BEGIN CERTIFICATE-----\nMAU=\n-----END CERTIFICATE-----\n", "truncated DER"),
    ],
)  # fmt: skip
def test_a_malformed_certificate_raises_value_error(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        P.cert_not_after(text)


# --- the command line --------------------------------------------------------------------------


def run(argv: list[str], text: str | None, state: tuple[str, str] = ("active", "")) -> Any:
    return P.run(argv, read=lambda path: text, state=lambda: state, now=lambda: NOW)


def test_each_subcommand_evaluates_the_file() -> None:
    text = json.dumps(record(member={"db_size": int(1.7 * GIB)}))
    assert run(["service"], None, ("failed", ""))[1].code == P.CRITICAL
    assert run(["health"], text)[1].code == P.OK
    assert run(["alarms"], text)[1].code == P.OK
    assert run(["dbsize"], text)[1].code == P.WARNING  # 85% against the default 80/90
    assert run(["dbsize", "-w", "86", "-c", "95"], text)[1].code == P.OK
    assert run(["cert"], text)[1].code == P.OK
    assert run(["cert", "-w", "120", "-c", "7"], text)[1].code == P.WARNING


def test_the_status_line_is_one_line() -> None:
    result = P.evaluate_service("", "System has not been booted with systemd.\nFailed to connect")
    assert result.line("service") == (
        "ETCD-SERVICE UNKNOWN - cannot ask systemd about snap.etcd.etcd: System has not been "
        "booted with systemd.; Failed to connect"
    )


def test_the_status_line_has_the_state_and_perfdata() -> None:
    check, result = run(["dbsize"], json.dumps(record()))
    assert result.line(check) == (
        "ETCD-DBSIZE OK - database 1.0 GiB of the 2.0 GiB quota (50.0%), 512.0 MiB in use | "
        f"db_size={GIB}B;1717986919;1932735284;0;{2 * GIB} "
        f"db_size_in_use={GIB // 2}B;;;0;{2 * GIB}"
    )


@pytest.mark.parametrize(
    "argv, words",
    [
        ([], "the following arguments are required"),
        (["bogus"], "invalid choice"),
        (["dbsize", "-w", "lots"], "-w 'lots' is not a number"),
        (["dbsize", "-c", "120"], "is not a percentage"),
        (["cert", "-w", "-3"], "is negative"),
    ],
)
def test_bad_arguments_are_unknown(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status = tmp_path / "status.json"
    status.write_text(json.dumps(record()))
    code = P.main(["--status-file", str(status), *argv])
    out = capsys.readouterr().out
    assert code == P.UNKNOWN and out.startswith("ETCD-CHECK UNKNOWN - usage: ") and words in out


def test_an_unexpected_error_is_unknown_not_a_traceback(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "dir.json").mkdir()  # reading a directory raises IsADirectoryError
    code = P.main(["--status-file", str(tmp_path / "dir.json"), "health"])
    out = capsys.readouterr().out
    assert code == P.UNKNOWN and out.startswith("ETCD-CHECK UNKNOWN - IsADirectoryError")


@pytest.mark.parametrize("python", ["system", "3.10", "3.12"])
def test_the_plugin_runs_on_the_bases_pythons_without_the_charm(
    python: str, tmp_path: Path
) -> None:
    """Run as NRPE runs it: the installed file alone, ``-I`` (no user site-packages, no
    PYTHONPATH): only the standard library."""
    interpreter = "/usr/bin/python3" if python == "system" else need(python)
    installed = tmp_path / "check_etcd.py"
    installed.write_text(PLUGIN.read_text())
    status = tmp_path / "status.json"
    status.write_text(json.dumps(record(collected_at=0)))  # stale: CRITICAL
    proc = subprocess.run(
        [interpreter, "-I", str(installed), "--status-file", str(status), "alarms"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == P.CRITICAL, proc.stderr
    assert proc.stdout.startswith("ETCD-ALARMS CRITICAL - etcd's state was last collected ")
    assert len(proc.stdout.splitlines()) == 1


def test_the_plugin_is_an_executable_for_the_machines_python() -> None:
    assert PLUGIN.read_text().startswith("#!/usr/bin/python3\n")
    assert PLUGIN.stat().st_mode & 0o111 == 0o111


def test_the_backup_check_follows_the_last_scheduled_run() -> None:
    from etcd_charm import backup_schedule

    assert P.BACKUP_LAST_PATH == backup_schedule.LAST_PATH  # the file the run writes
    ok = backup_schedule.Outcome(
        True, NOW - 3 * 3600, 2.0, "2027-01-15T05:00:00Z", "etcd/0:/var/snap/etcd/common/backups",
        3 << 20, 42,
    )  # fmt: skip
    failed = backup_schedule.Outcome(False, NOW - 60, 0.5, error="no healthy member")

    def check(text: str | None) -> P.Result:
        return P.run(["backup"], read=lambda path: text, now=lambda: NOW)[1]

    r = check(ok.to_json())
    assert (r.code, r.line("backup")) == (
        P.OK,
        "ETCD-BACKUP OK - backup 2027-01-15T05:00:00Z in etcd/0:/var/snap/etcd/common/backups "
        "(3.0 MiB), taken 3h ago | age=10800s;;;0 size=3145728B;;;0",
    )
    r = check(failed.to_json())
    assert r.code == P.CRITICAL
    assert r.text == "the scheduled backup of 2027-01-15 07:59 UTC failed: no healthy member"
    assert check(None).code == P.OK and "no scheduled backup" in check(None).text
    assert check("{broken").code == P.UNKNOWN
