"""The agent's WebRTC softphone: Genesys' streaming (XMPP) service, its signalling, a media seam.

``stanza`` reads and writes XMPP frames safely, ``transport`` keeps the streaming connection,
``signalling`` turns it into typed call events and commands, ``media_protocol`` is what the
media (aiortc) implements, ``models`` what both share. Nothing here imports aiortc or av: the
media session is injected, so importing this package costs no more than the rest of the client.
"""
