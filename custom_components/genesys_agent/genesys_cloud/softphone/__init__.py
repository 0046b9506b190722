"""The agent's WebRTC softphone: Genesys' streaming (XMPP) service, its signalling, a media seam.

Nothing here imports aiortc or av: the media session is injected (see ``media_protocol``), so
importing this package costs no more than the rest of the client.
"""
