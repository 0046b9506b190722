"""A local emulator of the parts of Genesys Cloud that genesys_agent uses."""
