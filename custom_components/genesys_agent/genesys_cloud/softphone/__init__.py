"""The agent's WebRTC softphone: Genesys' streaming signalling and the call's media.

Nothing here imports aiortc or av; only ``media`` does, and it is imported only when the
softphone is enabled.
"""
