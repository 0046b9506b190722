"""Run the product for real: the emulator and a real Home Assistant, wired together.

Used by ``scripts/demo`` and by the browser tests, so both go through one code path.
"""
