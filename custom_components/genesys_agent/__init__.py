"""The Genesys Cloud Agent integration."""
