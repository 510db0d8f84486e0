"""Audit reports: JSON (the record, schema ``fmaudit-report/1``), self-contained HTML and a Markdown model card.

The JSON holds the model, its lineage, data provenance and hashes, configs, seeds, package versions,
timestamps, every audit result, the policy outcome and the audit-trail head; ``content_sha256`` is
sha256 over its canonical JSON without the hash and signature fields (older reports carried a shared-secret
HMAC ``signature``; it is left out of the hash and never checked). The HTML and Markdown embed the same hash; the HTML
embeds the whole JSON and is a deterministic rendering of it.

Beside the three files, ``<stem>.intoto.json`` is an in-toto Statement of their sha256 digests in a DSSE
envelope, signed with the store's Ed25519 key when it has one (``fmaudit keys init``; see ``_dsse``). ``verify``
checks any of the files against it (with ``--public-key``, the signature too), so one changed byte anywhere in
the HTML (text, tables, chart data, scripts) fails; without the envelope it re-renders the HTML from its record
and compares the two byte for byte.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from fmcore.errors import ConfigError, FmauditError

SCHEMA = "fmaudit-report/1"
UNSIGNED = ("content_sha256", "signature")


def _digest(report: dict) -> str:
    from fmcore.store import content_hash

    return content_hash({k: v for k, v in report.items() if k not in UNSIGNED})


def build_report(store, model_id: str, policy: dict | None = None, filed: dict | None = None) -> dict:
    """Everything a reviewer needs to judge ``model_id``, with a content hash (and a signature if a key is set);
    ``filed`` (version, previous version, envelope name) when the report is being filed."""
    import fmcore

    from .._registry import audit_settings
    from .._result import TRACKED_PACKAGES, package_versions
    from ._dsse import key_id, load_private_key
    from ._policy import evaluate_policy

    record = store.get_model(model_id)
    lineage = [_without_local_paths(r.to_dict(), store.root) for r in store.lineage(model_id)]
    data = None
    try:
        ds = store.load_model_dataset(record.id)
        data = {"summary": ds.summary(), "provenance": _without_local_paths(ds.provenance.to_dict(), store.root)}
    except FmauditError as exc:  # a dataset that no longer loads, or changed since training: said in the report
        data = {"error": str(exc)}
    audits = [{"id": a["id"], "name": a["name"], "created_at": a["created_at"], "params": a["params"],
               "settings": audit_settings(a["name"], a["params"]), "metrics": a["result"]["metrics"],
               "warnings": a["result"].get("warnings", []), "tables": a["result"].get("tables", {}),
               "seed": a["result"].get("seed"), "versions": a["result"].get("versions", {})}
              for a in store.list_audits(model_id)]
    trail = store.verify_trail()
    events = [e for e in store.events(2000) if e["subject"] in {model_id, *[a["id"] for a in audits]}]
    report = {
        "schema": SCHEMA, "layout": 3, "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "generator": {"fmaudit": fmcore.__version__, "packages": package_versions((*TRACKED_PACKAGES, "plotly"))},
        "model": _without_local_paths(record.to_dict(), store.root), "weights_verified": store.verify_model(model_id),
        "lineage": lineage,
        "data": data, "config": record.config, "seeds": {"train": (record.config.get("train") or {}).get("seed"),
                                                       "derivation": record.derivation.get("seed")},
        "audits": audits, "policy": evaluate_policy(policy, store, model_id) if policy else None,
        "trail": {"ok": trail["ok"], "head": trail["head"], "events": len(events), "problems": trail["problems"],
                  "model_events": sorted(events, key=lambda e: e["seq"])},
    }
    private = load_private_key(store.root)
    if private is not None:  # named inside the record, so the HTML says how it is signed
        report["signing"] = {"alg": "Ed25519 over a DSSE envelope of an in-toto Statement v1",
                             "key_id": key_id(private.public_key()),
                             "envelope": (filed or {}).get("envelope", f"fmaudit-{record.id}.intoto.json")}
    if filed:
        previous = filed.get("previous")
        report["filed"] = {"version": filed["version"],
                           "previous": {"version": previous["version"], "content_sha256": previous["content_sha256"],
                                        "file": Path(previous["json"]).name} if previous else None}
    report["review"] = _review(store, model_id, policy)
    report["content_sha256"] = _digest(report)
    return report


def _review(store, model_id: str, policy: dict | None) -> dict:
    """The review state at the time of the report: findings with their status and owner, and the sign-offs of this
    weights version with whether each signature verifies."""
    from .review import review_state

    state = review_state(store, model_id, policy)
    keep = ("id", "source", "severity", "status", "title", "owner", "acceptance", "check", "expired")
    return {"policy": state["policy"], "author": state["author"], "counts": state["counts"],
            "blocking": state["blocking"], "approved": state["approved"],
            "findings": [{k: f[k] for k in keep if k in f} | {"comments": len(f["comments"])}
                         for f in state["findings"]],
            "passed": [p["check"] for p in state["passed"]],
            "accepted_risks": state["accepted"],
            "signoffs": [{"approver": a["actor"], "at": a["ts"], "policy": a["policy"],
                          "weights_sha256": a["weights_sha256"], "manifest_sha256": a["manifest_sha256"],
                          "report_sha256": a["report_sha256"], "verified": a["verified"], "current": a["current"],
                          "stale": a["stale"]} for a in state["approvals"]]}


def _envelope_of(path: Path) -> Path:
    return path.with_name(path.name.rsplit(".", 1)[0] + ".intoto.json")


def _refuse_envelope(path: Path) -> None:
    """A report's signature envelope (``<stem>.intoto.json``) is not a report: said, not read as a forgery."""
    if path.name.endswith(".intoto.json"):
        stem = path.name.removesuffix(".intoto.json")
        raise ConfigError(f"{path.name} is the signature envelope of a report, not a report: give the report it signs "
                          f"({stem}.json, {stem}.html or {stem}.md); the envelope beside it is found by its name.")


def verify_report(path: str | Path, public_key: str | Path | None = None) -> dict:
    """Check a report file (.json, .html or .md): its content hash; the file's bytes against the signed statement
    beside it (and the signature, with ``public_key``); for an HTML file without a statement, a byte-for-byte
    comparison with a fresh rendering of its embedded record.

    Returns ``{"ok", "problems", "signed", ...}``: ``ok`` means nothing was found changed, ``signed`` whether a
    signature was checked and held (None: not checked; see ``verdict``). A file that is not a report at all (not
    JSON, not an object, no embedded record, a signature envelope) raises ``ConfigError``."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"No report at {path}.")
    _refuse_envelope(path)
    from ._dsse import check_file, load_public_key

    key = load_public_key(public_key) if public_key else None
    envelope_path = _envelope_of(path)
    envelope = None
    if envelope_path.is_file():
        try:
            envelope = json.loads(envelope_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            return {"ok": False, "problems": [f"{envelope_path.name} is not valid JSON: {exc}"], "signed": False}
        if not isinstance(envelope, dict):
            return {"ok": False, "problems": [f"{envelope_path.name} is not a signature envelope"], "signed": False}
    elif key is not None:
        return {"ok": False, "signed": False,
                "problems": [f"no signature envelope ({envelope_path.name}) beside {path.name}"]}
    if path.suffix == ".md":
        if envelope is None:
            return {"ok": False, "signed": None, "problems": ["a Markdown card is checked against its envelope, "
                                                              f"and {envelope_path.name} is missing"]}
        check = check_file(path, envelope, key)
        return {"ok": not check["problems"], "problems": check["problems"], "signed": check["signed"],
                "key_id": check["key_id"]}
    report, raw = _read_record(path)
    problems = []
    if report.get("schema") != SCHEMA:
        problems.append(f"schema is {report.get('schema')!r}, expected {SCHEMA}")
    digest = _digest(report)
    if digest != report.get("content_sha256"):
        problems.append("the content does not match its sha256: the report was changed after it was written")
    signed, kid = None, None  # a shared-secret (HMAC) "signature" of older reports is not checked: see docs
    if envelope is not None:
        check = check_file(path, envelope, key)
        problems += check["problems"]
        signed, kid = (check["signed"], check["key_id"]) if key is not None else (signed, None)
    elif path.suffix == ".html":
        problems += _rendering_problems(raw, report)
    return {"ok": not problems, "problems": problems, "content_sha256": digest, "signed": signed, "key_id": kid,
            "model_id": (report.get("model") or {}).get("id") if isinstance(report.get("model"), dict) else None}


def verdict(result: dict, signature_required: bool = True) -> tuple[str, int]:
    """The word for a verification and its exit status: ``verified`` (0) only when nothing changed and a signature
    was checked and held (or, with ``signature_required=False``, asked for explicitly, when none was checked);
    ``FAILED`` (1) when anything changed or a signature failed; ``UNVERIFIED`` (3) when nothing was found changed
    but no signature was checked, so a forger with write access could have made the file."""
    if not result["ok"] or result.get("signed") is False:
        return "FAILED", 1
    if result.get("signed") is None and signature_required:
        return "UNVERIFIED", 3
    return "verified", 0


def _without_local_paths(d: dict, root) -> dict:
    """``d`` with every absolute path on this machine made relative to the store (or to its file name): a report
    travels, and the folders of the machine that wrote it are nobody's business."""
    out, root = {}, Path(root).resolve()
    for k, v in d.items():
        if isinstance(v, str) and v.startswith("/") and Path(v).exists():
            path = Path(v).resolve()
            v = str(path.relative_to(root)) if path.is_relative_to(root) else path.name
        out[k] = v
    return out


def _read_record(path: Path) -> tuple[dict, str]:
    """A report file's record (from .json, or embedded in .html) and the file's text; ``ConfigError`` when the file
    is not a report."""
    from ._html import embedded_record

    try:
        raw = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path.name} is not a report: not UTF-8 text ({exc.reason} at byte {exc.start}).") from None
    text = raw
    if path.suffix == ".html":
        text = embedded_record(raw)
        if text is None:
            raise ConfigError(f"{path.name} is not a report: it has no embedded report record.")
    try:
        report = json.loads(text)
    except ValueError as exc:
        raise ConfigError(f"{path.name} is not a report: not valid JSON ({exc}).") from None
    if not isinstance(report, dict):
        raise ConfigError(f"{path.name} is not a report: its JSON is a {type(report).__name__}, not an object.")
    return report, raw


def _rendering_problems(text: str, report: dict) -> list[str]:
    """Compare an HTML report with a fresh rendering of its own record: any edit to what a reader sees or runs."""
    import plotly

    from ._html import render_html

    made_with = ((report.get("generator") or {}).get("packages") or {}).get("plotly")
    if made_with and made_with != plotly.__version__:
        return [f"the HTML was rendered with plotly {made_with}, this machine has {plotly.__version__}: install "
                f"plotly=={made_with} to compare it byte for byte, or verify against its signature envelope"]
    fresh = render_html(report)
    if fresh == text:
        return []
    at = next((i for i, (a, b) in enumerate(zip(fresh, text, strict=False)) if a != b), min(len(fresh), len(text)))
    return [f"the HTML differs from the rendering of its own record from character {at} on: what a reader sees "
            "(text, tables, chart data or scripts) was changed after it was written"]


def _version_stem(model_id: str, version: int) -> str:
    return f"fmaudit-{model_id}" + (f"-v{version}" if version > 1 else "")


def _newest_filed(out: Path, model_id: str) -> dict | None:
    """The newest report set of ``model_id`` filed in ``out`` (``{"version", "json", "content_sha256"}``), or None."""
    version = 0
    while (out / f"{_version_stem(model_id, version + 1)}.json").is_file():
        version += 1
    if not version:
        return None
    path = out / f"{_version_stem(model_id, version)}.json"
    try:
        digest = json.loads(path.read_text(encoding="utf-8")).get("content_sha256")
    except (ValueError, OSError):
        digest = None
    return {"version": version, "json": str(path), "content_sha256": digest}


def write_reports(report: dict, out: str | Path, private_key=None, stem: str | None = None) -> dict[str, Path]:
    """Write the JSON record, the HTML report and the Markdown card into ``out``, and the in-toto statement of their
    digests (signed with ``private_key`` when given); returns their paths (``json``, ``html``, ``md``, ``intoto``).

    The four files are written as a set: each to a temporary file first, then linked under its name without ever
    replacing an existing file; on any failure (a full disk, a name taken meanwhile) the files of this set are
    removed, so a folder never holds half a set."""
    from ._dsse import envelope, statement
    from ._html import render_html, render_markdown

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    stem = stem or f"fmaudit-{report['model']['id']}"
    paths = {"json": out / f"{stem}.json", "html": out / f"{stem}.html", "md": out / f"{stem}.md"}
    record = json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n"
    canonical = json.loads(record)  # rendered from the record as a reader's copy loads it, so verify can re-render it
    texts = {"json": record, "html": render_html(canonical), "md": render_markdown(canonical)}
    from fmcore.store import atomic_write

    done: list[Path] = []
    try:
        for kind, path in paths.items():
            atomic_write(path, texts[kind].encode("utf-8"), overwrite=False)
            done.append(path)
        signed = envelope(statement(report, paths), private_key)  # the digests of the files as written
        paths["intoto"] = out / f"{stem}.intoto.json"
        atomic_write(paths["intoto"], (json.dumps(signed, indent=2) + "\n").encode("utf-8"), overwrite=False)
    except BaseException:
        for path in done:
            path.unlink(missing_ok=True)
        raise
    return paths


def file_report(store, model_id: str, policy: dict | None, out: str | Path) -> tuple[dict, dict[str, Path]]:
    """Build, write and record (in the audit trail) the reports of ``model_id``: only users who may change the store
    (auditor, approver) file reports, and a filed set is never overwritten: a second report of the same model in the
    same folder is version 2 (``fmaudit-<id>-v2.*``), whose record and trail event name the version it follows."""
    from fmcore.security import require
    from fmcore.store import actor

    from ._dsse import load_private_key

    require(actor(), "write", "filing a report", store.root)
    model_id = store.check_model(model_id).id  # never a report of files other than the registered ones
    private_key = load_private_key(store.root)
    for _attempt in range(5):  # another writer may take the next version between our look and our write
        previous = _newest_filed(Path(out), model_id)
        version = previous["version"] + 1 if previous else 1
        stem = _version_stem(model_id, version)
        filed = {"version": version, "previous": previous}
        report = build_report(store, model_id, policy, filed=filed | {"envelope": f"{stem}.intoto.json"})
        try:
            paths = write_reports(report, out, private_key, stem=stem)
            break
        except FileExistsError:
            continue
    else:
        raise FmauditError(f"Could not file a new report version in {out}: other writers kept taking the name.")
    evaluation = report["policy"] or {}
    store.log_event("report.write", model_id, {"content_sha256": report["content_sha256"],
                                               "paths": [str(p) for p in paths.values()],
                                               "version": version,
                                               "previous": (filed["previous"] or {}).get("content_sha256"),
                                               "policy": evaluation.get("policy"),
                                               "policy_sha256": evaluation.get("policy_sha256"),
                                               "passed": evaluation.get("passed"),
                                               "outcome": evaluation.get("outcome")})
    return report, paths
