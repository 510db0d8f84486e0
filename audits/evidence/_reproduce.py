"""``fmaudit reproduce REPORT``: run every audit a report names again, on the stored model, with the parameters it
recorded, and say number by number whether each claim holds."""

from __future__ import annotations

import json
import math
from pathlib import Path

from fmcore.errors import ConfigError

#: metrics that measure the run, not the model: never compared
TIMINGS = ("seconds", "latency", "threads", "repeats")


def load_report(path: str | Path) -> dict:
    """A report's record from its .json file or from the record embedded in its .html file."""
    from ._html import embedded_record

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No report at {path}.")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        text = embedded_record(text)
        if text is None:
            raise ConfigError(f"{path.name} has no embedded report record.")
    try:
        return json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path.name} is not a report: {exc}") from None


def _compare(key: str, claimed, again, metrics: dict) -> dict:
    row = {"metric": key, "claimed": claimed, "again": again}
    if again is None:
        return {**row, "status": "missing"}
    if isinstance(claimed, bool) or not isinstance(claimed, int | float):
        return {**row, "status": "reproduced" if claimed == again else "differs"}
    if isinstance(again, int | float) and math.isclose(claimed, again, rel_tol=1e-9, abs_tol=1e-12):
        return {**row, "status": "reproduced"}
    low, high = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    if isinstance(again, int | float) and isinstance(low, int | float) and isinstance(high, int | float) \
            and low <= again <= high:
        return {**row, "status": "within its interval", "interval": [low, high]}
    return {**row, "status": "differs"}


def reproduce(report: dict, store, progress=None) -> dict:
    """Re-run each audit of ``report`` (not stored again) and compare every number it claimed. Deterministic audits
    must match exactly; a number with a stated interval may fall anywhere inside it."""
    from .._registry import get_audit, run_audit

    model_id = report["model"]["id"]
    record = store.get_model(model_id)
    problems = [f"model {model_id}: {p}" for p in store.weight_problems(model_id)]
    if record.sha256 != report["model"]["sha256"]:
        problems.append(f"model {model_id}'s weights are not the ones the report names")
    rows = []
    if problems:
        return {"ok": False, "model_id": model_id, "problems": problems, "rows": rows}
    classifier, dataset = store.load_classifier(model_id), store.load_model_dataset(model_id)
    for i, audit in enumerate(report.get("audits", [])):
        if progress:
            progress(i / max(1, len(report["audits"])), f"{audit['name']} ({audit['id']})")
        if audit["name"] == "compression":
            rows.append({"audit": audit["id"], "name": "compression", "metric": "-", "status": "skipped",
                         "claimed": None, "again": "latency is a property of the machine; sizes are re-checked by "
                                                  "verify --log"})
            continue
        spec = get_audit(audit["name"])
        params = {k: v for k, v in audit["params"].items() if k in spec.defaults}
        result = run_audit(audit["name"], classifier, dataset, model_id, store=store, **params)
        for key, claimed in audit["metrics"].items():
            if any(t in key for t in TIMINGS) or isinstance(claimed, dict | list):
                continue
            rows.append({"audit": audit["id"], "name": audit["name"],
                         **_compare(key, claimed, result.metrics.get(key), audit["metrics"])})
    failed = [r for r in rows if r["status"] in ("differs", "missing")]
    return {"ok": not failed, "model_id": model_id, "problems": [], "rows": rows,
            "counts": {s: sum(r["status"] == s for r in rows) for s in
                       ("reproduced", "within its interval", "differs", "missing", "skipped")}}
