"""Alert files → ``alerts.metadata`` + ``alerts.cutouts``, each file produced once.

A ledger under the data dir remembers every file (path, size, mtime) that was fully produced,
so a restart or a ``--watch`` rescan never produces it again. Files that cannot be read are
written to the rejects file with the reason and counted; they never stop the feed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import fastavro

from caudal.pipelines.alerts.records import ForeignAlert, encode, split_alert
from caudal.pipelines.feeder import Delivered, FeedCounters, Feeder, Record

FLUSH_CANDID = -1
SETTLE_S = 1.0


@dataclass(frozen=True)
class AlertTopics:
    metadata: str = "alerts.metadata"
    cutouts: str = "alerts.cutouts"

    @classmethod
    def named(cls, rename: Callable[[str], str]) -> AlertTopics:
        """The default names passed through ``rename`` (e.g. ``Settings.topic`` for a prefix)."""
        return cls(rename(cls.metadata), rename(cls.cutouts))


class AlertFileFeed(Feeder):
    """Scans ``input_dir`` recursively for ``*.avro``; ``watch`` keeps rescanning."""

    name = "alert files"

    def __init__(
        self,
        input_dir: Path,
        state_dir: Path,
        rejects: Path,
        watch: bool,
        topics: AlertTopics,
        flush_after_s: float,
    ) -> None:
        self.input_dir, self.watch, self.rejects = input_dir, watch, rejects
        self.topics = topics
        self.ledger = state_dir / "produced-files.jsonl"
        self.flush_after_s = flush_after_s

    def records(
        self, stop: threading.Event, counters: FeedCounters
    ) -> Iterator[Record | Delivered]:
        """Each new file's alerts, then (once delivered) the file in the ledger; at the end a
        flush marker for the join."""
        done = self._ledger_keys()
        while not stop.is_set():
            for path, key in self._new_files(done):
                yield from self._file_records(path, counters)
                yield Delivered(partial(self._remember, key))
                done.add(key)
            if not self.watch:
                break
            stop.wait(1.0)
        yield from self._flush_marker()

    def _new_files(self, done: set[str]) -> Iterator[tuple[Path, str]]:
        for path in sorted(self.input_dir.rglob("*.avro")):
            try:
                stat = path.stat()
            except OSError:
                continue
            key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
            if key not in done and (not self.watch or time.time() - stat.st_mtime > SETTLE_S):
                yield path, key

    def _file_records(self, path: Path, counters: FeedCounters) -> Iterator[Record]:
        counters.sources_read += 1
        produced = 0
        if path.stat().st_size == 0:
            self._reject(path, "empty file", counters)
            return
        try:
            with path.open("rb") as fh:
                for alert in fastavro.reader(fh):
                    try:
                        meta, cuts = split_alert(dict(alert), str(path))  # type: ignore[arg-type]
                    except ForeignAlert as exc:
                        self._reject(path, exc.reason, counters)
                        continue
                    key = str(meta["candid"]).encode()
                    yield Record(self.topics.metadata, encode("metadata", meta), key)
                    yield Record(self.topics.cutouts, encode("cutouts", cuts), key, tally=None)
                    produced += 1
        except Exception as exc:  # noqa: BLE001 - fastavro fails damaged bytes in many ways
            # (IndexError, SchemaParseException, ... found by fuzzing): the file is rejected
            reason = (
                "not an Avro file"
                if produced == 0 and "magic" in str(exc).lower()
                else f"unreadable after {produced} alert(s): {exc}"
            )
            self._reject(path, reason, counters)

    def _flush_marker(self) -> Iterator[Record]:
        """A record dated past the watermark, so the join emits unmatched halves at once."""
        stamp = int((time.time() + self.flush_after_s) * 1000)
        marker = {"objectId": "__flush__", "candid": FLUSH_CANDID}
        for topic, kind in ((self.topics.metadata, "metadata"), (self.topics.cutouts, "cutouts")):
            yield Record(topic, encode(kind, marker), b"-1", timestamp_ms=stamp, tally=None)

    def _reject(self, path: Path, reason: str, counters: FeedCounters) -> None:
        counters.rejected += 1
        self.rejects.parent.mkdir(parents=True, exist_ok=True)
        with self.rejects.open("a") as fh:
            fh.write(
                json.dumps(
                    {"file": str(path), "reason": reason, "at": datetime.now(UTC).isoformat()}
                )
                + "\n"
            )

    def _ledger_keys(self) -> set[str]:
        if not self.ledger.exists():
            return set()
        return {json.loads(line)["key"] for line in self.ledger.read_text().splitlines() if line}

    def _remember(self, key: str) -> None:
        self.ledger.parent.mkdir(parents=True, exist_ok=True)
        with self.ledger.open("a") as fh:
            fh.write(json.dumps({"key": key}) + "\n")
