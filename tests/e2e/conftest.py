"""The end-to-end tests' own fixture: a headless Chromium (unit tests never load a driver)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver

from tests.support.browser import chrome


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    """Headless Chromium for the browser tests of one module."""
    with chrome(tmp_path_factory.mktemp("chrome")) as driver:
        yield driver
