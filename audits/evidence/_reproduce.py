"""``fmaudit reproduce REPORT``: check every claim of a report against its signed copy, run every audit it names
again, on the stored model, with the parameters it recorded, and say number by number whether each claim holds."""

from __future__ import annotations

import math
from pathlib import Path

from fmcore.errors import ConfigError

#: metrics that measure the run, not the model: never compared
TIMINGS = ("seconds", "latency", "threads", "repeats")


def load_report(path: str | Path) -> dict:
    """A report's record from its .json file or from the record embedded in its .html file; ``ConfigError`` for a
    file that is not one (a signature envelope, not JSON, no record)."""
    from ._report import _read_record, _refuse_envelope

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No report at {path}.")
    _refuse_envelope(path)
    report, _ = _read_record(path)
    for key in ("model", "audits"):
        if not isinstance(report.get(key), dict | list):
            raise ConfigError(f"{path.name} is not a report: it has no {key!r}.")
    return report


def _close(claimed, again, tolerance: float) -> bool:
    """Whether a recomputed value equals a claimed one: numbers within ``tolerance`` (relative; 1e-12 absolute),
    nulls only nulls, everything else (text, lists, tables) exactly."""
    if isinstance(claimed, bool) or isinstance(again, bool) or claimed is None or again is None:
        return claimed == again
    if isinstance(claimed, int | float) and isinstance(again, int | float):
        if math.isnan(claimed) or math.isnan(again):
            return math.isnan(claimed) and math.isnan(again)
        return math.isclose(claimed, again, rel_tol=tolerance, abs_tol=1e-12)
    if isinstance(claimed, dict) and isinstance(again, dict):
        return claimed.keys() == again.keys() and all(_close(v, again[k], tolerance) for k, v in claimed.items())
    if isinstance(claimed, list) and isinstance(again, list):
        return len(claimed) == len(again) and all(_close(a, b, tolerance) for a, b in zip(claimed, again, strict=True))
    return claimed == again


def _compare(key: str, claimed, again, tolerance: float) -> dict:
    row = {"metric": key, "claimed": claimed, "again": again, "tolerance": tolerance}
    return {**row, "status": "reproduced" if _close(claimed, again, tolerance) else "differs"}


def _claim_problems(report: dict, store) -> tuple[list[str], list[dict]]:
    """The report's claims against their signed copies: its content hash, and every audit's metrics against the
    store's record of that audit (hash-chained in the trail). Returns (problems, rows naming each edited claim)."""
    from ._report import _digest

    problems, rows = [], []
    if _digest(report) != report.get("content_sha256"):
        problems.append("the report's content does not match its content_sha256: it was edited after it was written")
    stored = {a["id"]: a for a in store.list_audits(report["model"]["id"])}
    for audit in report.get("audits", []):
        copy = stored.get(audit.get("id"))
        if copy is None:
            problems.append(f"audit {audit.get('id')} ({audit.get('name')}) is not in the store: nothing signed "
                            "backs its claims")
            continue
        signed = copy["result"].get("metrics") or {}
        for key in sorted(set(audit.get("metrics") or {}) | set(signed)):
            claimed, recorded = (audit.get("metrics") or {}).get(key), signed.get(key)
            if claimed != recorded:
                rows.append({"audit": audit["id"], "name": audit["name"], "metric": key, "claimed": claimed,
                             "again": recorded, "status": "edited"})
                problems.append(f"{audit['name']} {audit['id']}: the claim {key} = {claimed!r} is not what was "
                                f"recorded ({recorded!r})")
        if audit.get("params") != copy["params"]:
            problems.append(f"{audit['name']} {audit['id']}: its parameters are not the recorded ones")
    return problems, rows


def reproduce(report: dict, store, progress=None) -> dict:
    """Check each claim of ``report`` against its signed copy, then re-run each audit (not stored again) with the
    recorded parameters and compare every number it claimed with the recomputed one, within the tolerance the audit
    declares (exact for deterministic audits). ``ok`` only when every claim is the recorded one and reproduces."""
    from .._registry import get_audit, run_audit

    model_id = report["model"]["id"]
    record = store.get_model(model_id)
    problems = [f"model {model_id}: {p}" for p in store.weight_problems(model_id)]
    if record.sha256 != report["model"].get("sha256") or \
            record.manifest_sha256 != report["model"].get("manifest_sha256"):
        problems.append(f"model {model_id}'s files are not the ones the report names")
    claims, rows = _claim_problems(report, store)
    problems += claims
    if problems:
        return {"ok": False, "model_id": model_id, "problems": problems, "rows": rows, "counts": _counts(rows)}
    classifier, dataset = store.load_classifier(model_id), store.load_model_dataset(model_id)
    for i, audit in enumerate(report.get("audits", [])):
        if progress:
            progress(i / max(1, len(report["audits"])), f"{audit['name']} ({audit['id']})")
        spec = get_audit(audit["name"])
        if spec.not_reproduced:
            rows.append({"audit": audit["id"], "name": audit["name"], "metric": "-", "status": "skipped",
                         "claimed": None, "again": spec.not_reproduced})
            continue
        params = {k: v for k, v in audit["params"].items() if k in spec.defaults}
        result = run_audit(audit["name"], classifier, dataset, model_id, store=store, **params)
        for key, claimed in audit["metrics"].items():
            if any(t in key for t in TIMINGS):
                continue
            rows.append({"audit": audit["id"], "name": audit["name"],
                         **_compare(key, claimed, result.metrics.get(key), spec.tolerance)})
    failed = [r for r in rows if r["status"] == "differs"]
    return {"ok": not failed, "model_id": model_id, "problems": [], "rows": rows, "counts": _counts(rows)}


def _counts(rows: list[dict]) -> dict:
    return {s: sum(r["status"] == s for r in rows) for s in ("reproduced", "differs", "edited", "skipped")}
