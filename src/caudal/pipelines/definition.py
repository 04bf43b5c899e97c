"""What a pipeline registers: the parts of it that the CLI, the UI and the settings discover.

A pipeline's folder holds everything specific to it; its package ``__init__`` declares one
``PIPELINE = PipelineDefinition(...)`` and ``caudal.pipelines.registry`` lists the package.
This module is imported while ``caudal.settings`` builds its class, so it (and each pipeline's
``__init__`` and settings section) imports nothing of Caudal's but this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Self

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from caudal.settings import Settings


class SettingsSection(BaseModel):
    """A pipeline's settings: field ``x`` is the setting ``<prefix>x`` (``CAUDAL_<PREFIX>X``).

    ``caudal.settings.Settings`` gains every registered section's fields under those names, so
    the environment, ``caudal.yaml``, secret files and ``caudal config`` treat them as any other
    setting; pipeline code reads its own section, typed, with ``Section.of(settings)``.
    """

    model_config = ConfigDict(frozen=True)

    prefix: ClassVar[str]
    """``"<pipeline>_"``, so that a section's variables are ``CAUDAL_<PIPELINE>_*``."""

    @classmethod
    def setting_names(cls) -> dict[str, str]:
        """Field of this section → its name among the settings."""
        return {name: f"{cls.prefix}{name}" for name in cls.model_fields}

    @classmethod
    def of(cls, settings: Settings) -> Self:
        """This section's values in ``settings``."""
        values = {field: getattr(settings, name) for field, name in cls.setting_names().items()}
        return cls.model_validate(values)


@dataclass(frozen=True)
class Page:
    """A page of ``caudal ui``: a Streamlit script, its menu entry and what it shows."""

    script: Path
    title: str
    icon: str
    summary: str
    url_path: str


@dataclass(frozen=True)
class PipelineDefinition:
    """One registered pipeline: its name and where its CLI, page, settings and docs are.

    ``commands`` names a module (imported only by the CLI) whose ``COMMANDS`` is a
    ``caudal.cli.pipeline_commands.PipelineCommands``: ``caudal run <name>`` and the rest.
    """

    name: str
    commands: str
    settings: type[SettingsSection] | None = None
    page: Page | None = None
    docs: str | None = None
    """The pipeline's documentation page, relative to the repository root."""
