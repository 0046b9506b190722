"""Shared pytest setup: the Genesys Cloud emulator's fixture (``emulator``) for every test, and
the softphone's network fixtures (``loopback_ice``, ``coturn``)."""

pytest_plugins = ["genesys_emulator.testing", "tests.softphone.fixtures"]
