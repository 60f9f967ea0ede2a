"""What the nrpe-external-master relation registers (lib/etcd_charm/nagios.py) and the collector
(lib/etcd_charm/nagios_collect.py) against etcdctl output captured from real clusters: the
record it writes, what it reuses from the hook, and that the plugin reads it."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from etcd_charm import check_etcd as P
from etcd_charm import etcd_conf as C
from etcd_charm import nagios, nagios_collect
from etcd_charm.etcd_json import Alarm, parse_endpoint_status
from etcd_charm.etcdctl import Etcdctl

from .fixtures import DATA, capture, charmhelpers_nrpe

ENDPOINT = "https://127.0.0.1:60517"  # etcd0 of the 3.5.16 captures
NOW = 1_800_000_000.0
#: Nagios' default illegal_object_name_chars (charm-helpers' Check quotes them)
ILLEGAL = set("`~!$%^&*\"|'<>?,()=")


def test_the_checks_and_their_commands() -> None:
    defs = nagios.checks("juju:etcd/0", "/usr/local/lib/nagios/plugins/check_etcd.py")
    assert [(nagios.command(d.shortname), d.check_cmd.split(" ", 1)[1]) for d in defs] == [
        ("check_snap.etcd.etcd", "service"),  # layer-etcd's names first
        ("check_etcd-health", "health"),
        ("check_etcd-alarms", "alarms"),
        ("check_etcd-dbsize", "dbsize -w 80 -c 90"),
        ("check_etcd-cert", "cert -w 30 -c 7"),
        ("check_etcd-backup", "backup"),
    ]
    for d in defs:
        assert re.match(charmhelpers_nrpe().Check.shortname_re, d.shortname), d
        assert d.check_cmd.startswith("/usr/local/lib/nagios/plugins/check_etcd.py ")
        assert "{juju:etcd/0}" in d.description and not ILLEGAL & set(d.description), d
    # every command is one the plugin's parser accepts
    for d in defs:
        P.parser().parse_args(d.check_cmd.split()[1:])


def test_the_registration_hash_follows_what_the_files_depend_on() -> None:
    defs = nagios.checks("etcd/0")
    base = nagios.registration_hash(defs, "juju-etcd-0", "juju", "", ["nrpe-external-master:5"])
    same = nagios.registration_hash(defs, "juju-etcd-0", "juju", "", ["nrpe-external-master:5"])
    assert base == same
    changed = [
        nagios.registration_hash(nagios.checks("etcd/1"), "juju-etcd-0", "juju", "", ["n:5"]),
        nagios.registration_hash(defs, "juju-etcd-1", "juju", "", ["nrpe-external-master:5"]),
        nagios.registration_hash(defs, "juju-etcd-0", "prod", "", ["nrpe-external-master:5"]),
        nagios.registration_hash(defs, "juju-etcd-0", "juju", "k8s", ["nrpe-external-master:5"]),
        nagios.registration_hash(defs, "juju-etcd-0", "juju", "", ["nrpe-external-master:6"]),
    ]
    assert len({base, *changed}) == 1 + len(changed)
    assert nagios.registration_hash(defs, "h", "c", "", ["a:1", "a:2"]) == (
        nagios.registration_hash(defs, "h", "c", "", ["a:2", "a:1"])
    )


@pytest.mark.parametrize(
    "conf, quota",
    [
        ("quota-backend-bytes: 0\n", 2 << 30),
        ("quota-backend-bytes: 8589934592\n", 8 << 30),
        ("name: etcd0\n", 2 << 30),
        ("", 2 << 30),
        ("quota-backend-bytes: lots\n", 2 << 30),
        ("[unclosed", 2 << 30),
        ((Path(__file__).parents[1] / "templates" / "etcd3.conf").read_text(), 2 << 30),
    ],
)
def test_the_quota_etcd_runs_with(conf: str, quota: int) -> None:
    assert nagios.quota_bytes(conf) == quota


def test_the_collector_units() -> None:
    units = nagios.collector_units("/usr/bin/python3", "/var/lib/juju/agents/unit-etcd-0/charm",
                                   "https://127.0.0.1:2379")  # fmt: skip
    service, timer = units["etcd-nagios-collect.service"], units["etcd-nagios-collect.timer"]
    assert "Type=oneshot\n" in service
    assert (
        "Environment=PYTHONPATH=/var/lib/juju/agents/unit-etcd-0/charm/lib:"
        "/var/lib/juju/agents/unit-etcd-0/charm/venv\n"
    ) in service
    assert (
        "ExecStart=/usr/bin/python3 -m etcd_charm.nagios_collect "
        "--endpoint https://127.0.0.1:2379\n"
    ) in service
    assert "OnActiveSec=60s\nOnUnitActiveSec=60s\n" in timer
    assert "[Install]\nWantedBy=timers.target\n" in timer
    assert P.STALE_AFTER >= 3 * P.INTERVAL  # a few missed runs before the checks alarm


# --- the collector ---------------------------------------------------------------------------


class Runner:
    """etcdctl answering ``endpoint status`` from a capture and ``alarm list`` as given."""

    def __init__(self, status: str = "endpoint-status-1", alarms: str = '{"alarms":[]}'):
        self.status, self.alarms = capture("3.5.16", status), alarms
        self.calls: list[list[str]] = []

    def __call__(
        self, argv: list[str], env: dict[str, str], timeout: float
    ) -> subprocess.CompletedProcess[str]:
        args = [a for a in argv[1:] if not a.startswith("--") and a not in ("-w", "json")]
        self.calls.append(args)
        if args == ["endpoint", "status"]:
            c = self.status
            return subprocess.CompletedProcess(argv, c["rc"], c["stdout"], c["stderr"])
        assert args == ["alarm", "list"], args
        return subprocess.CompletedProcess(argv, 0, self.alarms, "")


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """etcd's config and the placed certificates, in tmp_path."""
    for name in ("CONF_PATH", "SERVER_CERT_PATH", "CLIENT_KEY_PATH"):
        monkeypatch.setattr(C, name, str(tmp_path / name.lower()))
    (tmp_path / "conf_path").write_text("name: etcd0\nquota-backend-bytes: 4294967296\n")
    (tmp_path / "server_cert_path").write_text(
        (DATA / "certs" / "server.pem").read_text() + (DATA / "certs" / "ca.pem").read_text()
    )
    (tmp_path / "client_key_path").write_text((DATA / "certs" / "client-key.pem").read_text())
    return tmp_path


def ctl(runner: Runner) -> Etcdctl:
    return Etcdctl([ENDPOINT], "ca", "cert", str(C.CLIENT_KEY_PATH), runner=runner)


NOSPACE = '{"alarms":[{"memberID":9206687189984931489,"alarm":1}]}'


def test_the_timer_collects_status_alarms_quota_and_certificate(files: Path) -> None:
    runner, out = Runner(alarms=NOSPACE), files / "status.json"
    record = nagios_collect.collect(ENDPOINT, None, str(out), lambda: NOW, ctl(runner))
    assert runner.calls == [["endpoint", "status"], ["alarm", "list"]]
    assert json.loads(out.read_text()) == record
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    expected_expiry = x509.load_pem_x509_certificate(
        (DATA / "certs" / "server.pem").read_bytes()
    ).not_valid_after_utc.timestamp()
    assert record == {
        "format": 1,
        "collected_at": NOW,
        "member": {
            "endpoint": ENDPOINT, "started": True, "reason": "", "answered": True,
            "id": "7fc4b9385d30eea1", "leader": "7fc4b9385d30eea1", "raft_term": 2,
            "is_learner": False, "errors": [], "db_size": 20480, "db_size_in_use": 16384,
            "version": "3.5.16",
        },
        "alarms": [{"member": "7fc4b9385d30eea1", "alarm": "NOSPACE"}],
        "alarms_error": "",
        "quota_bytes": 4 << 30,
        "cert": {"path": str(files / "server_cert_path"), "not_after": expected_expiry},
    }  # fmt: skip
    text = out.read_text()
    assert "PRIVATE KEY" not in text and "BEGIN" not in text  # no key, no certificate
    # what the plugin makes of it
    assert P.evaluate_alarms(record, NOW).code == P.CRITICAL
    assert P.evaluate_health(record, NOW).code == P.OK
    assert P.evaluate_dbsize(record, NOW, 80, 90).code == P.OK


def test_a_hook_s_status_is_reused(files: Path) -> None:
    runner = Runner()
    status = parse_endpoint_status(capture("3.5.16", "endpoint-status-learner")["stdout"])[0]
    seen = nagios_collect.Seen(started=True, asked=True, status=status)
    record = nagios_collect.collect(
        status.endpoint, seen, str(files / "s.json"), lambda: NOW, ctl(runner)
    )
    assert runner.calls == [["alarm", "list"]]  # no second endpoint status
    assert record["member"]["is_learner"] is True
    assert P.evaluate_health(record, NOW).code == P.WARNING


def test_a_member_not_started_is_not_asked(files: Path) -> None:
    runner = Runner()
    seen = nagios_collect.Seen(started=False, reason="Waiting for certificates")
    record = nagios_collect.collect(ENDPOINT, seen, str(files / "s.json"), lambda: NOW,
                                    ctl(runner))  # fmt: skip
    assert runner.calls == []
    assert record["member"] == {
        "endpoint": ENDPOINT, "started": False, "reason": "Waiting for certificates",
        "answered": False, "error": "not started",
    }  # fmt: skip
    assert record["alarms"] is None
    result = P.evaluate_health(record, NOW)
    assert (result.code, result.text) == (
        P.CRITICAL, "this unit runs no etcd member: Waiting for certificates"
    )  # fmt: skip
    assert P.evaluate_alarms(record, NOW).code == P.UNKNOWN
    assert P.evaluate_dbsize(record, NOW, 80, 90).code == P.UNKNOWN


def test_the_timer_before_the_member_started(files: Path) -> None:
    (files / "conf_path").unlink()
    (files / "server_cert_path").unlink()
    runner = Runner()
    record = nagios_collect.collect(ENDPOINT, None, str(files / "s.json"), lambda: NOW,
                                    ctl(runner))  # fmt: skip
    assert runner.calls == []
    assert record["member"]["reason"] == nagios_collect.NOT_STARTED
    assert record["quota_bytes"] == 2 << 30
    assert record["cert"]["error"] == "no certificate placed yet"
    assert P.evaluate_cert(record, NOW, 30, 7).code == P.CRITICAL


def test_a_member_that_does_not_answer(files: Path) -> None:
    runner = Runner(status="endpoint-status-refused")
    record = nagios_collect.collect(ENDPOINT, None, str(files / "s.json"), lambda: NOW,
                                    ctl(runner))  # fmt: skip
    member = record["member"]
    assert member["answered"] is False and "context deadline exceeded" in member["error"]
    assert runner.calls == [["endpoint", "status"]]  # no alarm list without an answer
    result = P.evaluate_health(record, NOW)
    assert result.code == P.CRITICAL and "does not answer" in result.text


def test_a_hook_that_did_not_ask_a_started_member_asks_it(files: Path) -> None:
    runner = Runner()
    seen = nagios_collect.Seen(started=True, reason="Waiting for a turn to restart")
    record = nagios_collect.collect(ENDPOINT, seen, str(files / "s.json"), lambda: NOW,
                                    ctl(runner))  # fmt: skip
    assert runner.calls == [["endpoint", "status"], ["alarm", "list"]]
    assert record["member"]["answered"] is True


def test_an_unreadable_certificate(files: Path) -> None:
    (files / "server_cert_path").write_text("garbage\n")
    record = nagios_collect.collect(ENDPOINT, None, str(files / "s.json"), lambda: NOW,
                                    ctl(Runner()))  # fmt: skip
    assert record["cert"] == {
        "path": str(files / "server_cert_path"), "not_after": None, "error": "no PEM certificate"
    }  # fmt: skip
    result = P.evaluate_cert(record, NOW, 30, 7)
    assert result.code == P.CRITICAL and "cannot be read: no PEM certificate" in result.text


def test_the_record_of_alarms_names_members_in_hex() -> None:
    record = nagios.status_record(
        NOW, {}, [Alarm(member_id=255, alarm="CORRUPT")], "", 1, "/c", None, ""
    )
    assert record["alarms"] == [{"member": "ff", "alarm": "CORRUPT"}]
    assert record["alarms_error"] == "" and record["cert"]["error"] == "unreadable"
