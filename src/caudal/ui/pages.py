"""The UI's pages: the platform's own, then each registered pipeline's.

The app's navigation and the home page's list are both built from here, so a pipeline's page
(declared in its ``PipelineDefinition``) needs no edit in this package.
"""

from __future__ import annotations

from pathlib import Path

from caudal.pipelines.definition import Page
from caudal.pipelines.registry import pipelines

VIEWS = Path(__file__).parent / "views"

HOME_SCRIPT = VIEWS / "home.py"

CLUSTER_PAGE = Page(VIEWS / "cluster.py", "Cluster", ":material/hub:", "cluster")
"""The platform's own page (not a pipeline's), listed first."""


def pipeline_pages() -> list[Page]:
    """The registered pipelines' pages, in registration order."""
    return [p.page for p in pipelines() if p.page is not None]
