"""Debian tools the tests drive (chromium, coturn, iproute2), installed on first use.

CI starts from a fresh clone on a bare Debian machine as root, so the harness installs what it
needs from Debian itself rather than asking anyone to do it by hand.
"""

import os
from pathlib import Path
import shutil
import subprocess

import pytest


def ensure_debian_tool(executable: str, package: str) -> str:
    """``executable`` (an absolute path), installing Debian's ``package`` if it is missing."""
    if not Path(executable).exists():
        apt_get = shutil.which("apt-get")
        if os.geteuid() != 0 or apt_get is None:
            pytest.fail(f"these tests need Debian's {package}: apt-get install {package}")
        subprocess.run([apt_get, "update", "-qq"], check=True)  # noqa: S603 - fixed arguments
        subprocess.run(  # noqa: S603 - fixed arguments
            [apt_get, "install", "-y", "-qq", package],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    return executable
