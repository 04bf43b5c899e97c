"""The registered pipelines: the ones shipped here, then any named by ``CAUDAL_PIPELINES``.

Adding a pipeline is its folder plus one line in ``BUILT_IN``; one kept outside this
repository is registered with ``CAUDAL_PIPELINES=package[,package...]`` (importable packages,
each declaring ``PIPELINE``). Read from the environment, not from ``caudal.yaml``: the
registered sections decide which settings exist, so they are known before settings are read.
"""

from __future__ import annotations

import importlib
import os
from functools import cache

from caudal.pipelines.definition import PipelineDefinition, SettingsSection

BUILT_IN = (
    "caudal.pipelines.alerts",
    "caudal.pipelines.sensors",
    "caudal.pipelines.images",
    "caudal.pipelines.lakehouse",
    "caudal.pipelines.emergencies",
    "caudal.pipelines.trades",
)

ENVIRONMENT = "CAUDAL_PIPELINES"


def registered_modules() -> tuple[str, ...]:
    """The packages of every registered pipeline, built-in first."""
    extra = os.environ.get(ENVIRONMENT, "")
    return BUILT_IN + tuple(m.strip() for m in extra.split(",") if m.strip())


@cache
def pipelines() -> tuple[PipelineDefinition, ...]:
    """Every registered pipeline's definition, in registration order, names unique."""
    found: dict[str, PipelineDefinition] = {}
    for module in registered_modules():
        try:
            definition = importlib.import_module(module).PIPELINE
        except (ImportError, AttributeError) as exc:
            raise ImportError(f"pipeline package {module}: {exc}") from exc
        if not isinstance(definition, PipelineDefinition) or definition.name in found:
            raise ImportError(f"{module}.PIPELINE: not a PipelineDefinition, or a taken name")
        found[definition.name] = definition
    return tuple(found.values())


def settings_sections() -> list[type[SettingsSection]]:
    """The registered pipelines' settings sections."""
    return [p.settings for p in pipelines() if p.settings is not None]
