"""The package-client-credentials action: the client certificate, its key and the CA with an
etcdctl environment, in a private tarball the operator fetches with juju scp (only its path is
reported, never key material)."""

from __future__ import annotations

import os

from charmhelpers.core import hookenv

from . import etcd_conf as C
from . import snapshot as snap
from .action_context import Context, give_to_operator
from .params import ActionError

CREDENTIALS = "/home/ubuntu/etcd_credentials.tar.gz"

CREDENTIALS_README = """\
# etcd client credentials

Made by the etcd charm's package-client-credentials action. client.key is a secret:
keep this directory private (it is readable by its owner only).

Use them with etcdctl (API v3), from this directory:

    . ./etcdctl.env
    etcdctl member list -w table

etcdctl.env sets ETCDCTL_ENDPOINTS to the members' client URLs at the time the package was
made ({endpoints}); if clients connect from outside the model, `juju expose etcd` first.
"""


def package_client_credentials(ctx: Context) -> None:
    settings = ctx.settings
    files = {
        "ca.crt": C.CA_PATH,
        "client.crt": C.CLIENT_CERT_PATH,
        "client.key": C.CLIENT_KEY_PATH,
    }
    missing = [p for p in files.values() if not os.path.isfile(p)]
    if missing:
        raise ActionError(
            "this unit has no client certificate yet (relate etcd to easyrsa and wait for "
            "the certificates); missing: " + ", ".join(missing)
        )
    try:
        endpoints = ",".join(ctx.voters(ctx.members()).endpoints)
    except ActionError:
        endpoints = ""
    endpoints = endpoints or C.build_uri("https", str(hookenv.unit_public_ip()), settings.port)
    env = (
        "# source this file from the directory it is in: . ./etcdctl.env\n"
        "export ETCDCTL_API=3\n"
        f"export ETCDCTL_ENDPOINTS={endpoints}\n"
        'export ETCDCTL_CACERT="$PWD/ca.crt"\n'
        'export ETCDCTL_CERT="$PWD/client.crt"\n'
        'export ETCDCTL_KEY="$PWD/client.key"\n'
    )
    os.makedirs(os.path.dirname(CREDENTIALS), exist_ok=True)
    readme = CREDENTIALS_README.format(endpoints=endpoints)
    snap.write_private_tar(
        CREDENTIALS,
        [
            snap.Entry("etcd_credentials", 0o700),
            *(snap.Entry(f"etcd_credentials/{n}", 0o600, path=p) for n, p in files.items()),
            snap.Entry("etcd_credentials/README.txt", 0o644, data=readme.encode()),
            snap.Entry("etcd_credentials/etcdctl.env", 0o644, data=env.encode()),
        ],
    )
    give_to_operator(CREDENTIALS)
    ctx.set("path", CREDENTIALS)
    ctx.set("sha256", snap.sha256_file(CREDENTIALS))
    ctx.set("copy.cmd", f"juju scp {ctx.charm.unit}:{os.path.basename(CREDENTIALS)} .")
