"""A healthy status names a server or client certificate that expires within 30 days, or has
expired (the CA must renew it before etcd's peers stop talking)."""

from __future__ import annotations

import datetime

import pytest

from etcd_charm import health, tls
from etcd_charm import status as S

from .test_check_etcd import make_cert

NOW = datetime.datetime(2026, 12, 5, 12, 0, 0, tzinfo=datetime.timezone.utc)
DAY = 86400.0


@pytest.mark.parametrize(
    ("days_left", "note"),
    [
        (365.0, ""),
        (30.5, ""),
        (30.0, "the server certificate expires in 30 days"),
        (12.9, "the server certificate expires in 12 days"),
        (1.5, "the server certificate expires in 1 day"),
        (0.2, "the server certificate expires within a day"),
        (0.0, "the server certificate expired 0 days ago"),
        (-1.5, "the server certificate expired 1 day ago"),
        (-40.0, "the server certificate expired 40 days ago"),
    ],
)
def test_the_note_by_days_left(days_left: float, note: str) -> None:
    now = NOW.timestamp()
    assert S.certificate_note("server", now + days_left * DAY, now) == note


def test_an_unreadable_certificate_adds_nothing() -> None:
    assert S.certificate_note("client", None, NOW.timestamp()) == ""


def material(server_days: float, client_days: float) -> tls.Material:
    def cert(days: float) -> str:
        return make_cert(NOW + datetime.timedelta(days=days))

    return tls.Material(
        ca=cert(3650),
        server_cert=cert(server_days),
        server_key="",
        client_cert=cert(client_days),
        client_key="",
    )


@pytest.mark.parametrize(
    ("server", "client", "notes"),
    [
        (3650, 3650, []),
        (10.5, 3650, ["the server certificate expires in 10 days"]),
        (
            3650,
            -2.5,
            ["the client certificate expired 2 days ago"],
        ),
        (
            20.5,
            5.5,
            [
                "the server certificate expires in 20 days",
                "the client certificate expires in 5 days",
            ],
        ),
    ],
)
def test_the_placed_certificates_notes(server: float, client: float, notes: list[str]) -> None:
    assert health.certificate_notes(material(server, client), NOW.timestamp()) == notes


def test_no_material_or_an_unparsable_certificate_adds_nothing() -> None:
    assert health.certificate_notes(None, NOW.timestamp()) == []
    broken = tls.Material(
        ca="", server_cert="not a PEM", server_key="", client_cert="", client_key=""
    )
    assert health.certificate_notes(broken, NOW.timestamp()) == []
