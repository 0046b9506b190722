"""The signalling side of the softphone never loads the media stack (about 1 s and 68 MB)."""

import subprocess
import sys

CHECK = """
import sys
import custom_components.genesys_agent.genesys_cloud.softphone.signalling
import custom_components.genesys_agent.genesys_cloud.softphone.transport
import genesys_emulator.streaming.gateway
loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("aiortc", "av", "aioice"))
print(",".join(loaded))
"""


def test_signalling_imports_neither_aiortc_nor_av() -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=60
    )
    assert result.stdout.strip() == ""
