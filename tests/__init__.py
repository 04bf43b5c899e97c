"""Caudal's tests: unit/, integration/, e2e/; shared code in support/, fixtures in conftest."""
