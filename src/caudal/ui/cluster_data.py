"""What the Cluster page shows, without Streamlit: the broker's state and the running queries.

The same tables as ``caudal status`` (``caudal.status``). The page keeps its previous look so
each refresh shows records/s since the one before. A broker that is not running, or does not
answer, arrives as a ``CaudalError`` for the page to show as a message.
"""

from __future__ import annotations

from caudal.broker.admin import TopicAdmin
from caudal.broker.cluster import ClusterLook, look, with_rates
from caudal.broker.embedded import resolve_bootstrap
from caudal.pipelines import run_status
from caudal.settings import Settings
from caudal.status import Section, sections


def load(settings: Settings, previous: ClusterLook | None) -> tuple[ClusterLook, list[Section]]:
    """A new look at the cluster (rates against ``previous``) and the tables to draw."""
    admin = TopicAdmin(settings, resolve_bootstrap(settings))
    try:
        now = with_rates(previous, look(admin))
    finally:
        admin.close()
    return now, sections(now, run_status.running(settings))
