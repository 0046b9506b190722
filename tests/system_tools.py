"""Debian tools the tests drive (chromium, coturn, iproute2), installed on first use.

CI starts from a fresh clone on a bare Debian machine as root, so the harness installs what it
needs from Debian itself rather than asking anyone to do it by hand.
"""

import os
import shutil
import subprocess

import pytest


def ensure_debian_tool(executable: str, package: str) -> str:
    """The path of ``executable`` (a name or a path), installing Debian's ``package`` if needed."""
    if shutil.which(executable) is None:
        apt_get = shutil.which("apt-get")
        if os.geteuid() != 0 or apt_get is None:
            pytest.fail(f"these tests need Debian's {package}: apt-get install {package}")
        subprocess.run([apt_get, "update", "-qq"], check=True)  # noqa: S603 - fixed arguments
        subprocess.run(  # noqa: S603 - fixed arguments
            [apt_get, "install", "-y", "-qq", package],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
    path = shutil.which(executable)
    if path is None:
        pytest.fail(f"Debian's {package} installed no {executable}")
    return path
