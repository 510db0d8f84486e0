"""Audit reports: JSON (the record, schema ``fmaudit-report/1``), self-contained HTML and a Markdown model card.

The JSON holds the model, its lineage, data provenance and hashes, configs, seeds, package versions,
timestamps, every audit result, the policy outcome and the audit-trail head; ``content_sha256`` is
sha256 over its canonical JSON without the hash and signature fields; with ``FMAUDIT_SIGNING_KEY`` set
it is also signed (HMAC-SHA256). The HTML and Markdown embed the same hash; the HTML embeds the whole
JSON, so ``verify`` works on either file.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from pathlib import Path

from fmcore.errors import ConfigError

SCHEMA = "fmaudit-report/1"
UNSIGNED = ("content_sha256", "signature")


def _digest(report: dict) -> str:
    from fmcore.store import content_hash

    return content_hash({k: v for k, v in report.items() if k not in UNSIGNED})


def _sign(key: bytes, digest: str) -> str:
    return hmac.new(key, digest.encode(), "sha256").hexdigest()


def _signing_key() -> bytes | None:
    key = os.environ.get("FMAUDIT_SIGNING_KEY")
    return key.encode() if key else None


def build_report(store, model_id: str, policy: dict | None = None) -> dict:
    """Everything a reviewer needs to judge ``model_id``, with a content hash (and a signature if a key is set)."""
    import fmcore

    from .._result import package_versions
    from ._policy import evaluate_policy

    record = store.get_model(model_id)
    lineage = [r.to_dict() for r in store.lineage(model_id)]
    data = None
    try:
        ds = store.load_model_dataset(record.id)
        data = {"summary": ds.summary(), "provenance": ds.provenance.to_dict()}
    except ConfigError as exc:
        data = {"error": str(exc)}
    audits = [{"id": a["id"], "name": a["name"], "created_at": a["created_at"], "params": a["params"],
               "metrics": a["result"]["metrics"], "warnings": a["result"].get("warnings", []),
               "tables": a["result"].get("tables", {}), "seed": a["result"].get("seed"),
               "versions": a["result"].get("versions", {})} for a in store.list_audits(model_id)]
    trail = store.verify_trail()
    events = [e for e in store.events(2000) if e["subject"] in {model_id, *[a["id"] for a in audits]}]
    report = {
        "schema": SCHEMA, "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "generator": {"fmaudit": fmcore.__version__, "packages": package_versions()},
        "model": record.to_dict(), "weights_verified": store.verify_model(model_id), "lineage": lineage,
        "data": data, "config": record.config, "seeds": {"train": (record.config.get("train") or {}).get("seed"),
                                                       "derivation": record.derivation.get("seed")},
        "audits": audits, "policy": evaluate_policy(policy, store, model_id) if policy else None,
        "trail": {"ok": trail["ok"], "head": trail["head"], "events": len(events), "problems": trail["problems"],
                  "model_events": sorted(events, key=lambda e: e["seq"])},
    }
    report["content_sha256"] = _digest(report)
    key = _signing_key()
    if key:
        report["signature"] = {"alg": "HMAC-SHA256", "key_id": hashlib.sha256(key).hexdigest()[:16],
                               "value": _sign(key, report["content_sha256"])}
    return report


def verify_report(path: str | Path) -> dict:
    """Check a report file (.json, or .html with its embedded JSON): hash, and signature when a key is set."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No report at {path}.")
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".html":
        from ._html import REPORT_TAG

        start = text.find(REPORT_TAG)
        end = text.find("</script>", start)
        if start < 0 or end < 0:
            return {"ok": False, "problems": ["no embedded report JSON in this HTML file"]}
        text = text[start + len(REPORT_TAG):end].replace("<\\/", "</")
    try:
        report = json.loads(text)
    except json.JSONDecodeError as exc:
        return {"ok": False, "problems": [f"not valid JSON: {exc}"]}
    problems = []
    if report.get("schema") != SCHEMA:
        problems.append(f"schema is {report.get('schema')!r}, expected {SCHEMA}")
    digest = _digest(report)
    if digest != report.get("content_sha256"):
        problems.append("the content does not match its sha256: the report was changed after it was written")
    sig, key = report.get("signature"), _signing_key()
    signed = None
    if sig and key:
        signed = hmac.compare_digest(_sign(key, str(report.get("content_sha256"))), sig.get("value", ""))
        if not signed:
            problems.append("the signature does not match (another key, or a changed hash)")
    return {"ok": not problems, "problems": problems, "content_sha256": digest, "signed": signed,
            "model_id": (report.get("model") or {}).get("id")}


def write_reports(report: dict, out: str | Path) -> dict[str, Path]:
    """Write ``report.json``, ``report.html`` and ``model_card.md`` into ``out``; returns their paths."""
    from ._html import render_html, render_markdown

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"fmaudit-{report['model']['id']}"
    paths = {"json": out / f"{stem}.json", "html": out / f"{stem}.html", "md": out / f"{stem}.md"}
    texts = {"json": json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n",
             "html": render_html(report), "md": render_markdown(report)}
    for kind, path in paths.items():
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(texts[kind], encoding="utf-8")
        os.replace(tmp, path)
    return paths


def file_report(store, model_id: str, policy: dict | None, out: str | Path) -> tuple[dict, dict[str, Path]]:
    """Build, write and record (in the audit trail) the reports of ``model_id``."""
    report = build_report(store, model_id, policy)
    paths = write_reports(report, out)
    store.log_event("report.write", model_id, {"content_sha256": report["content_sha256"],
                                               "paths": [str(p) for p in paths.values()],
                                               "policy": (report["policy"] or {}).get("policy"),
                                               "passed": (report["policy"] or {}).get("passed"),
                                               "outcome": (report["policy"] or {}).get("outcome")})
    return report, paths
