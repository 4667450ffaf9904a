"""The LangGraph versions this adapter is written and tested against.

``langgraph-checkpoint`` 4.1.1 is the first release with every 2025–26 serializer advisory fixed
(CVE-2025-64439, CVE-2026-27794, CVE-2026-48775); ``langgraph`` 1.0.10 fixes CVE-2026-28277.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from ...errors import UnsupportedVersion

#: package: (lowest supported, first unsupported major)
SUPPORTED = {
    "langgraph": ((1, 0, 10), 2),
    "langgraph-checkpoint": ((4, 1, 1), 5),
}


def _parse(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)


def check_versions() -> dict[str, str]:
    """The installed versions; raises UnsupportedVersion naming the package to upgrade."""
    found = {}
    for package, (lowest, major_limit) in SUPPORTED.items():
        try:
            text = version(package)
        except PackageNotFoundError:
            raise UnsupportedVersion(f"{package} is not installed; pip install "
                                     f"'flowpoint[langgraph]'") from None
        got = _parse(text)
        if got < lowest or got[0] >= major_limit:
            low = ".".join(map(str, lowest))
            raise UnsupportedVersion(
                f"{package} {text} is not supported: flowpoint needs {package}>={low},"
                f"<{major_limit} (earlier releases have serializer vulnerabilities, later majors "
                f"are untested); pip install '{package}>={low},<{major_limit}'")
        found[package] = text
    return found
