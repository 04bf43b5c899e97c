"""The pipeline registry: what each registered pipeline declares, and the platform finding it
there only (the CLI, the UI and the settings name no pipeline)."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

import caudal
from caudal.cli.pipeline_commands import PipelineCommands
from caudal.pipelines import registry
from caudal.settings import Settings

SRC = Path(caudal.__file__).parent
REPO = SRC.parents[1]


def test_every_pipeline_declares_its_commands_page_and_docs() -> None:
    names = [p.name for p in registry.pipelines()]
    assert names[:6] == ["alerts", "sensors", "images", "lakehouse", "emergencies", "trades"]
    for pipeline in registry.pipelines():
        assert isinstance(importlib.import_module(pipeline.commands).COMMANDS, PipelineCommands)
        if pipeline.page is not None:
            assert pipeline.page.script.is_file() and pipeline.page.url_path == pipeline.name
            assert pipeline.page.summary
        assert pipeline.docs and (REPO / pipeline.docs.partition("#")[0]).is_file()


def test_each_section_is_read_under_its_published_variable_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CAUDAL_EMERGENCIES_ROUTES", "/elsewhere/routes.sql")
    monkeypatch.setenv("CAUDAL_IMAGES_MAX_BYTES", "1234")
    monkeypatch.setenv("CAUDAL_FINNHUB_URL", "wss://example.invalid")
    settings = Settings()
    sections = {type(s).__name__: s for s in (p.of(settings) for p in registry.settings_sections())}

    assert sections["EmergenciesSettings"].routes == Path("/elsewhere/routes.sql")
    assert sections["ImagesSettings"].max_bytes == 1234
    assert sections["TradesSettings"].finnhub_url == "wss://example.invalid"
    assert settings.images_max_bytes == 1234


def test_a_registered_package_that_does_not_import_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(registry.ENVIRONMENT, "no_such_pipeline_package")
    registry.pipelines.cache_clear()
    try:
        with pytest.raises(ImportError, match="no_such_pipeline_package"):
            registry.pipelines()
    finally:
        monkeypatch.delenv(registry.ENVIRONMENT)
        registry.pipelines.cache_clear()


@pytest.mark.parametrize("where", ["cli", "ui", "settings.py"])
def test_the_cli_ui_and_settings_name_no_pipeline(where: str) -> None:
    names = "|".join(p.name for p in registry.pipelines())
    files = [SRC / where] if where.endswith(".py") else sorted((SRC / where).rglob("*.py"))
    found = [
        f"{path.relative_to(SRC)}:{n}: {line.strip()}"
        for path in files
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(rf"\b({names})\b", line, re.IGNORECASE)
    ]
    assert not found, "\n".join(found)
