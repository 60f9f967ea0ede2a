"""Charm config -> settings or clear errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from etcd_charm.settings import (
    DEFAULT_CIPHER_SUITES,
    channel_refusal,
    parse_channel,
    parse_settings,
    version_tuple,
)

from .fixtures import config_defaults

ROOT = Path(__file__).resolve().parents[1]


defaults = config_defaults


def test_config_yaml_keeps_the_etcd_charm_options_and_defaults() -> None:
    assert defaults() == {
        "port": 2379,
        "management_port": 2380,
        "channel": "auto",
        "heartbeat_interval": 100,
        "election_timeout": 1000,
        "snapshot_count": "auto",
        "snapd_refresh": "max",
        "bind_to_all_interfaces": True,
        "bind_with_insecure_http": False,
        "tls_cipher_suites": "",
        # layer:nagios' options, as the old charm has them
        "nagios_context": "juju",
        "nagios_servicegroups": "",
        # this charm's own
        "metrics_port": 0,
        "backup_schedule": "",
        "backup_retention": 7,
    }


def test_defaults_are_valid() -> None:
    settings, errors = parse_settings(defaults())
    assert errors == [] and settings is not None
    assert settings.channel == "auto"
    assert settings.effective_cipher_suites() == DEFAULT_CIPHER_SUITES
    assert settings.effective_snapshot_count("3.5.16") == 100000
    assert settings.effective_snapshot_count("3.2.0") == 10000


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"port": "abc"}, "port='abc' is not an integer"),
        ({"port": 70000}, "port=70000 is out of range (1-65535)"),
        ({"management_port": 2379}, "port and management_port are both 2379: they must differ"),
        ({"channel": "banana"}, "channel 'banana' is not a snap channel"),
        ({"channel": "3.5/sometimes"}, "has unknown risk 'sometimes'"),
        ({"channel": "2.3/stable"}, "etcd 2.3 is not supported by this charm"),
        ({"tls_cipher_suites": "TLS_NOPE"}, "unknown cipher suite 'TLS_NOPE'"),
        ({"tls_cipher_suites": "TLS_RSA_WITH_AES_128_CBC_SHA"}, "is a weak (CBC/RC4) suite"),
        ({"heartbeat_interval": 500}, "election_timeout=1000 must be at least 5 times"),
        ({"snapshot_count": "lots"}, "snapshot_count='lots' is neither auto nor an integer"),
        ({"snapshot_count": "0"}, "snapshot_count=0 is out of range"),
        ({"bind_with_insecure_http": True, "port": 4001}, "port 4001 is taken"),
        ({"bind_to_all_interfaces": "maybe"}, "bind_to_all_interfaces='maybe' is not a boolean"),
        # a newline would end OnCalendar= and start another line of the timer unit
        ({"backup_schedule": "daily\nExecStart=/bin/sh"}, "not a systemd calendar expression"),
        ({"backup_schedule": "daily; rm -rf /"}, "backup_schedule='daily; rm -rf /'"),
        ({"backup_retention": -1}, "backup_retention=-1 is out of range (0-100000)"),
        ({"backup_retention": "many"}, "backup_retention='many' is not an integer"),
    ],
)
def test_invalid_values_give_clear_errors(change: dict[str, Any], message: str) -> None:
    settings, errors = parse_settings({**defaults(), **change})
    assert settings is None
    assert any(message in e for e in errors), errors


def test_a_backup_schedule_is_kept_with_its_spaces_folded() -> None:
    settings, errors = parse_settings(
        {**defaults(), "backup_schedule": "  Mon..Fri   *-*-* 02:00:00 ", "backup_retention": 0}
    )
    assert errors == [] and settings is not None
    assert settings.backup_schedule == "Mon..Fri *-*-* 02:00:00"
    assert settings.backup_retention == 0


def test_every_error_is_reported_at_once() -> None:
    _, errors = parse_settings(
        {**defaults(), "port": 0, "channel": "x y", "heartbeat_interval": 5}
    )
    assert len(errors) == 3


def test_valid_values() -> None:
    settings, errors = parse_settings(
        {
            **defaults(),
            "channel": "3.4",
            "snapshot_count": "5000",
            "tls_cipher_suites": " TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 ,"
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        }
    )
    assert errors == [] and settings is not None
    assert settings.channel == "3.4/stable"
    assert settings.snapshot_count == 5000
    assert settings.tls_cipher_suites == (
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    )


@pytest.mark.parametrize(
    ("text", "channel"),
    [("3.5", "3.5/stable"), ("3.4/edge", "3.4/edge"), ("latest", "latest/stable")],
)
def test_parse_channel(text: str, channel: str) -> None:
    assert parse_channel(text) == (channel, None)


def test_version_tuple() -> None:
    assert version_tuple("3.5.16") == (3, 5, 16)
    assert version_tuple("v3.4.23") == (3, 4, 23)
    assert version_tuple("3.6.0-rc.1") == (3, 6, 0)


@pytest.mark.parametrize(
    ("installed", "tracking", "channel", "fragment"),
    [
        # fresh units: any supported track, or latest
        (None, "", "3.4/stable", ""),
        (None, "", "latest/stable", ""),
        (None, "", "3.6/stable", "etcd 3.6 is not supported by this charm (supported: 3.4, 3.5)"),
        # installed: auto and the tracked channel change nothing
        ("3.4.23", "3.4/stable", "auto", ""),
        ("3.4.23", "3.4/stable", "3.4/stable", ""),
        # one minor version up, or another risk of the same track
        ("3.4.23", "3.4/stable", "3.5/stable", ""),
        ("3.5.16", "3.5/stable", "3.5/edge", ""),
        # refused, naming the allowed step
        ("3.5.16", "3.5/stable", "3.4/stable", "would downgrade etcd 3.5.16; downgrades are not"),
        ("3.4.23", "3.4/stable", "3.6/stable", "from 3.4.23 the next step is 3.5/stable"),
        ("3.4.23", "3.4/stable", "latest/stable", "name the track; the next step is 3.5/stable"),
        ("3.5.16", "3.5/stable", "3.6/stable", "etcd 3.6 is not supported by this charm"),
    ],
)
def test_channel_refusal(
    installed: str | None, tracking: str, channel: str, fragment: str
) -> None:
    why = channel_refusal(installed, tracking, channel)
    assert (fragment in why) if fragment else why == "", why


@pytest.mark.parametrize(
    "change, error",
    [
        ({"metrics_port": 2379}, "metrics_port=2379 is taken by port"),
        ({"metrics_port": 2380}, "metrics_port=2380 is taken by management_port"),
        (
            {"metrics_port": 4001, "bind_with_insecure_http": True},
            "metrics_port=4001 is taken by bind_with_insecure_http",
        ),
        ({"metrics_port": 70000}, "metrics_port=70000 is out of range (0-65535)"),
        ({"metrics_port": "x"}, "metrics_port='x' is not an integer"),
        ({"nagios_context": "my ctx"}, "nagios_context='my ctx': only letters"),
        ({"nagios_servicegroups": "a;b"}, "nagios_servicegroups='a;b': only letters"),
    ],
)
def test_metrics_and_nagios_options_refused(change: dict, error: str) -> None:
    settings, errors = parse_settings({**config_defaults(), **change})
    assert settings is None
    assert any(e.startswith(error) for e in errors), errors


def test_metrics_and_nagios_defaults() -> None:
    settings, errors = parse_settings(config_defaults())
    assert settings is not None, errors
    assert (settings.metrics_port, settings.nagios_context, settings.nagios_servicegroups) == (
        0,
        "juju",
        "",
    )
    custom, _ = parse_settings(
        {**config_defaults(), "metrics_port": 9379, "nagios_servicegroups": "etcd,k8s"}
    )
    assert custom is not None and custom.metrics_port == 9379
    assert custom.nagios_servicegroups == "etcd,k8s"
