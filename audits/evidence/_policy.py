"""Policies: YAML thresholds on audit metrics, each mapped to the requirement it serves.

```yaml
name: Example policy
checks:
  - id: accuracy                       # unique, used in reports and JUnit
    metric: performance.accuracy       # <audit>.<metric key>, or model.<path in the model's metrics>
    op: ">="                           # >=, >, <=, <, ==
    threshold: 0.9
    requirement: "EU AI Act Art. 15(1): an appropriate level of accuracy"
    description: Test accuracy (optional, shown in reports)
```

A check is ``pass``, ``fail`` or ``not_measured`` (no audit of that kind yet, or the metric is
missing). The policy's outcome is ``fail`` when any check fails, else ``incomplete`` when any check is not
measured, else ``pass``: a check that was not measured never passes. (``require_all`` in older policy files
is accepted and ignored: every check is required.)

``accept_model_metrics: true`` at the top lets a ``performance.*`` check without a performance audit read the
model's own test metrics, recorded at training on the same held-out split; the evidence then names that
source and its provenance (dataset sha256 and split seed).

A policy's identity is its content hash (``sha256`` over the canonical JSON of its name, description, options and
checks; comments and layout do not count). A shipped profile (``policies/*.yaml``) is recognised by that hash; any
other policy is labelled ``custom: NAME (sha256 ...)`` in pages, reports and JUnit, and one that takes a shipped
profile's name says which checks differ from it.
"""

from __future__ import annotations

import functools
import math
import operator
from pathlib import Path

from fmcore.errors import ConfigError

#: the shipped profiles: package data (an installed wheel has them); ``policies/`` in the repository links here
SHIPPED = Path(__file__).resolve().parent / "policies"
OPS = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt, "==": operator.eq}


def audit_names() -> list[str]:
    """What a check's metric may name before its dot: every registered audit and ``model``."""
    from .._registry import load_audits

    return [*load_audits(), "model"]


def _at_training(audit: str) -> bool:
    """Whether the audit's metrics are also recorded at training (its spec's ``at_training``)."""
    from .._registry import installed_audit

    spec = installed_audit(audit)
    return bool(spec and spec.at_training)


MAX_POLICY_BYTES = 1_000_000  # a policy is a short YAML file


class PolicyError(ConfigError):
    """A policy file that cannot be used; the message names the check and the field."""


def parse_policy(text: str, source: str = "policy") -> dict:
    """Parse and validate policy YAML (``yaml.safe_load``: no tags, no code).

    Raises
    ------
    PolicyError
        Listing every problem found (``.problems``), each naming the check and the field.
    """
    from fmcore.config import safe_yaml

    try:
        data = safe_yaml(text, source)
    except ConfigError as exc:
        raise PolicyError(str(exc)) from None
    policy = _validate(data, source)
    return policy | identify(policy)


def _validate(data, source: str) -> dict:
    """The policy's fields, checked (every problem at once)."""
    if not isinstance(data, dict) or not isinstance(data.get("checks"), list) or not data["checks"]:
        raise PolicyError(f"{source} needs a top-level mapping with a non-empty 'checks' list.")
    seen, checks, problems = set(), [], []
    for i, check in enumerate(data["checks"], 1):
        where = f"{source}, check {i}"
        if not isinstance(check, dict):
            problems.append(f"{where} must be a mapping with id, metric, op, threshold, requirement.")
            continue
        before = len(problems)
        missing = [k for k in ("id", "metric", "op", "threshold", "requirement") if k not in check]
        if missing:
            problems.append(f"{where} ({check.get('id', '?')}) lacks {', '.join(missing)}.")
        cid = str(check.get("id", f"#{i}"))
        if "id" in check and cid in seen:
            problems.append(f"{where}: the id {cid!r} is used twice.")
        seen.add(cid)
        if "op" in check and check["op"] not in OPS:
            problems.append(f"{where} ({cid}): op {check['op']!r} is not one of {', '.join(OPS)}.")
        threshold = check.get("threshold")
        if "threshold" in check and (isinstance(threshold, bool) or not isinstance(threshold, int | float)
                                     or not math.isfinite(threshold)):
            problems.append(f"{where} ({cid}): threshold must be a finite number, got {threshold!r}.")
        audit, _, key = str(check.get("metric", "")).partition(".")
        if "metric" in check and (audit not in audit_names() or not key):
            problems.append(f"{where} ({cid}): metric {check['metric']!r} must be <audit>.<metric> with audit one "
                            f"of {', '.join(audit_names())}.")
        pinned = check.get("settings")
        if pinned is not None and (not isinstance(pinned, dict) or not all(isinstance(k, str) for k in pinned)):
            problems.append(f"{where} ({cid}): settings must map option names to the values the audit must have been "
                            "measured with (min_group_size: 30).")
        if len(problems) == before:
            checks.append({"id": cid, "metric": str(check["metric"]), "op": check["op"],
                           "threshold": float(threshold), "requirement": str(check["requirement"]),
                           "description": str(check.get("description", "")),
                           **({"settings": dict(pinned)} if pinned else {})})
    if problems:
        error = PolicyError(f"{source} has {len(problems)} problem(s): " + " ".join(problems))
        error.problems = problems
        raise error
    return {"name": str(data.get("name", source)), "description": str(data.get("description", "")),
            "accept_model_metrics": bool(data.get("accept_model_metrics", False)), "checks": checks}


def policy_sha256(policy: dict) -> str:
    """The policy's identity: sha256 of the canonical JSON of what it checks (name, description, options, checks)."""
    from fmcore.store import content_hash

    return content_hash({k: policy[k] for k in ("name", "description", "accept_model_metrics", "checks")})


@functools.cache
def shipped_profiles() -> dict[str, dict]:
    """The shipped profiles (``policies/*.yaml``) by content hash: ``{sha256: {"file", "name", "checks"}}``."""
    from fmcore.config import safe_yaml

    out = {}
    for path in sorted(SHIPPED.glob("*.yaml")):
        policy = _validate(safe_yaml(path.read_text(encoding="utf-8"), path.name), path.name)
        out[policy_sha256(policy)] = {"file": path.name, "name": policy["name"], "checks": policy["checks"]}
    return out


def identify(policy: dict) -> dict:
    """``sha256``, ``shipped`` (the profile's file name, or None), ``label`` (the name for a shipped profile,
    ``custom: NAME (sha256 12 hex)`` otherwise) and ``differs`` (for a custom policy named like a shipped profile:
    how its checks differ from that profile's)."""
    digest = policy_sha256(policy)
    shipped = shipped_profiles()
    if digest in shipped:
        return {"sha256": digest, "shipped": shipped[digest]["file"], "label": policy["name"], "differs": []}
    label = f"custom: {policy['name']} (sha256 {digest[:12]})"
    twin = next((p for p in shipped.values() if p["name"].strip().lower() == policy["name"].strip().lower()), None)
    differs = _differences(twin, policy) if twin else []
    return {"sha256": digest, "shipped": None, "label": label, "differs": differs}


def _differences(profile: dict, policy: dict) -> list[str]:
    """How ``policy``'s checks differ from the shipped ``profile`` it is named like, one line each."""
    theirs, ours = {c["id"]: c for c in profile["checks"]}, {c["id"]: c for c in policy["checks"]}
    lines = [f"not the shipped profile {profile['file']}, though named like it"]
    for cid in theirs.keys() - ours.keys():
        lines.append(f"check {cid} of the shipped profile is missing")
    for cid in ours.keys() - theirs.keys():
        lines.append(f"check {cid} is not in the shipped profile")
    for cid in sorted(theirs.keys() & ours.keys()):
        a, b = theirs[cid], ours[cid]
        for field in ("metric", "op", "threshold", "requirement"):
            if a[field] != b[field]:
                lines.append(f"check {cid}: {field} {b[field]!r} instead of {a[field]!r}")
    return lines


def shipped_policy(name: str) -> Path:
    """The shipped profile called ``name`` (its file name, with or without ``.yaml``)."""
    return SHIPPED / (name if name.endswith(".yaml") else f"{name}.yaml")


def load_policy(path: str | Path) -> dict:
    """Load and check a policy YAML file (every problem listed at once); a name that is no file but a shipped
    profile's (``eu_ai_act_high_risk``) loads that profile."""
    path = Path(path)
    if not path.is_file() and path.parent == Path(".") and shipped_policy(path.name).is_file():
        path = shipped_policy(path.name)
    if not path.is_file():
        raise PolicyError(f"No policy file at {path}. Shipped examples are in policies/.")
    if path.stat().st_size > MAX_POLICY_BYTES:
        raise PolicyError(f"{path.name} is larger than 1 MB; a policy is a short YAML file.")
    policy = parse_policy(path.read_text(encoding="utf-8", errors="strict"), path.name)
    policy["source"] = path.name
    return policy


def _lookup(metrics: dict, key: str):
    if key in metrics:
        return metrics[key]
    node = metrics
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _setting(audit: dict, key: str):
    """The value an audit was measured with: its recorded params (``result.params``), where each setting lives."""
    params = audit.get("params") or (audit.get("result") or {}).get("params") or {}
    return params.get(key)


def evaluate_policy(policy: dict, store, model_id: str) -> dict:
    """Each check against the newest audit of its kind for the model (or the model's own metrics)."""
    record = store.get_model(model_id)
    latest = store.latest_audits(model_id)
    rows = []
    for check in policy["checks"]:
        audit, _, key = check["metric"].partition(".")
        if audit == "model":
            value, evidence = _lookup(record.metrics, key), {"model_id": record.id, "source": "model metrics"}
        elif audit in latest:
            a = latest[audit]
            value = _lookup(a["result"]["metrics"], key)
            evidence = {"audit_id": a["id"], "audit": audit, "created_at": a["created_at"]}
            other = {k: v for k, v in (check.get("settings") or {}).items() if _setting(a, k) != v}
            if other:  # a result measured otherwise is refused: its number answers another question
                evidence["reason"] = ("measured with " + ", ".join(f"{k} {_setting(a, k)!r}" for k in other)
                                      + "; this policy pins " + ", ".join(f"{k} {v!r}" for k, v in other.items()))
                value = None
        elif policy.get("accept_model_metrics") and _at_training(audit) and (
                value := _lookup(record.metrics, key)) is not None:
            d = record.derivation or {}
            evidence = {"model_id": record.id, "source": "the model's test metrics, recorded at training",
                        "dataset_sha256": d.get("dataset_sha256"), "split_seed": d.get("split_seed"),
                        "created_at": record.created_at}
        else:
            value, evidence = None, {"reason": f"no {audit} audit of {model_id} yet"}
        if isinstance(value, bool):  # flags such as four_fifths_rule_violated compare as 0 / 1
            value = int(value)
        if not isinstance(value, int | float) or not math.isfinite(value):
            status = "not_measured"
            if value is not None and "reason" not in evidence:
                evidence["reason"] = f"{key} is {value!r}, not a number"
            elif "reason" not in evidence:
                evidence["reason"] = f"{key} is not among the {audit} metrics"
        else:
            status = "pass" if OPS[check["op"]](value, check["threshold"]) else "fail"
        rows.append({**check, "value": value, "status": status, "evidence": evidence})
    failed = [r["id"] for r in rows if r["status"] == "fail"]
    unmeasured = [r["id"] for r in rows if r["status"] == "not_measured"]
    outcome = "fail" if failed else "incomplete" if unmeasured else "pass"
    ident = policy if "sha256" in policy else policy | identify(policy)
    return {"policy": ident["label"], "policy_name": policy["name"], "policy_sha256": ident["sha256"],
            "shipped": ident["shipped"], "custom": ident["shipped"] is None, "differs": ident["differs"],
            "source": policy.get("source"), "outcome": outcome,
            "passed": outcome == "pass", "failed": failed, "not_measured": unmeasured, "checks": rows,
            "counts": {s: sum(r["status"] == s for r in rows) for s in ("pass", "fail", "not_measured")}}


def junit_xml(evaluation: dict, model_id: str) -> str:
    """The evaluation as a JUnit XML test suite (one test case per check) for CI dashboards."""
    from xml.sax.saxutils import quoteattr

    cases = []
    for r in evaluation["checks"]:
        name = quoteattr(f"{r['id']}: {r['metric']} {r['op']} {r['threshold']:g}")
        body = ""
        if r["status"] == "fail":
            message = quoteattr(f"{r['value']} is not {r['op']} {r['threshold']:g}")
            body = f"<failure message={message}>{quoteattr(r['requirement'])[1:-1]}</failure>"
        elif r["status"] == "not_measured":
            body = f"<skipped message={quoteattr(r['evidence'].get('reason', 'not measured'))}/>"
        cases.append(f'  <testcase classname={quoteattr("fmaudit." + model_id)} name={name}>{body}</testcase>')
    c = evaluation["counts"]
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite name={quoteattr(evaluation["policy"])} '
            f'tests="{len(cases)}" failures="{c["fail"]}" skipped="{c["not_measured"]}">\n'
            + "\n".join(cases) + "\n</testsuite>\n")


OUTCOME_WORDS = {"pass": "PASSED", "fail": "FAILED", "incomplete": "INCOMPLETE"}
#: exit status of ``fmaudit report`` and ``fmaudit run`` per outcome (2 is a usage or input error)
EXIT_CODES = {"pass": 0, "fail": 1, "incomplete": 3}


def outcome_of(evaluation: dict | None) -> str | None:
    """``pass``, ``fail`` or ``incomplete`` (evaluations stored before outcomes existed: read from their checks)."""
    if not evaluation:
        return None
    if evaluation.get("outcome"):
        return evaluation["outcome"]
    return "fail" if evaluation.get("failed") else "incomplete" if evaluation.get("not_measured") else "pass"


def missing_audits(policy: dict, store, model_id: str) -> list[str]:
    """The kinds of audit the policy's checks read that ``model_id`` has none of yet, in the policy's order."""
    latest = store.latest_audits(model_id)
    kinds = [c["metric"].partition(".")[0] for c in policy["checks"]]
    return [k for k in dict.fromkeys(kinds) if k != "model" and k not in latest]


def run_missing(policy: dict, store, model_id: str, log=print) -> dict[str, str]:
    """Run, with their default options, the audits the policy needs and the model lacks; returns kind -> audit id
    (or the reason it could not run, e.g. no compressed variants yet)."""
    from fmcore.errors import FmauditError

    from .._registry import run_stored_audit

    done = {}
    for kind in missing_audits(policy, store, model_id):
        log(f"running the missing {kind} audit of {model_id}")
        try:
            done[kind], _ = run_stored_audit(store, kind, model_id)
        except FmauditError as exc:
            done[kind] = f"not run: {exc}"
            log(f"{kind}: {exc}")
    return done
