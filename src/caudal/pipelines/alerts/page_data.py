"""What the alerts page shows, without Streamlit: load and filter results, render stamps.

Kept apart from the page so every rule (which rows an "errors only" filter keeps, how a stamp
is stretched) is unit-tested directly, and the page stays layout only. Nothing here raises
anything but ``CaudalError`` for bad input, so the page can always show a message instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import cast

import fastavro
import numpy as np
import pandas as pd
from PIL import Image

from caudal.errors import CaudalError
from caudal.pipelines.alerts.demo import DEMO_OUTPUT
from caudal.pipelines.alerts.records import CUTOUTS, ForeignAlert, split_alert
from caudal.pipelines.alerts.stamps import StampError, decode_stamp, robust_normalise

TABLE_COLUMNS = ["objectId", "candid", "class", "confidence", "magpsf", "flags", "error"]
NEEDED = {"objectId", "candid", "class", "confidence", "magpsf", "source_file", "error"}
NEEDED |= {"has_metadata", "has_cutouts", "cutouts_valid", "classified"}
SHOW = {"All": "all", "Classified": "classified", "Errors only": "errors"}
UNCLASSIFIED = "unclassified"
MASKED_RGB = (60, 90, 130)  # masked (NaN) pixels: a blue no grey stretch can produce
_RUN_HINT = "run `caudal demo` or `caudal run alerts --output FILE`, or enter another path"


def default_output(args: Sequence[str]) -> Path:
    """The file given to ``caudal ui --output`` (the app's one argument), else the demo's."""
    return Path(args[0]) if args else DEMO_OUTPUT


def load_results(path: Path) -> pd.DataFrame:
    """All rows of a ``caudal run alerts`` output, newest first, with a ``flags`` column."""
    if not path.exists():
        raise CaudalError(f"{path} does not exist (yet)", _RUN_HINT)
    try:
        frame = _read_parquet_folder(path) if path.is_dir() else _read_complete_csv(path)
    except (OSError, ValueError) as exc:  # pandas' and pyarrow's parse errors are ValueErrors
        raise CaudalError(f"cannot read {path}: {exc}", _RUN_HINT) from exc
    if frame.empty:
        return pd.DataFrame(columns=[*sorted(NEEDED), "flags"])
    missing = NEEDED - set(frame.columns)
    if missing:
        named = ", ".join(sorted(missing)[:3]) + (", ..." if len(missing) > 3 else "")
        raise CaudalError(f"{path} is not alerts output: no column(s) {named}", _RUN_HINT)
    frame = frame.iloc[::-1].reset_index(drop=True)  # appended in arrival order: newest first
    frame["class"] = frame["class"].fillna(UNCLASSIFIED)
    frame["flags"] = flags(frame)
    return frame


def _read_complete_csv(path: Path) -> pd.DataFrame:
    """The CSV up to its last newline: a running pipeline may be half-way through a row."""
    data = path.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    if not complete.strip():
        return pd.DataFrame()
    return pd.read_csv(io.BytesIO(complete))


def _read_parquet_folder(path: Path) -> pd.DataFrame:
    """Every finished batch file (the sink renames ``.part-*.tmp`` into place when done)."""
    parts = [pd.read_parquet(p) for p in sorted(path.glob("part-*.parquet"))]
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()


def flags(frame: pd.DataFrame) -> np.ndarray:
    """One readable word per row from the pipeline's booleans, in the order it checks them."""
    conditions = [
        frame["classified"].astype(bool),
        ~frame["has_cutouts"].astype(bool),
        ~frame["has_metadata"].astype(bool),
        ~frame["cutouts_valid"].astype(bool),
    ]
    choices = ["classified", "no cutouts", "no metadata", "bad cutouts"]
    return np.select(conditions, choices, default="not classified")


def filter_alerts(frame: pd.DataFrame, classes: Sequence[str], show: str) -> pd.DataFrame:
    """Rows of the chosen classes (none chosen: all) and flag filter ``all|classified|errors``."""
    keep = pd.Series(True, index=frame.index)
    if classes:
        keep &= frame["class"].isin(list(classes))
    if show == "classified":
        keep &= frame["classified"].astype(bool)
    elif show == "errors":
        keep &= ~frame["classified"].astype(bool)
    return frame[keep]


def table_view(rows: pd.DataFrame) -> pd.DataFrame:
    """The table as shown: candid as text (browsers' numbers drop digits past 2**53),
    confidence in percent, an empty error instead of "None"."""
    view = rows[TABLE_COLUMNS].copy()
    view["candid"] = view["candid"].astype(str)
    view["confidence"] = view["confidence"].astype(float) * 100
    view["error"] = view["error"].fillna("")
    return view


def class_counts(frame: pd.DataFrame) -> pd.DataFrame:
    """Alerts per class, most frequent first (the page's bar chart)."""
    counts = frame["class"].value_counts()
    return pd.DataFrame({"class": counts.index, "alerts": counts.to_numpy()})


def probabilities(row: pd.Series) -> pd.DataFrame:
    """The model's probability per class for one alert; empty when it was not classified."""
    probs = {c.removeprefix("p_"): row[c] for c in row.index if c.startswith("p_")}
    frame = pd.DataFrame({"class": list(probs), "probability": list(probs.values())})
    return frame.dropna().reset_index(drop=True)


def read_cutouts(source_file: str, candid: int) -> dict[str, bytes | None]:
    """The science/template/difference bytes of alert ``candid`` from its original Avro file."""
    path = Path(source_file)
    if not path.is_file():
        raise CaudalError(
            f"the alert's source file {path} is not here",
            "stamps are read from the original .avro file: open the UI where the run read it",
        )
    try:
        with path.open("rb") as fh:
            for alert in fastavro.reader(fh):
                try:
                    meta, cutouts = split_alert(cast(dict, alert), source_file)
                except ForeignAlert:
                    continue
                if meta["candid"] == candid:
                    return {name: cutouts[name] for name in CUTOUTS}
    except (ValueError, EOFError, OSError, TypeError, StopIteration) as exc:
        raise CaudalError(f"cannot read alerts from {path}: {exc}") from exc
    raise CaudalError(f"alert {candid} is not in {path}")


def stamp_png(data: bytes | None, scale: int = 4) -> bytes:
    """gzip-FITS stamp bytes → a PNG for the eye; ``StampError`` (a ``CaudalError``) if unusable.

    asinh of (pixel - median) / MAD-sigma (``robust_normalise``, as the model sees it), then a
    0.5-99.5 percentile window, so faint transients and saturated stars both keep detail.
    Masked pixels get their own colour; north is up (FITS rows start at the bottom).
    """
    image = decode_stamp(data)
    finite = np.isfinite(image)
    if not finite.any():
        raise StampError("stamp has no valid pixel (all masked)")
    z, _ = robust_normalise(image)
    low, high = np.percentile(z[finite], [0.5, 99.5])
    grey = np.clip((z - low) / max(float(high - low), 1e-6), 0.0, 1.0) * 255.0
    rgb = np.repeat(grey.astype(np.uint8)[:, :, None], 3, axis=2)
    rgb[~finite] = MASKED_RGB
    picture = Image.fromarray(np.flipud(rgb))
    picture = picture.resize(
        (picture.width * scale, picture.height * scale), Image.Resampling.NEAREST
    )
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


def stamp_images(source_file: object, candid: int) -> dict[str, bytes | str]:
    """PNG per stamp name, or the reason that stamp cannot be shown (the others still can)."""
    if not isinstance(source_file, str) or not source_file:
        raise CaudalError("this alert has no source file: its metadata never arrived")
    images: dict[str, bytes | str] = {}
    for name, stamp in read_cutouts(source_file, candid).items():
        try:
            images[name] = stamp_png(stamp)
        except StampError as exc:
            images[name] = exc.reason
    return images
