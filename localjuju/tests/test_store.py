"""The local snap store: channels, the .snap format, the builder and its index."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from localjuju import store as S

FAKE_ETCD = """#!/bin/sh
# a stand-in for etcd {version} in tests
if [ "$1" = "--version" ]; then echo "etcd Version: {version}"; exit 0; fi
echo "fake etcd {version}: $*"
echo {version} >> ./versions-run
exec sleep 600
"""

FAKE_ETCDCTL = """#!/bin/sh
# a stand-in for etcdctl {version} in tests: shows its environment
echo "etcdctl version: {version}"
for v in SNAP SNAP_COMMON SNAP_DATA SNAP_REVISION SNAP_NAME SNAP_VERSION SNAP_USER_DATA HOME; do
  eval "echo $v=\\$$v"
done
echo "args=$*"
"""


def make_fake_cache(cache: Path, versions: tuple[str, ...] = ("3.4.23", "3.5.16")) -> Path:
    """``<cache>/<version>/{etcd,etcdctl}`` shell stand-ins for the real binaries."""
    for v in versions:
        d = cache / v
        d.mkdir(parents=True, exist_ok=True)
        for name, text in (("etcd", FAKE_ETCD), ("etcdctl", FAKE_ETCDCTL)):
            f = d / name
            f.write_text(text.format(version=v))
            f.chmod(0o755)
    return cache


@pytest.fixture
def fake_store(tmp_path: Path) -> Path:
    cache = make_fake_cache(tmp_path / "cache")
    store = tmp_path / "store"
    assert S.build_etcd_store(str(cache), str(store)) is True
    return store


@pytest.mark.parametrize(
    ("text", "full"),
    [
        ("", "latest/stable"),
        (None, "latest/stable"),
        ("stable", "latest/stable"),
        ("edge", "latest/edge"),
        ("3.4", "3.4/stable"),
        ("3.5/beta", "3.5/beta"),
        ("latest/stable", "latest/stable"),
        ("latest", "latest/stable"),
    ],
)
def test_parse_channel(text: str | None, full: str) -> None:
    assert S.parse_channel(text).full == full


def test_parse_channel_short_form() -> None:
    assert S.parse_channel("latest/edge").short == "edge"
    assert S.parse_channel("3.4/stable").short == "3.4/stable"


@pytest.mark.parametrize("bad", ["3.4/stable/hotfix", "a/b/c/d", "/stable", "3.4/nope"])
def test_parse_channel_rejects(bad: str) -> None:
    with pytest.raises(S.StoreError):
        S.parse_channel(bad)


def test_index_layout(fake_store: Path) -> None:
    index = json.loads((fake_store / "index.json").read_text())
    assert index["format"] == S.INDEX_FORMAT
    etcd = index["snaps"]["etcd"]
    assert etcd["publisher"]["display-name"] == "Canonical"
    assert etcd["tracks"] == ["latest", "3.5", "3.4"]
    chans = etcd["channels"]
    assert set(chans) == {"3.4/stable", "3.5/stable", "latest/stable"}
    assert (chans["3.4/stable"]["version"], chans["3.4/stable"]["revision"]) == ("3.4.23", 423)
    assert chans["latest/stable"] == chans["3.5/stable"]
    for entry in chans.values():
        f = fake_store / "snaps" / entry["file"]
        assert S.sha256_file(str(f)) == entry["sha256"]
        assert f.stat().st_size == entry["size"]
    st = S.load_store(str(fake_store))
    snap = st.snap("etcd")
    assert snap is not None
    assert snap.channels["3.5/stable"].file == "etcd_516.snap"
    assert S.verify_store(str(fake_store)) == []


def test_build_is_idempotent_and_tracks_binaries(tmp_path: Path, fake_store: Path) -> None:
    cache = tmp_path / "cache"
    before = (fake_store / "index.json").read_text()
    assert S.build_etcd_store(str(cache), str(fake_store)) is False
    assert (fake_store / "index.json").read_text() == before
    etcd = cache / "3.4.23" / "etcd"
    etcd.write_text(etcd.read_text() + "# changed\n")
    assert S.build_etcd_store(str(cache), str(fake_store)) is True
    after = json.loads((fake_store / "index.json").read_text())
    old = json.loads(before)
    assert (
        after["snaps"]["etcd"]["channels"]["3.4/stable"]["sha256"]
        != old["snaps"]["etcd"]["channels"]["3.4/stable"]["sha256"]
    )
    assert (
        after["snaps"]["etcd"]["channels"]["3.5/stable"]["sha256"]
        == old["snaps"]["etcd"]["channels"]["3.5/stable"]["sha256"]
    )


def test_builds_are_deterministic(tmp_path: Path) -> None:
    cache = make_fake_cache(tmp_path / "cache")
    a, b = tmp_path / "a", tmp_path / "b"
    S.build_etcd_store(str(cache), str(a))
    S.build_etcd_store(str(cache), str(b))
    assert S.sha256_file(str(a / "snaps/etcd_423.snap")) == S.sha256_file(
        str(b / "snaps/etcd_423.snap")
    )


def test_missing_binaries_are_reported(tmp_path: Path) -> None:
    make_fake_cache(tmp_path / "cache", ("3.4.23",))
    with pytest.raises(S.StoreError, match="missing etcd 3.5.16 binary"):
        S.build_etcd_store(str(tmp_path / "cache"), str(tmp_path / "store"))


def test_verify_detects_damage(fake_store: Path) -> None:
    f = fake_store / "snaps" / "etcd_423.snap"
    f.write_bytes(f.read_bytes()[:100])
    assert any("size mismatch" in p for p in S.verify_store(str(fake_store)))


def test_missing_store_reads_empty(tmp_path: Path) -> None:
    assert S.load_store(str(tmp_path / "nothing")).snaps == {}


def test_snap_file_format(fake_store: Path, tmp_path: Path) -> None:
    snap = str(fake_store / "snaps" / "etcd_516.snap")
    with tarfile.open(snap, "r:gz") as tar:
        names = set(tar.getnames())
    assert {"meta/snap.yaml", "bin/etcd", "bin/etcdctl", "bin/snap-wrap.sh"} <= names
    meta = S.read_snap_yaml(snap)
    assert meta["name"] == "etcd" and meta["version"] == "3.5.16"
    assert meta["apps"]["etcd"]["daemon"] == "simple"
    assert meta["apps"]["etcd"]["command"] == "bin/snap-wrap.sh"
    assert meta["apps"]["etcdctl"]["command"] == "bin/etcdctl"
    dest = tmp_path / "unpacked"
    S.extract_snap(snap, str(dest))
    assert os.access(dest / "bin" / "snap-wrap.sh", os.X_OK)
    assert os.access(dest / "bin" / "etcd", os.X_OK)
    assert "etcd.conf.yml" in (dest / "bin" / "snap-wrap.sh").read_text()


def test_unsafe_archives_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.snap"
    with tarfile.open(bad, "w:gz") as tar:
        for name, data in (("meta/snap.yaml", b"name: x\nversion: 1\n"), ("../evil", b"x")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(S.StoreError, match="unsafe member"):
        S.extract_snap(str(bad), str(tmp_path / "out"))
    assert not (tmp_path / "evil").exists()


def test_not_a_snap(tmp_path: Path) -> None:
    f = tmp_path / "x.snap"
    f.write_bytes(b"not a tar")
    with pytest.raises(S.StoreError):
        S.read_snap_yaml(str(f))


# ---------------------------------------------------------------------------------------------
# Revisions outside channels, base snaps, a model's channel map overlay


def test_optional_release_is_held_unreleased(tmp_path: Path) -> None:
    cache = make_fake_cache(tmp_path / "cache", ("3.4.23", "3.5.16", "3.5.30"))
    store = tmp_path / "store"
    assert S.build_etcd_store(str(cache), str(store)) is True
    etcd = S.load_store(str(store)).snap("etcd")
    assert etcd is not None
    assert sorted(etcd.revisions) == [423, 516, 530]
    assert etcd.revisions[530].version == "3.5.30" and etcd.revisions[530].channel == ""
    assert {ce.revision for ce in etcd.channels.values()} == {423, 516}
    assert (store / "snaps" / "etcd_530.snap").exists()
    assert S.verify_store(str(store)) == []
    # without its binaries the optional release is left out (and its file removed)
    for b in ("etcd", "etcdctl"):
        (cache / "3.5.30" / b).unlink()
    assert S.build_etcd_store(str(cache), str(store)) is True
    etcd = S.load_store(str(store)).snap("etcd")
    assert etcd is not None and sorted(etcd.revisions) == [423, 516]
    assert not (store / "snaps" / "etcd_530.snap").exists()


def test_base_snaps_are_built_reproducibly(fake_store: Path, tmp_path: Path) -> None:
    st = S.load_store(str(fake_store))
    for name, typ, rev in (("core18", "base", 2812), ("core", "os", 16928)):
        snap = st.snap(name)
        assert snap is not None and snap.type == typ
        assert snap.tracks == ["latest"]
        assert snap.channels["latest/stable"].revision == rev
        path = S.base_snap_path(str(fake_store), name)
        assert path == str(fake_store / "snaps" / f"{name}_{rev}.snap")
        meta = S.read_snap_yaml(path)
        assert (meta["name"], meta["type"]) == (name, typ) and "base" not in meta
    assert S.load_store(str(fake_store)).snap("etcd").type == "app"  # type: ignore[union-attr]
    other = tmp_path / "other"
    S.build_etcd_store(str(tmp_path / "cache"), str(other))
    assert S.sha256_file(S.base_snap_path(str(other), "core18")) == S.sha256_file(
        S.base_snap_path(str(fake_store), "core18")
    )
    with pytest.raises(S.StoreError):
        S.base_snap_path(str(fake_store), "core20")


def test_store_cli_builds_base_snap_files(tmp_path: Path) -> None:
    cache = make_fake_cache(tmp_path / "cache")
    store = tmp_path / "store"
    assert S.main(["build", "--cache", str(cache), "--store", str(store)]) == 0
    names = sorted(os.listdir(store / "snaps"))
    assert names == ["core18_2812.snap", "core_16928.snap", "etcd_423.snap", "etcd_516.snap"]


@pytest.fixture
def store530(tmp_path: Path) -> S.Store:
    cache = make_fake_cache(tmp_path / "cache", ("3.4.23", "3.5.16", "3.5.30"))
    S.build_etcd_store(str(cache), str(tmp_path / "store"))
    return S.load_store(str(tmp_path / "store"))


def test_overlay_release_close_and_remove_track(store530: S.Store, tmp_path: Path) -> None:
    odir = str(tmp_path / "model-store")
    ov = S.load_overlay(odir)
    assert ov == S.Overlay()  # no overlay: the store as it is
    assert S.overlay_release(store530, ov, "etcd", 530, ["3.5"]) == ["3.5/stable"]
    S.save_overlay(odir, ov)
    seen = S.open_store(store530.path, odir).snap("etcd")
    assert seen is not None and seen.channels["3.5/stable"].revision == 530
    assert seen.channels["3.5/stable"].version == "3.5.30"
    assert seen.channels["latest/stable"].revision == 516
    # the shared store is unchanged
    assert S.load_store(store530.path).snap("etcd").channels["3.5/stable"].revision == 516  # type: ignore[union-attr]
    assert (tmp_path / "model-store" / "auto-refresh").read_text() == "0\n"
    # remove the 3.5 track: no 3.5 channel at all, 3.4 and latest stay
    S.overlay_remove_track(store530, ov, "etcd", "3.5")
    S.save_overlay(odir, ov)
    seen = S.open_store(store530.path, odir).snap("etcd")
    assert seen is not None
    assert "3.5" not in seen.tracks and set(seen.channels) == {"3.4/stable", "latest/stable"}
    # releasing into the track brings it back
    S.overlay_release(store530, ov, "etcd", 516, ["3.5/candidate"])
    seen = S.apply_overlay(store530, ov).snap("etcd")
    assert (
        seen is not None
        and "3.5" in seen.tracks
        and set(seen.channels)
        == {
            "3.4/stable",
            "latest/stable",
            "3.5/candidate",
        }
    )
    S.overlay_close(store530, ov, "etcd", ["latest/stable"])
    seen = S.apply_overlay(store530, ov).snap("etcd")
    assert seen is not None and "latest/stable" not in seen.channels
    with pytest.raises(S.StoreError, match="has no revision 999"):
        S.overlay_release(store530, ov, "etcd", 999, ["3.5/stable"])
    with pytest.raises(S.StoreError, match="not in the store"):
        S.overlay_release(store530, ov, "nope", 1, ["stable"])


def test_unreachable_overlay_refuses_every_read(store530: S.Store, tmp_path: Path) -> None:
    odir = str(tmp_path / "model-store")
    S.save_overlay(odir, S.Overlay(reachable=False))
    with pytest.raises(S.StoreUnreachable) as e:
        S.open_store(store530.path, odir)
    assert e.value.url_error("POST", "v2/snaps/refresh") == (
        'persistent network error: Post "https://snap-store.localjuju/v2/snaps/refresh": '
        "dial tcp: lookup snap-store.localjuju: Temporary failure in name resolution"
    )


def test_store_cli_edits_an_overlay(
    store530: S.Store, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    odir = str(tmp_path / "ov")
    assert (
        S.main(
            ["release", "--store", store530.path, "--overlay", odir, "etcd", "530", "3.5/stable"]
        )
        == 0
    )
    assert S.main(["show", "--store", store530.path, "--overlay", odir]) == 0
    assert "etcd\t3.5/stable\t3.5.30\t530\tetcd_530.snap" in capsys.readouterr().out
    assert (
        S.main(["remove-track", "--store", store530.path, "--overlay", odir, "etcd", "3.9"]) == 1
    )
