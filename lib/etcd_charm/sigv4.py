"""AWS Signature Version 4 for S3 requests, with the standard library only (the charm ships
no boto3: docs/backup-research.md, section 3). Pure: it signs, it does not send.

The steps are AWS's: a canonical request (method, URI path, sorted query, sorted lower-case
headers, signed header names, payload hash), the string to sign (algorithm, time, scope, hash
of the canonical request), the signing key (HMAC chain over date, region, service and
``aws4_request``) and the ``Authorization`` header. Keys never leave this module except inside
that header, which is never logged.
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import urllib.parse
from collections.abc import Mapping

ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED = "UNSIGNED-PAYLOAD"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service),
    "aws4_request"); ``date`` is ``YYYYMMDD``."""
    k = _hmac(("AWS4" + secret_key).encode(), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def _quote(s: str, safe: str) -> str:
    return urllib.parse.quote(s, safe=safe)


def canonical_query(query: str) -> str:
    """Query parameters URI-encoded and sorted by name, then value."""
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    encoded = sorted((_quote(k, "-_.~"), _quote(v, "-_.~")) for k, v in pairs)
    return "&".join(f"{k}={v}" for k, v in encoded)


def canonical_request(
    method: str, path: str, query: str, headers: Mapping[str, str], payload_hash: str
) -> tuple[str, str]:
    """(canonical request, signed header names). ``path`` is used as given, already
    encoded once (S3 does not encode it a second time)."""
    canon = {k.lower().strip(): " ".join(str(v).split()) for k, v in headers.items()}
    names = sorted(canon)
    signed = ";".join(names)
    lines = [
        method.upper(),
        path or "/",
        canonical_query(query),
        "".join(f"{n}:{canon[n]}\n" for n in names),
        signed,
        payload_hash,
    ]
    return "\n".join(lines), signed


def authorization(
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload_hash: str,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    when: datetime.datetime,
) -> str:
    """The ``Authorization`` header value; ``headers`` must hold the ``host`` and
    ``x-amz-date`` (``when`` as ``YYYYMMDDTHHMMSSZ``) the request sends."""
    stamp = when.astimezone(datetime.timezone.utc)
    amz_date, date = stamp.strftime("%Y%m%dT%H%M%SZ"), stamp.strftime("%Y%m%d")
    request, signed = canonical_request(method, path, query, headers, payload_hash)
    scope = f"{date}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, amz_date, scope, hashlib.sha256(request.encode()).hexdigest()])
    signature = hmac.new(
        signing_key(secret_key, date, region, service), to_sign.encode(), hashlib.sha256
    ).hexdigest()
    return f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={signed}, Signature={signature}"
