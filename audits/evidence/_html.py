"""Render a report as one self-contained HTML file (charts drawn by an embedded, compressed plotly.js; no
network) and as a Markdown model card."""

from __future__ import annotations

import base64
import functools
import gzip
import json
from pathlib import Path

from fmcore.text import escape

from .._options import describe_settings
from ._policy import OUTCOME_WORDS, outcome_of


@functools.cache
def _plotly_js_gz_b64() -> str:
    import plotly

    js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    return base64.b64encode(gzip.compress(js, compresslevel=9, mtime=0)).decode()


def _figures(report: dict) -> list[tuple[str, dict, str]]:
    """(caption, plotly figure JSON, text alternative) for each audit that has a chart: each audit draws its own (its
    spec's ``figures``), the same charts as the dashboard, with the same words for those who cannot see them."""
    from ..figures import text_alternative
    from ..reporting import audit_figures

    return [(f"{a['name']} audit {a['id']} ({a['created_at']})", json.loads(fig.to_json()), text_alternative(fig))
            for a in report["audits"] for _, fig in audit_figures(a)]


def _esc(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return escape(v, "html")


def _table(rows: list[dict], keys: list[str] | None = None) -> str:
    if not rows:
        return ""
    keys = keys or [k for k in rows[0] if not isinstance(rows[0][k], dict | list)]
    head = "".join(f"<th>{_esc(k)}</th>" for k in keys)
    body = "".join("<tr>" + "".join(f"<td>{_esc(r.get(k, ''))}</td>" for k in keys) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


REPORT_TAG = '<script type="application/json" id="fmaudit-report">'  # the embedded JSON that verify reads


def embedded_record(html: str) -> str | None:
    """The report record's JSON text embedded in an HTML report (the inverse of ``render_html``'s embedding), or
    None when the file has none."""
    start = html.find(REPORT_TAG)
    end = html.find("</script>", start)
    if start < 0 or end < 0:
        return None
    return html[start + len(REPORT_TAG):end].replace("<\\/", "</")


CSS = """body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#1d2433;line-height:1.45}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}td,th{border:1px solid #d5dae3;padding:.25em .55em;
text-align:left}th{background:#f3f5f9}.pass{color:#16713a;font-weight:600}.fail{color:#b3261e;font-weight:600}
.not_measured{color:#8a6d00}.banner{padding:.8em 1em;border-radius:6px;margin:1em 0}.ok{background:#e7f5ec}
.bad{background:#fbe9e7}.muted{color:#6b7385;font-size:.85em}.chart{height:440px}code{font-size:.85em}"""

#: layout 3 adds each chart's text alternative (``audits.figures.text_alternative``) beneath it.
#: layout 2 (records with ``"layout": 2``): fits the window: a viewport, margins that shrink, wide tables that scroll
#: inside their box instead of widening the page, long hashes that wrap. Older records keep the layout they were
#: written with, so their HTML still equals a fresh rendering of their own record.
RESPONSIVE = """body{max-width:min(1100px,100%);margin:2em auto;padding:0 1em;box-sizing:border-box}
table{display:block;max-width:100%;overflow-x:auto}code{overflow-wrap:anywhere}.chart{max-width:100%}
h1{overflow-wrap:anywhere}@media print{.chart{break-inside:avoid}table{display:table}}"""

LOADER = """<script>
(async function(){
  const b64 = document.getElementById('plotly-gz').textContent.trim();
  const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  const code = await new Response(stream).text();
  const s = document.createElement('script'); s.textContent = code; document.head.appendChild(s);
  const figs = JSON.parse(document.getElementById('fmaudit-figures').textContent);
  figs.forEach((f, i) => Plotly.newPlot('chart-' + i, f.data, f.layout, {displaylogo: false, responsive: true}));
  document.body.setAttribute('data-charts-ready', String(figs.length));
})();
</script>"""


def render_html(report: dict) -> str:
    """The self-contained HTML report of ``report`` (charts drawn offline)."""
    m = report["model"]
    pol = report.get("policy")
    parts = [f"<h1>Audit report: {_esc(m['name'])}</h1>",
             f"<p class='muted'>Model <code>{_esc(m['id'])}</code> on <code>{_esc(m['dataset'])}</code>; generated "
             f"{_esc(report['generated_at'])} by fmaudit {_esc(report['generator']['fmaudit'])}; content sha256 "
             f"<code>{report['content_sha256']}</code>"
             + (f"; signed with {_esc(report['signing']['alg'])}, key {_esc(report['signing']['key_id'][:16])}, in "
                f"<code>{_esc(report['signing']['envelope'])}</code>" if report.get("signing") else
                f"; signed ({_esc(report['signature']['alg'])}, key {_esc(report['signature']['key_id'])})"
                if report.get("signature") else "; unsigned (its files' digests are in the .intoto.json beside it)")
             + ".</p>"]
    if pol:
        c = pol["counts"]
        outcome = outcome_of(pol)
        parts.append(f"<div class='banner {'ok' if outcome == 'pass' else 'bad'}'><b>Policy {_esc(pol['policy'])}: "
                     f"{OUTCOME_WORDS[outcome]}</b> ({c['pass']} pass, {c['fail']} fail, "
                     f"{c['not_measured']} not measured)" + (f"<br><small>policy sha256 {_esc(pol['policy_sha256'])}; "
                     + (f"the shipped profile {_esc(pol['shipped'])}" if pol.get("shipped") else "a custom policy")
                     + "".join(f"<br>{_esc(d)}" for d in pol.get("differs") or []) + "</small>"
                     if pol.get("policy_sha256") else "") + "</div>")
        rows = "".join(
            f"<tr><td>{_esc(r['id'])}</td><td>{_esc(r['requirement'])}</td><td><code>{_esc(r['metric'])} "
            f"{_esc(r['op'])} {r['threshold']:g}</code></td><td>{_esc(r['value'])}</td>"
            f"<td class='{r['status']}'>{r['status'].replace('_', ' ')}</td>"
            f"<td class='muted'>{_esc(r['evidence'].get('audit_id') or r['evidence'].get('reason') or '')}</td></tr>"
            for r in pol["checks"])
        parts.append("<h2>Policy checks</h2><table><thead><tr><th>check</th><th>requirement</th><th>rule</th>"
                     f"<th>value</th><th>status</th><th>evidence</th></tr></thead><tbody>{rows}</tbody></table>")
    parts.append("<h2>Model and lineage</h2>")
    parts.append(_table(report["lineage"], ["id", "name", "model", "dataset", "created_at", "sha256", "size_bytes",
                                            "parent_id"]))
    parts.append(f"<p>Weights hash verified: <b>{report['weights_verified']}</b>. Derivation: "
                 f"{_esc(m['derivation'].get('how', ''))}.</p>")
    data = report.get("data") or {}
    if data.get("provenance"):
        parts.append("<h2>Data provenance</h2>" + _table([data["provenance"]]))
    figs = _figures(report)
    parts.append("<h2>Audits</h2>")
    fig_index: dict[str, list[int]] = {}
    for i, (caption, _, _) in enumerate(figs):
        fig_index.setdefault(caption, []).append(i)
    for a in report["audits"]:
        caption = f"{a['name']} audit {a['id']} ({a['created_at']})"
        parts.append(f"<h3>{_esc(caption)}</h3>")
        if a.get("settings"):
            parts.append(f"<p class='settings'>Measured with: {_esc(describe_settings(a['settings']))}</p>")
        flat = [{"metric": k, "value": v} for k, v in a["metrics"].items() if not isinstance(v, dict | list)]
        parts.append(_table(flat, ["metric", "value"]))
        for i in fig_index.get(caption, []):
            parts.append(f"<div class='chart' id='chart-{i}'></div>")
            if report.get("layout", 1) >= 3:  # its text alternative: the numbers it shows, for screen and print
                parts.append(f"<p class='muted alt' id='chart-{i}-text'>{_esc(figs[i][2])}</p>")
        for w in a["warnings"]:
            parts.append(f"<p class='not_measured'>Warning: {_esc(w)}</p>")
    parts += _review_html(report.get("review"))
    tr = report["trail"]
    state = "intact" if tr["ok"] else "BROKEN: " + _esc("; ".join(tr["problems"]))
    parts.append(f"<h2>Audit trail</h2><p>Chain {state}"
                 f"; head <code>{tr['head']}</code>; {tr['events']} events about this model:</p>")
    parts.append(_table(tr["model_events"], ["seq", "ts", "actor", "action", "subject", "hash"]))
    embedded = json.dumps(report, sort_keys=True, allow_nan=False).replace("</", "<\\/")
    figs_json = json.dumps([f for _, f, _ in figs]).replace("</", "<\\/")
    responsive = report.get("layout", 1) >= 2
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            + ("<meta name='viewport' content='width=device-width, initial-scale=1'>" if responsive else "")
            + f"<title>fmaudit report {_esc(m['id'])}</title><style>{CSS}{RESPONSIVE if responsive else ''}</style>"
            "</head><body>"
            + "\n".join(parts)
            + f"<script type='text/plain' id='plotly-gz'>{_plotly_js_gz_b64()}</script>"
            + f"<script type='application/json' id='fmaudit-figures'>{figs_json}</script>"
            + f"{REPORT_TAG}{embedded}</script>"
            + LOADER + "</body></html>")


def _signoff_html(s: dict) -> str:
    """One sign-off in words: who, when, under which policy, and whether it still holds (stale, and why)."""
    if "current" not in s:  # records written before sign-offs were bound
        state = "signature verified" if s["verified"] else "signature NOT verified"
    elif s["current"]:
        state = "current: signature verified, the same files, policy and evidence"
    else:
        state = ("STALE: " + "; ".join(s["stale"])) if s["verified"] else "signature NOT verified"
    policy = s.get("policy") or "no policy"
    return f"Signed off by <b>{_esc(s['approver'])}</b> at {_esc(s['at'])} under {_esc(policy)} ({_esc(state)})"


def _review_html(review: dict | None) -> list[str]:
    """The review section: sign-offs, then every finding with its status (empty for records without a review)."""
    if not review:
        return []
    parts = ["<h2>Review</h2>"]
    signoffs = review.get("signoffs") or []
    parts.append("<p>" + ("; ".join(_signoff_html(s) for s in signoffs) if signoffs else "Not signed off.") + "</p>")
    if review.get("accepted_risks"):
        parts.append("<p>Accepted risks (each failed or unmeasured check a sign-off rests on):</p>")
        parts.append(_table(review["accepted_risks"], ["id", "check", "by", "reason", "until"]))
    if review.get("findings"):
        parts.append(_table(review["findings"], ["id", "severity", "status", "title", "owner"]))
    if review.get("passed"):
        parts.append(f"<p class='muted'>Passed checks: {_esc(', '.join(review['passed']))}.</p>")
    return parts


def render_markdown(report: dict) -> str:
    """A model card (Mitchell et al. 2019 sections, filled from what fmaudit measured)."""
    m = report["model"]
    md = _md
    lines = [f"# Model card: {md(m['name'])}", "",
             f"Model id `{m['id']}`, weights sha256 `{m['sha256']}`; report content sha256 "
             f"`{report['content_sha256']}` (verify with `fmaudit verify` on the JSON or HTML report).", "",
             "## Model details", "",
             f"- Kind: {m['model']}, {m['n_params']:,} parameters, {m['size_bytes']:,} bytes of weights"
             + (f"; a language model: test perplexity {m['metrics']['test_perplexity']:.1f} (a unigram model of the "
                f"same tokens: {m['metrics']['unigram_perplexity']:.1f})"
                if "test_perplexity" in (m.get("metrics") or {}) else ""),
             f"- Created: {md(m['created_at'])}; derivation: {md(m['derivation'].get('how', ''))}",
             f"- Lineage: {' <- '.join(r['id'] for r in report['lineage'])}",
             f"- Generated by fmaudit {report['generator']['fmaudit']} with "
             + ", ".join(f"{k} {v}" for k, v in sorted(report["generator"]["packages"].items())), "",
             "## Training data", ""]
    data = report.get("data") or {}
    prov = data.get("provenance") or {}
    summary = data.get("summary") or {}
    lines += [f"- Dataset: {md(m['dataset'])} ({md(summary.get('rows', '?'))} rows); source: "
              f"{md(prov.get('source', '?'))}; sha256 `{prov.get('sha256', '?')}`; "
              f"licence: {md(prov.get('license', '?'))}",
              f"- Sensitive attributes: {md(', '.join(summary.get('sensitive', []) or []) or 'none declared')}", "",
              "## Evaluation", ""]
    for a in report["audits"]:
        flat = {k: v for k, v in a["metrics"].items() if isinstance(v, int | float | str) and "[" not in k}
        shown = ", ".join(f"{md(k)} {v:.4g}" if isinstance(v, float) else f"{md(k)} {md(v)}"
                          for k, v in list(flat.items())[:10])
        lines.append(f"- **{md(a['name'])}** (`{a['id']}`, {md(a['created_at'])}): {shown}")
        if a.get("settings"):
            lines.append(f"  - measured with: {md(describe_settings(a['settings']))}")
        lines += [f"  - warning: {md(w)}" for w in a["warnings"]]
    pol = report.get("policy")
    if pol:
        lines += ["", f"## Policy: {md(pol['policy'])} ({OUTCOME_WORDS[outcome_of(pol)]})", "",
                  "| check | requirement | rule | value | status |", "| --- | --- | --- | --- | --- |"]
        lines += [f"| {md(r['id'])} | {md(r['requirement'])} | {md(r['metric'])} {md(r['op'])} {r['threshold']:g} | "
                  f"{md(r['value']) if r['value'] is not None else ''} | {r['status']} |" for r in pol["checks"]]
    lines += ["", "## Limitations", "",
              "- Every figure above is measured on the held-out split named in each audit; populations that differ "
              "from that data are not covered.",
              "- Audits not listed were not run; a policy check without an audit is reported as not measured.", "",
              f"Audit trail head `{report['trail']['head']}` ({'intact' if report['trail']['ok'] else 'BROKEN'}).", ""]
    return "\n".join(lines)


def _md(value) -> str:
    """A value in the model card: user-supplied text never becomes markdown (``fmcore.text``)."""
    return escape(value, "markdown")
