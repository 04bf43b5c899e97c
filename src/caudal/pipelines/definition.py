"""What a pipeline registers: the parts of it that the CLI, the UI and the settings discover.

A pipeline's folder holds everything specific to it; its package ``__init__`` declares one
``PIPELINE = PipelineDefinition(__name__, ...)`` and ``caudal.pipelines.registry`` lists the
package. Guide: docs/adding-a-pipeline.md.

This module is imported while ``caudal.settings`` builds its class, so it (and each pipeline's
``__init__`` and settings section) imports nothing of Caudal's but this module.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, NamedTuple, Self

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
    """A page of ``caudal ui``: a Streamlit script and its menu entry.

    What the page shows (home page, ``caudal ui --help``) is the first paragraph of the
    script's docstring, read without running the script.
    """

    script: Path
    title: str
    icon: str
    url_path: str

    @property
    def summary(self) -> str:
        docstring = ast.get_docstring(ast.parse(self.script.read_text())) or ""
        return " ".join(docstring.split("\n\n")[0].split())


class Menu(NamedTuple):
    """A pipeline page's entry in the UI's menu: its title and a Material icon name."""

    title: str
    icon: str


@dataclass(frozen=True)
class PipelineDefinition:
    """One registered pipeline, by the conventions of its folder (its package ``__name__``).

    Its name is the folder's; ``cli.py`` declares ``COMMANDS`` (a
    ``caudal.cli.pipeline_commands.PipelineCommands``: ``caudal run <name>`` and the rest);
    with a ``menu``, ``page.py`` is its Streamlit page at ``/<name>``.
    """

    package: str
    settings: type[SettingsSection] | None = None
    menu: Menu | None = None
    docs: str | None = None
    """The pipeline's documentation page, relative to the repository root."""

    @property
    def name(self) -> str:
        return self.package.rpartition(".")[2]

    @property
    def commands(self) -> str:
        """The module whose ``COMMANDS`` the CLI wires (imported by the CLI only)."""
        return f"{self.package}.cli"

    @property
    def page(self) -> Page | None:
        if self.menu is None:
            return None
        folder = Path(str(importlib.import_module(self.package).__file__)).parent
        return Page(folder / "page.py", self.menu.title, self.menu.icon, self.name)
