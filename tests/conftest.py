"""Shared pytest setup: the Genesys Cloud emulator's fixture (``emulator``) for every test."""

pytest_plugins = ["genesys_emulator.testing"]
