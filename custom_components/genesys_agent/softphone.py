"""Home Assistant as the agent's WebRTC phone: the options, the phone's life, its repairs.

The phone itself (``genesys_cloud.softphone.phone``) lives in the client; this module reads
the entry's options into its settings, offers the host's ALSA devices to the options flow,
starts it with the entry (an options change reloads the entry, so it also stops and starts with
the option) and turns what it reports into repair issues: a station that is no WebRTC phone, and
an audio device that cannot open, by name.
"""

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from .const import (
    CAPTURE_SILENCE,
    CAPTURE_TONE,
    CONF_SOFTPHONE,
    CONF_SOFTPHONE_ANSWER,
    CONF_SOFTPHONE_CAPTURE,
    CONF_SOFTPHONE_PLAYBACK,
    DOMAIN,
    LOGGER,
    PLAYBACK_NONE,
)
from .genesys_cloud import AgentSession
from .genesys_cloud.exceptions import GenesysAudioDeviceError
from .genesys_cloud.softphone.devices import AlsaDevice, list_alsa_devices
from .genesys_cloud.softphone.models import AudioSource
from .genesys_cloud.softphone.phone import AnswerMode, MediaState, Softphone, SoftphoneOptions

ISSUE_NOT_WEBRTC = "softphone_not_webrtc"
ISSUE_DEVICE = "softphone_device"


def capture_source(value: str) -> AudioSource:
    """The outgoing audio a capture option names: tone, silence, a file (a path) or a device."""
    match value:
        case "" | "silence":
            return AudioSource.silence()
        case "tone":
            return AudioSource.tone()
    return AudioSource.file(value) if value.startswith("/") else AudioSource.alsa(value)


def softphone_options(options: Mapping[str, Any]) -> SoftphoneOptions | None:
    """The phone's settings from the entry's options; None while the softphone is off."""
    if not options.get(CONF_SOFTPHONE, False):
        return None
    playback = options.get(CONF_SOFTPHONE_PLAYBACK, PLAYBACK_NONE)
    return SoftphoneOptions(
        source=capture_source(options.get(CONF_SOFTPHONE_CAPTURE, CAPTURE_SILENCE)),
        output_device=None if playback in ("", PLAYBACK_NONE) else playback,
        answer_mode=AnswerMode(options.get(CONF_SOFTPHONE_ANSWER, AnswerMode.GENESYS)),
    )


async def async_options_schema(hass: HomeAssistant, options: Mapping[str, Any]) -> dict[Any, Any]:
    """The options flow's softphone fields: devices listed from the host's ALSA cards, or typed."""
    devices = await hass.async_add_executor_job(list_alsa_devices)

    def select(key: str, fixed: list[str], listed: list[AlsaDevice]) -> SelectSelector:
        choices = [SelectOptionDict(value=value, label=value) for value in fixed]
        choices += [SelectOptionDict(value=d.device, label=d.label) for d in listed]
        return SelectSelector(
            SelectSelectorConfig(
                options=choices,
                custom_value=key != CONF_SOFTPHONE_ANSWER,  # a device may be typed
                mode=SelectSelectorMode.DROPDOWN,
                translation_key=key,
            )
        )

    def default(key: str, value: str | bool) -> Any:
        return options.get(key, value)

    return {
        vol.Required(CONF_SOFTPHONE, default=default(CONF_SOFTPHONE, False)): bool,
        vol.Required(
            CONF_SOFTPHONE_CAPTURE, default=default(CONF_SOFTPHONE_CAPTURE, CAPTURE_SILENCE)
        ): select(
            CONF_SOFTPHONE_CAPTURE,
            [CAPTURE_SILENCE, CAPTURE_TONE],
            [d for d in devices if d.capture],
        ),
        vol.Required(
            CONF_SOFTPHONE_PLAYBACK, default=default(CONF_SOFTPHONE_PLAYBACK, PLAYBACK_NONE)
        ): select(CONF_SOFTPHONE_PLAYBACK, [PLAYBACK_NONE], [d for d in devices if d.playback]),
        vol.Required(
            CONF_SOFTPHONE_ANSWER, default=default(CONF_SOFTPHONE_ANSWER, AnswerMode.GENESYS.value)
        ): select(CONF_SOFTPHONE_ANSWER, [mode.value for mode in AnswerMode], []),
    }


async def async_start_softphone(
    hass: HomeAssistant,
    entry: ConfigEntry[Any],
    session: AgentSession,
    on_change: Callable[[], None],
) -> Softphone | None:
    """Start the phone if the option is on and the agent's station is a WebRTC phone.

    Raises the client's typed errors when the streaming service cannot be reached.
    """
    options = softphone_options(entry.options)
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_NOT_WEBRTC}_{entry.entry_id}")
    ir.async_delete_issue(hass, DOMAIN, f"{ISSUE_DEVICE}_{entry.entry_id}")
    if options is None:
        return None
    phone: Softphone

    @callback
    def changed() -> None:
        _follow_device_issue(hass, entry, phone)
        on_change()

    phone = Softphone(session, options, listener=changed)
    if await phone.async_start():
        return phone
    ir.async_create_issue(
        hass,
        DOMAIN,
        f"{ISSUE_NOT_WEBRTC}_{entry.entry_id}",
        is_fixable=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_NOT_WEBRTC,
    )
    return None


def _follow_device_issue(hass: HomeAssistant, entry: ConfigEntry[Any], phone: Softphone) -> None:
    """An audio device that cannot open is a repair naming it, gone once a call's media runs."""
    issue_id = f"{ISSUE_DEVICE}_{entry.entry_id}"
    error = phone.last_error
    if phone.media_state is MediaState.FAILED and isinstance(error, GenesysAudioDeviceError):
        if ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None:
            LOGGER.warning("The softphone cannot open the audio device %s", error.device)
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_DEVICE,
            translation_placeholders={"device": error.device},
        )
    elif phone.media_state is MediaState.CONNECTED:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
