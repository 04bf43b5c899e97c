"""Hypothesis for the pipelines' fuzz tests: seeded, a few examples of many records each.

A pipeline run costs tens of seconds, so an example is a whole batch of drawn records put
through the real broker and the real Spark job, not one record: few examples, many cases.
``derandomize`` makes every run draw the same batches (CI is reproducible) and nothing is
shrunk (a shrink step would be another full run); a failure prints the record it is about.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st


def batches(examples: int) -> settings:
    """Settings for a test whose every example is one pipeline run over a drawn batch."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )


@dataclass
class Tally:
    """Cases a fuzz test tried: pipeline runs (examples) and input records over all of them."""

    examples: int = 0
    cases: int = 0

    def add(self, cases: int) -> None:
        self.examples += 1
        self.cases += cases


@st.composite
def damaged(draw: st.DrawFn, data: bytes) -> bytes:
    """A real file with random bytes flipped, then maybe truncated (sometimes to nothing)."""
    out = bytearray(data)
    for at, mask in draw(
        st.lists(st.tuples(st.integers(0, len(data) - 1), st.integers(1, 255)), max_size=8)
    ):
        out[at] ^= mask
    if draw(st.booleans()):
        out = out[: draw(st.integers(0, len(out) - 1))]
    return bytes(out)
