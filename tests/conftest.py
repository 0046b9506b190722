"""Shared pytest setup: the Genesys Cloud emulator's fixture (``emulator``) for every test, and
the softphone's network fixtures (``coturn``, ``iproute2``)."""

pytest_plugins = ["genesys_emulator.testing", "tests.softphone.fixtures"]
