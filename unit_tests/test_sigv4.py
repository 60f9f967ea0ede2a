"""Signature Version 4, checked against AWS's own worked example (the IAM ListUsers request of
the SigV4 documentation: its signing key and final signature are published)."""

from __future__ import annotations

import datetime

from etcd_charm import sigv4

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
WHEN = datetime.datetime(2015, 8, 30, 12, 36, 0, tzinfo=datetime.timezone.utc)
HEADERS = {
    "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
    "Host": "iam.amazonaws.com",
    "X-Amz-Date": "20150830T123600Z",
}


def test_the_signing_key_of_aws_s_example() -> None:
    key = sigv4.signing_key(SECRET, "20150830", "us-east-1", "iam")
    assert key.hex() == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9"


def test_the_canonical_request_of_aws_s_example() -> None:
    request, signed = sigv4.canonical_request(
        "GET", "/", "Action=ListUsers&Version=2010-05-08", HEADERS, sigv4.EMPTY_SHA256
    )
    assert signed == "content-type;host;x-amz-date"
    assert request.split("\n")[:3] == ["GET", "/", "Action=ListUsers&Version=2010-05-08"]


def test_the_signature_of_aws_s_example() -> None:
    value = sigv4.authorization(
        "GET", "/", "Action=ListUsers&Version=2010-05-08", HEADERS, sigv4.EMPTY_SHA256,
        "AKIDEXAMPLE", SECRET, "us-east-1", "iam", WHEN,
    )  # fmt: skip
    assert value == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
        "SignedHeaders=content-type;host;x-amz-date, "
        "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
    )


def test_the_query_is_sorted_and_encoded() -> None:
    assert sigv4.canonical_query("prefix=etcd/a b&list-type=2") == (
        "list-type=2&prefix=etcd%2Fa%20b"
    )
