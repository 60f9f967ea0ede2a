"""What the snap store offers of etcd, read from ``snap info etcd``, and the decisions that
depend on it (pure): which channel ``auto`` installs, and whether a configured channel
exists at all.

The charm assumes no track: the store's etcd may have tracks up to 3.4 only (as the source
of the real snap has branches up to v3.4) or a 3.5 track too. ``auto`` takes the newest
track the store offers on ``stable`` among those the charm supports, and a channel the store
does not offer is refused with the ones it does, before anything is installed or refreshed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from .settings import SUPPORTED_TRACKS, version_tuple

#: snap info's marks for a risk without its own release: closed (follows the risk above)
#: and never opened
CLOSED, NONE = "↑", "--"

_ROW = re.compile(r"^\s+(?P<channel>[^\s:]+):\s+(?P<version>\S+)(?:.*?\((?P<rev>\w+)\))?")


@dataclass(frozen=True)
class Offer:
    """The store's channels of etcd: channel (``<track>/<risk>``) -> the version released
    there; closed channels (``↑``) are listed with the version they follow."""

    channels: dict[str, str]
    revisions: dict[str, str] = field(default_factory=dict)  # channel -> revision

    @property
    def tracks(self) -> list[str]:
        """The tracks with a release, in the store's order."""
        out: list[str] = []
        for channel in self.channels:
            track = channel.split("/")[0]
            if track not in out:
                out.append(track)
        return out

    def offers(self, channel: str) -> bool:
        track, _, rest = channel.partition("/")
        risk = rest.split("/")[0] or "stable"
        return f"{track}/{risk}" in self.channels

    def release(self, channel: str) -> tuple[str, str] | None:
        """(version, revision) released in ``channel`` (None: not offered)."""
        track, _, rest = channel.partition("/")
        key = f"{track}/{rest.split('/')[0] or 'stable'}"
        if key not in self.channels:
            return None
        return self.channels[key], self.revisions.get(key, "")

    def describe(self) -> str:
        stable = [c for c in self.channels if c.endswith("/stable")]
        return ", ".join(stable or list(self.channels)) or "no channel"


def parse_info(text: str) -> Offer:
    """The ``channels:`` block of ``snap info <snap>`` (snapd's layout): one row per
    ``<track>/<risk>``, whose first word is the version, ``↑`` when the risk is closed (it
    follows the next more stable risk) or ``--`` when nothing was ever released there.
    Older snapd shows the ``latest`` track's rows as ``stable:``, ``candidate:``, ..."""
    channels: dict[str, str] = {}
    revisions: dict[str, str] = {}
    inside = False
    last = ""
    for line in text.splitlines():
        if not line.startswith(" "):
            inside = line.rstrip() == "channels:"
            last = ""
            continue
        m = _ROW.match(line) if inside else None
        if m is None:
            continue
        channel, version, rev = m.group("channel"), m.group("version"), m.group("rev") or ""
        if "/" not in channel:  # older snapd names the latest track's risks alone
            channel = f"latest/{channel}"
        if version == NONE:
            continue
        if version == CLOSED:
            track = channel.split("/")[0]
            if not last or not last.startswith(track + "/"):
                continue
            version, rev = channels[last], revisions.get(last, "")
        channels[channel] = version
        if rev:
            revisions[channel] = rev
        last = channel
    return Offer(channels, revisions)


def store_offer(info: str) -> Offer:
    """:func:`parse_info` of ``snap info etcd``'s output, refusing one without channels:
    snapd shows an installed snap without them when the store does not answer (it drops
    the store's error), so no channel at all means no store, not a store without etcd."""
    offer = parse_info(info)
    if not offer.channels:
        raise NoStore("snap info etcd lists no channel: the store did not answer")
    return offer


class NoStore(Exception):
    pass


def auto_channel(offer: Offer) -> str | None:
    """The channel ``auto`` installs: the newest supported track with a stable release
    (None when the store offers none of them)."""
    tracks = [t for t in offer.tracks if t in SUPPORTED_TRACKS and offer.offers(f"{t}/stable")]
    if not tracks:
        return None
    return f"{max(tracks, key=version_tuple)}/stable"


def missing_channel(channel: str, offer: Offer) -> str:
    """Why ``channel`` cannot be installed from the store ("" when the store offers it)."""
    if offer.offers(channel):
        return ""
    return (
        f"channel {channel!r} is not in the snap store (etcd there: {offer.describe()}); "
        "choose one of those"
    )


def no_supported_track(offer: Offer) -> str:
    return (
        f"the snap store offers no etcd track this charm supports on stable "
        f"({', '.join(SUPPORTED_TRACKS)}; the store has {offer.describe()}): set channel "
        "to one it has, or attach the etcd snap as the etcd resource"
    )


def newer(offer: Offer, channel: str, revision: str, version: str) -> dict[str, str]:
    """What ``offer`` releases in ``channel`` that is newer than ``revision`` (etcd
    ``version``): {"channel", "revision", "version"}, or {} (nothing newer)."""
    release = offer.release(channel)
    if release is None or not release[1] or release[1] == revision:
        return {}
    version_newer, rev = release
    if version_tuple(version_newer) < version_tuple(version):
        return {}
    return {"channel": channel, "revision": rev, "version": version_newer}
