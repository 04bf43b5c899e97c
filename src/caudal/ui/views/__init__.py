"""The UI's pages. To add one: write ``<name>.py`` here and append it to ``PIPELINE_PAGES``.

The app's navigation and the home page's list are both built from ``PIPELINE_PAGES``, so a new
page needs no other edit. (Not named ``pages/``: Streamlit would also serve a folder of that
name beside the app by itself, bypassing ``st.navigation`` and the app's page setup.)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass(frozen=True)
class PageInfo:
    """One pipeline page: its script in this folder, its menu entry and what it shows."""

    script: str
    title: str
    icon: str
    summary: str

    @property
    def path(self) -> Path:
        return HERE / self.script

    @property
    def url_path(self) -> str:
        return Path(self.script).stem


CLUSTER_PAGE = PageInfo(
    "cluster.py",
    "Cluster",
    ":material/hub:",
    "The Kafka cluster and what runs on it, as `caudal status` prints it: brokers, topics "
    "with partitions, replication, end offsets and records/s, consumer groups with their lag, "
    "and the running pipelines' queries with rate, batch duration, state and last progress.",
)
"""The platform's own page (not a pipeline's), listed first."""

PIPELINE_PAGES = [
    PageInfo(
        "alerts.py",
        "Alerts",
        ":material/flare:",
        "Output of `caudal run alerts` / `caudal demo`: alerts per class, the classified "
        "alerts with their flags and errors, and for one alert its science, template and "
        "difference stamps beside the model's class probabilities.",
    ),
    PageInfo(
        "images.py",
        "Images",
        ":material/image_search:",
        "Classify one picture (upload or camera) at once, or a batch through the object "
        "store, Kafka and Spark (`caudal run images`): table, image grid and statistics "
        "of a session, as its rows arrive.",
    ),
    PageInfo(
        "lakehouse.py",
        "Lakehouse",
        ":material/database:",
        "Bronze / silver / gold Delta tables of `caudal run lakehouse`: rows, freshness, "
        "history and sample rows of each table, quarantined rows by rule.",
    ),
    PageInfo(
        "emergencies.py",
        "Emergencies",
        ":material/emergency:",
        "112 calls of `caudal run emergencies`: records per route topic and dead letters, "
        "calls per route over time, and the newest calls on a map of Spain.",
    ),
    PageInfo(
        "trades.py",
        "Trades",
        ":material/candlestick_chart:",
        "Live market trades of `caudal run trades`: per symbol price candles with VWAP, "
        "volume, next-bar forecast against actual with rolling error, and feed health.",
    ),
]
