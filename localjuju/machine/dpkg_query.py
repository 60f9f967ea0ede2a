"""``dpkg-query`` for a local-model machine (see :mod:`localjuju.machine.dpkg`)."""

from __future__ import annotations

import sys

from .dpkg import query_main


def main(argv: list[str] | None = None) -> int:
    try:
        return query_main(argv)
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
