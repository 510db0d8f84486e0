"""What changed between two reports (or two model versions): every metric both measured, with whether the change
is beyond its interval, the policy checks whose status flipped, and the audits only one of them has.

"Beyond its interval": where both values carry a 95% interval (``key_ci`` as ``[low, high]``, or ``key_ci_low`` and
``key_ci_high``), the two intervals do not overlap; where only one does, the other value lies outside it; with no
interval, ``None`` (the change cannot be told from noise by the report alone).
"""

from __future__ import annotations

import math
from pathlib import Path

from fmcore.errors import ConfigError


def _interval(metrics: dict, key: str) -> tuple[float, float] | None:
    ci = metrics.get(f"{key}_ci")
    if isinstance(ci, list | tuple) and len(ci) == 2 and all(isinstance(v, int | float) for v in ci):
        return float(ci[0]), float(ci[1])
    lo, hi = metrics.get(f"{key}_ci_low"), metrics.get(f"{key}_ci_high")
    if isinstance(lo, int | float) and isinstance(hi, int | float):
        return float(lo), float(hi)
    return None


def _number(v) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _beyond(a: float, b: float, ia, ib) -> bool | None:
    if ia and ib:
        return ia[1] < ib[0] or ib[1] < ia[0]
    if ia:
        return not ia[0] <= b <= ia[1]
    if ib:
        return not ib[0] <= a <= ib[1]
    return None


def _newest(report: dict) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for a in sorted(report.get("audits") or [], key=lambda a: a["created_at"]):
        out[a["name"]] = a  # later ones replace earlier ones
    return out


def _metric_rows(source: str, ma: dict, mb: dict) -> list[dict]:
    rows = []
    for key in sorted(set(ma) & set(mb)):
        a, b = ma[key], mb[key]
        if not (_number(a) and _number(b)) or key.endswith(("_ci_low", "_ci_high")):
            continue
        ia, ib = _interval(ma, key), _interval(mb, key)
        rows.append({"audit": source, "metric": key, "a": a, "b": b, "change": b - a, "a_interval": ia,
                     "b_interval": ib, "beyond_interval": _beyond(a, b, ia, ib)})
    return rows


def diff_reports(a: dict, b: dict) -> dict:
    """The differences between report records ``a`` and ``b`` (as ``build_report`` or ``load_report`` gives them)."""
    rows = _metric_rows("model", a["model"].get("metrics") or {}, b["model"].get("metrics") or {})
    na, nb = _newest(a), _newest(b)
    for name in sorted(set(na) & set(nb)):
        rows += _metric_rows(name, na[name]["metrics"], nb[name]["metrics"])
    checks = []
    pa, pb = a.get("policy") or {}, b.get("policy") or {}
    by_id = {c["id"]: c for c in pb.get("checks") or []}
    for c in pa.get("checks") or []:
        other = by_id.get(c["id"])
        if other is not None:
            checks.append({"id": c["id"], "metric": c["metric"], "a_status": c["status"], "b_status": other["status"],
                           "a_value": c.get("value"), "b_value": other.get("value"),
                           "flipped": c["status"] != other["status"]})
    opened, closed = _findings_change(a.get("review") or {}, b.get("review") or {})
    return {"opened_findings": opened, "closed_findings": closed,
            "a": {"model_id": a["model"]["id"], "content_sha256": a.get("content_sha256"),
                  "weights_sha256": a["model"]["sha256"], "policy_outcome": pa.get("outcome")},
            "b": {"model_id": b["model"]["id"], "content_sha256": b.get("content_sha256"),
                  "weights_sha256": b["model"]["sha256"], "policy_outcome": pb.get("outcome")},
            "same_policy": bool(pa) and pa.get("policy") == pb.get("policy"),
            "related": _relation(a, b), "metrics": rows,
            "beyond_interval": [f"{r['audit']}.{r['metric']}" for r in rows if r["beyond_interval"]],
            "checks": checks, "flipped_checks": [c["id"] for c in checks if c["flipped"]],
            "only_in_a": sorted(set(na) - set(nb)), "only_in_b": sorted(set(nb) - set(na))}


def _findings_change(ra: dict, rb: dict) -> tuple[list[str], list[str]]:
    """Open findings of b that a did not have open, and open findings of a that b no longer has open, named by what
    they are (a policy check, or an audit's warning) since finding ids belong to one model version."""
    def open_titles(r):
        return {f.get("check") or f["title"] for f in r.get("findings") or [] if f["status"] == "open"}

    oa, ob = open_titles(ra), open_titles(rb)
    return sorted(ob - oa), sorted(oa - ob)


def _relation(a: dict, b: dict) -> str:
    ids_a = [r["id"] for r in a.get("lineage") or []]
    ids_b = [r["id"] for r in b.get("lineage") or []]
    if a["model"]["id"] == b["model"]["id"]:
        return "same model"
    if a["model"]["id"] in ids_b:
        return "b derives from a"
    if b["model"]["id"] in ids_a:
        return "a derives from b"
    return "unrelated"


def report_or_model(store, ref: str, policy: dict | None) -> dict:
    """A report record from ``ref``: a report file (.json or .html), or a model id (a fresh report, with
    ``policy`` evaluated)."""
    from ._report import build_report
    from ._reproduce import load_report

    if Path(ref).suffix in (".json", ".html") or Path(ref).is_file():
        return load_report(ref)
    try:
        store.get_model(ref)
    except Exception:  # noqa: BLE001  (an unknown id: say both ways it could be read)
        raise ConfigError(f"{ref!r} is neither a report file (.json, .html) nor a model id.") from None
    return build_report(store, ref, policy)
