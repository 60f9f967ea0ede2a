"""The built charm's hooks and actions import on the Python of every base it declares.

Ubuntu 22.04 runs Python 3.10 and 24.04 runs 3.12 (and the next LTS 3.13, checked ahead): the
charm built from this repository is extracted and every module its hooks and actions load is
imported under each interpreter, the way a hook starts (``-I``, ``lib/`` and ``venv/`` first on
``sys.path``, the entry point's ``provide_distutils`` first), with the reactive framework's
handler discovery, which imports ``reactive/etcd.py`` and so the whole charm library. The charm
is one artifact for every base because it is pure Python: it holds no compiled module for any
ABI, and PyYAML and MarkupSafe run their pure Python code (``yaml.__with_libyaml__`` False,
``markupsafe.escape`` from ``markupsafe._native``).

The interpreters come from pyenv (``pyenv root``) or ``PATH``; where one is missing the test
says so and skips, except under ``CI=true``, where it fails. charmhelpers refuses any platform
but Ubuntu at import time: each interpreter runs with its base's Ubuntu ``/etc/os-release``
bound over the host's in a private mount namespace (``unshare -Urm``).
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from localjuju import bases

REPO = Path(__file__).resolve().parent.parent
WHEELS = REPO / ".cache" / "wheels"
#: the Python of each base the charm declares (and the next one's)
PYTHONS = {"3.10": "ubuntu@22.04", "3.12": "ubuntu@24.04", "3.13": "ubuntu@26.04 (ahead)"}

IMPORTS = """
import os, sys, warnings
warnings.simplefilter("ignore")
charm = sys.argv[1]
sys.path[:0] = [os.path.join(charm, "lib"), os.path.join(charm, "venv")]
os.chdir(charm)
os.environ["CHARM_DIR"] = os.environ["JUJU_CHARM_DIR"] = charm
if sys.argv[2] == "finder":
    from etcd_charm.entry import provide_distutils, provide_entry_points
    provide_distutils()
    provide_entry_points()
import charmhelpers.osplatform as platform
print("platform", platform.get_platform())  # from /etc/os-release: Ubuntu's, bound over it
import charms.reactive.bus, charms.templating.jinja2, charmhelpers.core.unitdata
charms.reactive.bus.discover()  # imports reactive/etcd.py: etcd_charm.charm and the rest
import etcd_charm.actions, etcd_charm.entry, etcd_charm.tracing
print("tracer", etcd_charm.tracing.install())  # the framework's LogTracer registration found
import charmhelpers.contrib.charmsupport.nrpe  # etcd_charm.nrpe_checks imports it to register
assert not [m for m in sys.modules if m.startswith("charmhelpers.contrib.network")]
import distutils, distutils.version, yaml, jinja2, markupsafe
assert distutils.version.LooseVersion("3.6.8") > distutils.version.LooseVersion("2.9")
assert yaml.safe_load("a: 1") == {"a": 1}
assert jinja2.Template("{{ x|e }}").render(x="<") == "&lt;"
print("libyaml", yaml.__with_libyaml__)
print("escape", markupsafe.escape.__module__)
loaded = sorted(m for m in sys.modules if m.startswith("etcd_charm."))
print("distutils", distutils.__file__)
print("setuptools imported", "setuptools" in sys.modules)
print("pkg_resources", type(sys.modules.get("pkg_resources")).__name__)
print("loaded", " ".join(loaded))
"""


def interpreter(version: str) -> str | None:
    """``python<version>``: the newest pyenv build of it (``pyenv root``, else
    ``$PYENV_ROOT`` or ``~/.pyenv`` when pyenv is not on PATH), else the one on PATH."""
    try:
        root = subprocess.run(
            ["pyenv", "root"], capture_output=True, text=True, timeout=30, check=True
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(
        glob.glob(os.path.join(root, "versions", f"{version}.*", "bin", f"python{version}")),
        key=lambda p: [int(x) for x in p.split("/versions/")[1].split("/")[0].split(".")],
    )
    if root and found:
        return found[-1]
    return shutil.which(f"python{version}")


def need(version: str) -> str:
    path = interpreter(version)
    if path is None:
        why = f"no Python {version} ({PYTHONS[version]}) on this machine: pyenv or PATH"
        if os.environ.get("CI") == "true":
            pytest.fail(why + " (CI must have it)")
        pytest.skip(why)
    return path


@pytest.fixture(scope="module")
def charm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The charm built from this repository, extracted."""
    if not any(WHEELS.glob("*.whl")):
        pytest.skip(f"no wheels in {WHEELS}: scripts/setup fetches them")
    out = tmp_path_factory.mktemp("build") / "etcd.charm"
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "python"), str(REPO / "scripts" / "build-charm"),
         "--output", str(out)],
        check=True, capture_output=True, timeout=600,
    )  # fmt: skip
    extracted = tmp_path_factory.mktemp("charm")
    with zipfile.ZipFile(out) as archive:
        archive.extractall(extracted)
    return extracted


#: the Ubuntu release whose /etc/os-release each interpreter runs under
RELEASE = {"3.10": "ubuntu@22.04", "3.12": "ubuntu@24.04", "3.13": "ubuntu@24.04"}


def imports(python: str, charm: Path, finder: bool) -> subprocess.CompletedProcess[str]:
    """The imports, run with that base's Ubuntu /etc/os-release bound over the host's in a
    private mount namespace (``unshare``; the host's file is untouched)."""
    version = re.search(r"python(3\.\d+)$", python)
    release = bases.release(RELEASE[version.group(1) if version else "3.10"])
    os_release = charm.parent / f"os-release-{release.codename}"
    os_release.write_text(release.os_release())
    script = 'mount --bind "$1" /etc/os-release && shift && exec "$@"'
    argv = [python, "-I", "-S", "-c", IMPORTS, str(charm), "finder" if finder else "bare"]
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", str(os_release), *argv],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_hooks_and_actions_import_on_the_base_python(version: str, charm: Path) -> None:
    python = need(version)
    result = imports(python, charm, finder=True)
    assert result.returncode == 0, result.stderr
    lines = dict(line.split(" ", 1) for line in result.stdout.splitlines())
    assert lines["platform"] == "ubuntu"
    assert "etcd_charm.charm" in lines["loaded"] and "etcd_charm.actions" in lines["loaded"]
    assert "etcd_charm.nrpe_checks" in lines["loaded"]
    # the standard library's distutils where the base has one, the vendored one otherwise;
    # setuptools itself is never imported (it would replace distutils and cost 100 ms)
    vendored = str(charm / "venv" / "setuptools" / "_distutils")
    assert lines["distutils"].startswith(vendored) == (version >= "3.12"), lines["distutils"]
    assert lines["setuptools"] == "imported False"
    # charms.reactive's discovery ran on the stand-in: the real pkg_resources never loaded
    assert lines["pkg_resources"] == "EntryPointsOnly"
    assert lines["tracer"] == "True"
    # pure Python: the same code on every base
    assert lines["libyaml"] == "False"
    assert lines["escape"] == "markupsafe._native"


def test_the_charm_holds_no_compiled_module(charm: Path) -> None:
    """Nothing tied to one Python's ABI (cpython-3XX, abi3) or to the build host."""
    compiled = [
        str(path.relative_to(charm))
        for path in charm.rglob("*")
        if re.fullmatch(r".+\.(so(\.\d+)*|pyd|dylib)", path.name)
    ]
    assert compiled == []
    assert (charm / "venv" / "markupsafe" / "_native.py").is_file()
    assert (charm / "venv" / "yaml" / "__init__.py").is_file()


def test_without_the_finder_python_3_12_cannot_start_a_hook(charm: Path) -> None:
    """What the finder fixes: charmhelpers imports distutils, which 3.12 no longer has."""
    result = imports(need("3.12"), charm, finder=False)
    assert result.returncode != 0
    assert "No module named 'distutils'" in result.stderr
