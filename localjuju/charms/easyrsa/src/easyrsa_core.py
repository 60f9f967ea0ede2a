"""Pure core of the built-in easyrsa charm: the CA, certificate issuing and request answering.

Everything here is a function of data (no hook tools, no files), so it is unit-testable without
Juju. It reproduces what charmed-kubernetes/layer-easyrsa does with EasyRSA 3.0.9 and the
provider side of the reactive tls-certificates interface:

* CA: RSA 2048, SHA-256, 3650 days, subject ``CN=<ingress address of "client">``, extensions of
  EasyRSA's ``v3_ca`` section (basicConstraints CA:TRUE, keyUsage cRLSign+keyCertSign, subject and
  authority key identifiers; none critical, as EasyRSA writes them).
* Server certificates (``build-server-full``): RSA 2048, 825 days, ``CN=<common_name>``, SANs from
  the request (IPs as IPAddress, the rest as DNSName; with no SANs EasyRSA adds the CN), keyUsage
  digitalSignature+keyEncipherment, extendedKeyUsage clientAuth+serverAuth (the charm rewrites
  EasyRSA's ``x509-types/server`` to add clientAuth).
* Client certificates (``build-client-full``): ``CN=<name>``, no SANs, keyUsage digitalSignature,
  extendedKeyUsage clientAuth. The global client certificate is the one named ``client``.
* Issued certificates are kept by (type, common name) like EasyRSA's ``pki/issued/<name>.crt``:
  a server certificate is re-issued (new key) only when its sorted SAN list changes; a client
  certificate is never re-issued.
* A request is "handled" when a certificate for it is published in our unit bucket and its sorted
  SAN list equals the one recorded when it was answered (the interface's ``data_changed`` key
  ``<relation_id>.<U_>.<cn>``, or ``<relation_id>.app_cert`` for application requests).

State is a JSON-serialisable dict (see `new_state`) that the shell persists between hooks.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

EASYRSA_VERSION = "3.0.9"  # the EasyRSA release whose defaults are reproduced
KEY_SIZE = 2048  # EASYRSA_KEY_SIZE
CA_DAYS = 3650  # EASYRSA_CA_EXPIRE
CERT_DAYS = 825  # EASYRSA_CERT_EXPIRE
GLOBAL_CLIENT_NAME = "client"  # create_client_certificate() default name

SERVER = "server"
CLIENT = "client"
APPLICATION = "application"
INTERMEDIATE = "intermediate"
KINDS = (SERVER, CLIENT, APPLICATION, INTERMEDIATE)

# Leader settings keys (as the real charm).
LEADER_CA = "certificate_authority"
LEADER_CA_KEY = "certificate_authority_key"
LEADER_CA_SERIAL = "certificate_authority_serial"
LEADER_CLIENT_CERT = "client_certificate"
LEADER_CLIENT_KEY = "client_key"


# ---------------------------------------------------------------------------------------------
# Certificates


@dataclass(frozen=True)
class CertificateAuthority:
    cert_pem: str
    key_pem: str
    serial: str  # the leader setting certificate_authority_serial (hex, newline-terminated)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)


def _new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)


def _key_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def _cert_pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _cn_name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def is_ip(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


def general_names(sans: Iterable[str]) -> list[x509.GeneralName]:
    """SAN strings -> GeneralNames in request order: IPs as IPAddress, others as DNSName."""
    names: list[x509.GeneralName] = []
    seen: set[str] = set()
    for san in sans:
        san = str(san).strip()
        if not san or san in seen:
            continue
        seen.add(san)
        if is_ip(san):
            names.append(x509.IPAddress(ipaddress.ip_address(san)))
        else:
            names.append(x509.DNSName(san))
    return names


def sorted_sans(sans: Iterable[str] | None) -> list[str]:
    """The interface's comparison form: ``sorted(set(sans or []))``."""
    return sorted({str(s) for s in (sans or [])})


def create_ca(common_name: str, now: datetime.datetime | None = None) -> CertificateAuthority:
    """A self-signed CA as ``easyrsa --batch --req-cn=<cn> build-ca nopass`` makes it."""
    now = now or _now()
    key = _new_key()
    name = _cn_name(common_name)
    serial = x509.random_serial_number()
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(ski, critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(
                key_identifier=ski.digest,
                authority_cert_issuer=[x509.DirectoryName(name)],
                authority_cert_serial_number=serial,
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    return CertificateAuthority(_cert_pem(cert), _key_pem(key), format(serial, "X") + "\n")


def _load_ca(ca: CertificateAuthority) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    cert = x509.load_pem_x509_certificate(ca.cert_pem.encode())
    key = serialization.load_pem_private_key(ca.key_pem.encode(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("the CA key is not an RSA key")
    return cert, key


def issue_certificate(
    ca: CertificateAuthority,
    kind: str,
    common_name: str,
    sans: Sequence[str] | None = None,
    now: datetime.datetime | None = None,
) -> tuple[str, str]:
    """Issue (cert_pem, key_pem) of `kind` signed by `ca`, with a new RSA key.

    server/application: serverAuth+clientAuth, SANs as given (the CN when none);
    client: clientAuth, no SANs (EasyRSA's build-client-full ignores the request's SANs);
    intermediate: a CA certificate (pathlen 0) for a subordinate CA.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown certificate type {kind!r}")
    now = now or _now()
    ca_cert, ca_key = _load_ca(ca)
    key = _new_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    builder = (
        x509.CertificateBuilder()
        .subject_name(_cn_name(common_name))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=CERT_DAYS))
        .add_extension(
            x509.BasicConstraints(
                ca=kind == INTERMEDIATE, path_length=0 if kind == INTERMEDIATE else None
            ),
            critical=kind == INTERMEDIATE,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier(
                key_identifier=ca_ski.digest,
                authority_cert_issuer=[x509.DirectoryName(ca_cert.issuer)],
                authority_cert_serial_number=ca_cert.serial_number,
            ),
            critical=False,
        )
    )
    if kind in (SERVER, APPLICATION):
        builder = builder.add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH]
            ),
            critical=False,
        ).add_extension(_key_usage(digital_signature=True, key_encipherment=True), critical=False)
        names = general_names(sans or []) or general_names([common_name])
        builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    elif kind == CLIENT:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False
        ).add_extension(_key_usage(digital_signature=True), critical=False)
    else:
        builder = builder.add_extension(
            _key_usage(key_cert_sign=True, crl_sign=True), critical=True
        )
        names = general_names(sans or [])
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    return _cert_pem(cert), _key_pem(key)


def describe_certificate(cert_pem: str) -> tuple[str, list[str]]:
    """(kind, sorted SANs) of an issued certificate, from its extensions (used by restore)."""
    cert = x509.load_pem_x509_certificate(cert_pem.encode())
    ext = cert.extensions
    try:
        if ext.get_extension_for_class(x509.BasicConstraints).value.ca:
            kind = INTERMEDIATE
        else:
            usages = ext.get_extension_for_class(x509.ExtendedKeyUsage).value
            kind = SERVER if ExtendedKeyUsageOID.SERVER_AUTH in usages else CLIENT
    except x509.ExtensionNotFound:
        kind = SERVER
    try:
        san = ext.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [str(v) for v in san.get_values_for_type(x509.DNSName)]
        sans += [str(v) for v in san.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        sans = []
    return kind, sorted_sans(sans)


def _key_usage(
    digital_signature: bool = False,
    key_encipherment: bool = False,
    key_cert_sign: bool = False,
    crl_sign: bool = False,
) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=digital_signature,
        content_commitment=False,
        key_encipherment=key_encipherment,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=crl_sign,
        encipher_only=False,
        decipher_only=False,
    )


# ---------------------------------------------------------------------------------------------
# State


def new_state() -> dict[str, Any]:
    """The charm's persistent state.

    ``ca``: {"cert", "key", "serial"} once this unit holds the CA (created or recovered as leader);
    ``issued``: "<type>:<name>" -> {"sans": sorted list, "cert", "key"} (EasyRSA's pki/issued);
    ``handled``: data_changed records, "<rid>.<U_>.<cn>" or "<rid>.app_cert" -> sorted SANs;
    ``series_upgrade``: True between pre- and post-series-upgrade.
    """
    return {"ca": None, "issued": {}, "handled": {}, "series_upgrade": False}


def state_ca(state: Mapping[str, Any]) -> CertificateAuthority | None:
    ca = state.get("ca")
    if not ca or not ca.get("cert") or not ca.get("key"):
        return None
    return CertificateAuthority(ca["cert"], ca["key"], ca.get("serial") or "")


def set_state_ca(state: dict[str, Any], ca: CertificateAuthority) -> None:
    state["ca"] = {"cert": ca.cert_pem, "key": ca.key_pem, "serial": ca.serial}


def ca_from_leader(settings: Mapping[str, str]) -> CertificateAuthority | None:
    """The CA shared through leader settings, if both certificate and key are there."""
    cert = settings.get(LEADER_CA) or ""
    key = settings.get(LEADER_CA_KEY) or ""
    if not cert or not key:
        return None
    serial = settings.get(LEADER_CA_SERIAL) or ""
    if not serial:
        serial = format(x509.load_pem_x509_certificate(cert.encode()).serial_number, "X") + "\n"
    return CertificateAuthority(cert, key, serial)


def ca_leader_settings(ca: CertificateAuthority) -> dict[str, str]:
    return {LEADER_CA: ca.cert_pem, LEADER_CA_KEY: ca.key_pem, LEADER_CA_SERIAL: ca.serial}


def leader_settings_differ(current: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    """Whether leader-set is needed; Juju trims whitespace around values, so compare trimmed."""
    return any((current.get(k) or "").strip() != (v or "").strip() for k, v in wanted.items())


def certificate_for(
    state: dict[str, Any],
    ca: CertificateAuthority,
    kind: str,
    common_name: str,
    sans: Sequence[str] | None,
    store_name: str | None = None,
    now: datetime.datetime | None = None,
) -> tuple[str, str]:
    """The stored certificate for (kind, store_name or common_name), issuing it when missing.

    Server, application and intermediate certificates are re-issued when the sorted SAN list
    differs from the stored one; client certificates never are (EasyRSA keeps the first one).
    """
    issued = state.setdefault("issued", {})
    store_key = f"{kind}:{store_name or common_name}"
    wanted = sorted_sans(sans)
    entry = issued.get(store_key)
    if entry and entry.get("cert") and entry.get("key"):
        if kind == CLIENT or entry.get("sans") == wanted:
            return entry["cert"], entry["key"]
    cert, key = issue_certificate(ca, kind, common_name, list(sans or []), now=now)
    issued[store_key] = {"sans": wanted, "cert": cert, "key": key}
    return cert, key


def global_client_cert(
    state: dict[str, Any], ca: CertificateAuthority, leader_settings: Mapping[str, str]
) -> tuple[str, str, bool]:
    """(cert, key, created): the legacy global client certificate, from leader data or new."""
    cert = leader_settings.get(LEADER_CLIENT_CERT) or ""
    key = leader_settings.get(LEADER_CLIENT_KEY) or ""
    if cert and key:
        return cert, key, False
    cert, key = certificate_for(state, ca, CLIENT, GLOBAL_CLIENT_NAME, None)
    return cert, key, True


# ---------------------------------------------------------------------------------------------
# Requests (provider side of the reactive tls-certificates interface)


def _json(value: str | None) -> Any:
    """JSONUnitDataView semantics: missing -> None; undecodable -> the raw string."""
    if value is None or value == "":
        return None
    try:
        return json.loads(value)
    except ValueError:
        return value


def _dumps(value: Any) -> str:
    """How charms.reactive publishes JSON values (to_publish)."""
    return json.dumps(value, sort_keys=True)


@dataclass(frozen=True)
class Request:
    kind: str
    unit: str  # the Juju name of the requesting unit (e.g. etcd/0)
    unit_key: str  # U_: the requester's unit_name, "/" -> "_" (e.g. etcd_0)
    common_name: str
    sans: tuple[str, ...] | None
    top_level: bool = False  # answered in <U_>.server.cert / <U_>.server.key

    @property
    def publish_key(self) -> str:
        if self.kind == SERVER:
            return f"{self.unit_key}.processed_requests"
        if self.kind == CLIENT:
            return f"{self.unit_key}.processed_client_requests"
        if self.kind == APPLICATION:
            return f"{self.unit_key}.processed_application_requests"
        return f"{self.unit_key}.processed_intermediate_requests"


def unit_key(juju_unit: str, data: Mapping[str, str]) -> str:
    """U_: the requester's ``unit_name`` key, else its Juju unit name, with "/" -> "_"."""
    return (data.get("unit_name") or juju_unit).replace("/", "_")


def _request_sans(req: Any) -> tuple[str, ...] | None:
    if not isinstance(req, Mapping):
        return None
    sans = req.get("sans")
    if not isinstance(sans, list):
        return None
    return tuple(str(s) for s in sans)


def parse_requests(units: Sequence[tuple[str, Mapping[str, str]]]) -> list[Request]:
    """All requests of the joined units, in the interface's ``all_requests`` order."""
    requests: list[Request] = []
    for juju_unit, data in units:
        key = unit_key(juju_unit, data)
        top_cn = data.get("common_name") or ""
        if top_cn:
            sans = _json(data.get("sans"))
            requests.append(
                Request(
                    SERVER,
                    juju_unit,
                    key,
                    top_cn,
                    tuple(str(s) for s in sans) if isinstance(sans, list) else None,
                    top_level=True,
                )
            )
        for field, kind in (
            ("cert_requests", SERVER),
            ("client_cert_requests", CLIENT),
            ("application_cert_requests", APPLICATION),
            ("intermediate_cert_requests", INTERMEDIATE),
        ):
            reqs = _json(data.get(field))
            if not isinstance(reqs, Mapping):
                continue
            for cn, req in reqs.items():
                requests.append(
                    Request(
                        kind,
                        juju_unit,
                        key,
                        str(cn),
                        _request_sans(req),
                        top_level=kind == SERVER and str(cn) == top_cn,
                    )
                )
    return requests


def application_sans(units: Sequence[tuple[str, Mapping[str, str]]]) -> list[str]:
    """All CNs and SANs of every unit's application_cert_requests, sorted and de-duplicated."""
    sans: set[str] = set()
    for _unit, data in units:
        reqs = _json(data.get("application_cert_requests"))
        if not isinstance(reqs, Mapping):
            continue
        for cn, req in reqs.items():
            sans.add(str(cn))
            sans.update(_request_sans(req) or ())
    return sorted(sans)


class _Bucket:
    """Our unit bucket on one relation plus the changes made to it during this hook."""

    def __init__(self, data: Mapping[str, str]) -> None:
        self.view: dict[str, str] = dict(data)
        self.updates: dict[str, str] = {}

    def raw(self, key: str) -> str:
        return self.view.get(key) or ""

    def json_map(self, key: str) -> dict[str, Any]:
        value = _json(self.view.get(key))
        return dict(value) if isinstance(value, Mapping) else {}

    def set_raw(self, key: str, value: str) -> None:
        if self.view.get(key) != value:
            self.view[key] = value
            self.updates[key] = value

    def set_json(self, key: str, value: Any) -> None:
        self.set_raw(key, _dumps(value))


def _published(bucket: _Bucket, req: Request) -> bool:
    if req.top_level:
        return bool(
            bucket.raw(f"{req.unit_key}.server.cert") and bucket.raw(f"{req.unit_key}.server.key")
        )
    data = bucket.json_map(req.publish_key)
    entry = data.get("app_data" if req.kind == APPLICATION else req.common_name)
    return isinstance(entry, Mapping) and bool(entry.get("cert")) and bool(entry.get("key"))


def answer_relation(
    state: dict[str, Any],
    ca: CertificateAuthority | None,
    relation_id: str,
    units: Sequence[tuple[str, Mapping[str, str]]],
    bucket: Mapping[str, str],
    leader: bool,
    global_client: tuple[str, str] | None = None,
    now: datetime.datetime | None = None,
    ca_pem: str | None = None,
) -> dict[str, str]:
    """What to relation-set on one ``client`` relation: {key: value} changes to our bucket.

    * leader: ``ca`` and the global ``client.cert``/``client.key`` (send_ca,
      publish_global_client_cert);
    * any unit holding the CA (the leader, or a former leader, as in the real charm where the
      ``easyrsa.certificate.authority.available`` flag survives losing leadership): answers to
      every request that is not handled yet.

    `ca_pem` and `global_client` are published as given: the real charm publishes them as read
    back with leader-get (Juju's leader-set trims the trailing newline of the PEM text).
    """
    out = _Bucket(bucket)
    if leader and ca is not None:
        out.set_raw("ca", ca_pem or ca.cert_pem)
        if global_client is not None:
            out.set_raw("client.cert", global_client[0])
            out.set_raw("client.key", global_client[1])
    if ca is None:
        return out.updates
    handled: dict[str, Any] = state.setdefault("handled", {})
    for req in parse_requests(units):
        if req.kind == APPLICATION:
            sans = application_sans(units)
            handled_key = f"{relation_id}.app_cert"
        else:
            sans = sorted_sans(req.sans)
            handled_key = f"{relation_id}.{req.unit_key}.{req.common_name}"
        if _published(out, req) and handled.get(handled_key) == sans:
            continue
        if req.kind == APPLICATION:
            # One certificate per relation (= per requiring application).
            cert, key = certificate_for(
                state, ca, APPLICATION, req.common_name, sans, store_name=relation_id, now=now
            )
            for other_unit, other_data in units:
                pub = f"{unit_key(other_unit, other_data)}.processed_application_requests"
                data = out.json_map(pub)
                data["app_data"] = {"cert": cert, "key": key}
                out.set_json(pub, data)
        else:
            cert, key = certificate_for(state, ca, req.kind, req.common_name, req.sans, now=now)
            if req.top_level:
                out.set_raw(f"{req.unit_key}.server.cert", cert)
                out.set_raw(f"{req.unit_key}.server.key", key)
            else:
                data = out.json_map(req.publish_key)
                data[req.common_name] = {"cert": cert, "key": key}
                if req.kind == INTERMEDIATE:
                    # requires.py reads intermediates from "app_data"; provides.py checks by CN.
                    data["app_data"] = {"cert": cert, "key": key}
                out.set_json(req.publish_key, data)
        handled[handled_key] = sans
    return out.updates


def status_message(client_available: bool) -> str:
    """The real charm's message(): connected when any client is joined."""
    if client_available:
        return "Certificate Authority connected."
    return "Certificate Authority ready."
