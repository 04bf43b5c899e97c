"""Metrics, real-alert sanity table and the model card of the alert stamp classifier.

Every number in the card is computed by the training run that writes it; the real-alert table
pairs each prediction with a rule-of-thumb reading of the alert's own metadata so a reviewer
can see at a glance whether the answer is defensible.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from caudal.models.metrics import classification_metrics as classification_metrics
from caudal.models.onnx_classifier import OnnxClassifier
from caudal.pipelines.alerts.features import FEATURES, alert_inputs
from caudal.pipelines.alerts.model.calibrate import read_alerts
from caudal.pipelines.alerts.model.card_template import TEMPLATE


def _value(candidate: dict, name: str) -> float | None:
    value = candidate.get(name)
    return None if value is None or value <= -99 else float(value)


def metadata_reading(candidate: dict) -> tuple[str, str]:
    """(class the metadata alone suggests, evidence) from ZTF rules of thumb."""
    drb, rb = _value(candidate, "drb"), _value(candidate, "rb")
    score = drb if drb is not None else rb
    sg, dist, ss = (
        _value(candidate, "sgscore1"),
        _value(candidate, "distpsnr1"),
        _value(candidate, "ssdistnr"),
    )
    ndet = int(candidate.get("ndethist") or 0)
    score_text = (
        f"drb={drb:.3f}" if drb is not None else f"rb={rb if rb is None else round(rb, 2)} (no drb)"
    )
    ps1 = (
        f'sgscore1={sg:.2f} at distpsnr1={dist:.2f}"'
        if sg is not None and dist is not None
        else "no PS1"
    )
    evidence = f"{score_text}; {ps1}; ndethist={ndet}; isdiffpos={candidate.get('isdiffpos')}"
    if ss is not None and ss >= 0:
        evidence += f'; ssdistnr={ss:.1f}"'
    star = sg is not None and dist is not None and dist < 1.5 and sg > 0.7
    if ss is not None and 0 <= ss < 5 and ndet <= 2:
        return "asteroid", evidence + " -> known solar-system object"
    if star and ndet >= 2:
        return "VS", evidence + " -> repeated variability on a PS1 star"
    if score is not None and score < 0.3:
        return "bogus", evidence + " -> low real/bogus score"
    if star:
        return "VS", evidence + " -> variability on a PS1 star"
    if sg is not None and dist is not None and dist < 1.5 and ndet > 2:
        return "AGN", evidence + " -> repeated variability at a galaxy nucleus"
    if sg is not None and sg < 0.5 and dist is not None and dist < 5:
        return "SN", evidence + " -> new source near a galaxy"
    return ("bogus" if ndet <= 1 else "?"), evidence + " -> no clear counterpart"


def predict_real(classifier: OnnxClassifier, directory: Path) -> list[dict[str, Any]]:
    """Predict every real alert in ``directory``; one row per alert with the metadata reading."""
    alerts = list(read_alerts(directory))
    if not alerts:
        return []
    stamps, meta, flags = alert_inputs(alerts)
    proba = classifier.predict_proba({"stamps": stamps, "metadata": meta})
    trusting = meta.copy()  # what the model says if ZTF's real/bogus scores had said "real"
    trusting[:, [FEATURES.index("rb"), FEATURES.index("drb")]] = (0.9, 0.95)
    trusting[:, [FEATURES.index("rb_missing"), FEATURES.index("drb_missing")]] = 0.0
    if_real = classifier.predict_proba({"stamps": stamps, "metadata": trusting}).argmax(axis=1)
    rows = []
    for alert, p, flag, alt in zip(alerts, proba, flags, if_real, strict=True):
        expected, evidence = metadata_reading(alert["candidate"])
        best = int(p.argmax())
        rows.append(
            {
                "objectId": alert["objectId"],
                "candid": int(alert["candid"]),
                "predicted": classifier.classes[best],
                "confidence": float(p[best]),
                "probabilities": [float(x) for x in p],
                "metadata_suggests": expected,
                "predicted_if_rb_high": classifier.classes[int(alt)],
                "evidence": evidence,
                "nan_fraction": flag.max_nan_fraction,
            }
        )
    return rows


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(x) for x in row) + " |" for row in rows]


CALIBRATION_HEADER = ["statistic"] + [
    f"{who} {stat}" for who in ("real", "sim") for stat in ("min", "median", "max")
]


def _span(values: dict[str, float] | None) -> list[str]:
    if values is None:
        return ["-", "-", "-"]
    return [f"{values[k]:.3g}" for k in ("min", "median", "max")]


def _real_table(rows: list[dict[str, Any]]) -> str:
    header = ["objectId", "candid", "predicted", "confidence", "if rb/drb high"]
    header += ["metadata suggests", "evidence"]
    cells = [
        [r["objectId"], r["candid"], r["predicted"], f"{r['confidence']:.2f}"]
        + [r["predicted_if_rb_high"], r["metadata_suggests"], r["evidence"]]
        for r in rows
    ]
    return "\n".join(_table(header, cells)) if rows else "(no real samples found)"


def render_card(info: dict[str, Any]) -> str:
    """The markdown model card from the training run's ``info`` (see ``train.train``)."""
    classes, test = info["classes"], info["heldout"]
    per_class = test["per_class"]
    confusion = [
        [f"**{c}**", *row] for c, row in zip(classes, test["confusion_matrix"], strict=True)
    ]
    scores = [
        [
            c,
            f"{per_class[c]['precision']:.3f}",
            f"{per_class[c]['recall']:.3f}",
            per_class[c]["support"],
        ]
        for c in classes
    ]
    real_stats, sim_stats = info["calibration"]["real"], info["calibration"]["simulated"]
    calibration = [
        [name, *_span(real_stats.get(name)), *_span(sim_stats[name])] for name in sim_stats
    ]
    real = info["real_samples"]
    return TEMPLATE.format(
        version=info["version"],
        n_features=len(info["metadata_features"]),
        classes=", ".join(f"{i}={c}" for i, c in enumerate(classes)),
        features="\n".join(f"{i}. `{f}`" for i, f in enumerate(info["metadata_features"])),
        opset=info["opset"],
        size_kb=f"{info['onnx_bytes'] / 1024:.0f}",
        calibration="\n".join(_table(CALIBRATION_HEADER, calibration)),
        command=info["command"],
        n_train=info["n_train"],
        seed=info["seed"],
        epochs=info["epochs"],
        threads=info["threads"],
        seconds=f"{info['train_seconds']:.0f}",
        test_seed=info["test_seed"],
        n_test=test["n"],
        accuracy=f"{test['accuracy']:.3f}",
        log_loss=f"{test['log_loss']:.3f}",
        confusion="\n".join(_table(["true \\ predicted", *classes], confusion)),
        per_class="\n".join(_table(["class", "precision", "recall", "support"], scores)),
        agree=sum(r["predicted"] == r["metadata_suggests"] for r in real),
        untested=", ".join(sorted(set(classes) - {r["metadata_suggests"] for r in real})) or "none",
        n_real=len(real),
        real=_real_table(real),
    )
