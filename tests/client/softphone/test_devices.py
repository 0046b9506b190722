"""The host's ALSA devices, as /proc/asound lists them."""

from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from custom_components.genesys_agent.genesys_cloud.softphone.devices import (
    AlsaDevice,
    list_alsa_devices,
)


def test_cards_and_their_pcm_devices_become_plughw_names_by_card_id(tmp_path: Path) -> None:
    (tmp_path / "cards").write_text(
        " 1 [Headset        ]: USB-Audio - Jabra Evolve 65\n"
        "                      GN Audio Jabra Evolve 65 at usb-0000:00:14.0-2, full speed\n"
    )
    (tmp_path / "pcm").write_text(
        "01-00: USB Audio : USB Audio : playback 1 : capture 1\n"
        "01-01: Sidetone : Sidetone : playback 1\n"
        "02-00: orphan : orphan : capture 1\n"  # a card /proc/asound/cards does not list
        "garbage line\n"
    )

    assert list_alsa_devices(tmp_path) == [
        AlsaDevice("plughw:CARD=Headset,DEV=0", "Jabra Evolve 65: USB Audio", True, True),
        AlsaDevice("plughw:CARD=Headset,DEV=1", "Jabra Evolve 65: Sidetone", True, False),
    ]


def test_a_host_without_alsa_has_no_devices(tmp_path: Path) -> None:
    assert list_alsa_devices(tmp_path / "missing") == []


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cards=st.text(), pcm=st.text())
def test_no_listing_breaks_the_reader(tmp_path: Path, cards: str, pcm: str) -> None:
    (tmp_path / "cards").write_text(cards, errors="surrogatepass")
    (tmp_path / "pcm").write_text(pcm, errors="surrogatepass")

    for device in list_alsa_devices(tmp_path):
        assert device.device.startswith("plughw:CARD=")
