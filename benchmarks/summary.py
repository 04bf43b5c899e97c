"""The summary table at the top of RESULTS.md, from the pipeline benchmarks' result files.

    .venv/bin/python benchmarks/summary.py

Each pipeline benchmark saves ``benchmarks/results/<pipeline>.json`` (``harness.Result``); this
rewrites the block between the two ``summary`` markers of RESULTS.md: per goal, the figure,
met or missed, the peak memory of the run and when it was measured.
"""

from __future__ import annotations

import re
from pathlib import Path

from harness import RESULTS, Result

DOC = Path(__file__).resolve().parent / "RESULTS.md"
BEGIN, END = "<!-- summary: begin -->", "<!-- summary: end -->"
ORDER = ["emergencies", "trades", "alerts", "images", "lakehouse"]


def _number(value: float, unit: str) -> str:
    return f"{value:,.2f} {unit}" if value < 100 else f"{value:,.0f} {unit}"


def table(results: list[Result]) -> str:
    lines = [
        "| pipeline | measure | goal | figure | | peak memory | measured |",
        "|---|---|---|---|---|---|---|",
    ]
    for result in results:
        for i, goal in enumerate(result.goals):
            sign = "≥" if goal.higher_is_better else "<"
            lines.append(
                f"| {result.pipeline if i == 0 else ''} | {goal.measure} "
                f"| {sign} {_number(goal.goal, goal.unit)} | {_number(goal.figure, goal.unit)} "
                f"| {'met' if goal.met else '**missed**'} "
                f"| {f'{result.peak_memory_mb:,.0f} MiB' if i == 0 else ''} "
                f"| {result.machine.split(',')[0] if i == 0 else ''} |"
            )
    return "\n".join(lines)


def main() -> None:
    found = {p.stem: Result.load(p) for p in sorted(RESULTS.glob("*.json"))}
    results = [found[name] for name in ORDER if name in found]
    text = DOC.read_text()
    block = f"{BEGIN}\n{table(results)}\n{END}"
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text, flags=re.S)
    else:
        head, _, rest = text.partition("\n\n")
        text = f"{head}\n\n{block}\n\n{rest}"
    DOC.write_text(text)
    print(table(results))


if __name__ == "__main__":
    main()
