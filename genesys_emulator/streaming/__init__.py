"""Genesys' streaming service (Hawk): XMPP over a websocket, and the softphone gateway's signalling.

The media peer that offers each call is injected (see ``media_protocol``), so nothing here imports
aiortc or av.
"""
