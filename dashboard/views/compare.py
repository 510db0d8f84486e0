"""Compare: two to six models on every dimension measured, best and worst marked, a radar chart, and what
changed between a parent and its child."""

import pandas as pd
import streamlit as st

from audits import describe_settings
from audits.scorecard import choices, scorecard
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import markdown_table, number, pct, plain

st.title("Compare")
st.caption("Every dimension the audits measured, side by side. Values come from each model's newest audit of "
           "that kind; an empty cell means not measured. ▲ best, ▼ worst among the models shown.")

store = services.get_store()
models, labels = services.models_or_stop(
    "Compare needs at least two models. Train, fine-tune, mitigate or compress one first.", at_least=2)
short = services.short_labels(models)
ids = [m.id for m in models]
chosen = services.pick("Models (2 to 6)", ids, key="cmp_models", labels=labels, short=short, most=6, default=ids[:2])
if len(chosen) < 2:
    st.info("Pick at least two models.")
    st.stop()
records = [store.get_model(i) for i in chosen]
models_in = [{"id": r.id, "metrics": r.metrics, "size_bytes": r.size_bytes, "n_params": r.n_params,
              "baseline": (services.baseline(r) or {}).get("accuracy"),
              "audits": {name: a["result"] for name, a in store.latest_audits(r.id).items()}} for r in records]
at = {family: st.selectbox(c["label"], c["values"], index=c["values"].index(c["default"]), key=f"cmp_at_{family}")
      for family, c in choices(models_in).items()}  # e.g. the declared epsilon of robust accuracy
card = scorecard(models_in, at)
MARKS = {"best": " ▲", "worst": " ▼", None: ""}
unranked = any(r["unranked"] for r in card["rows"])  # a "ranking" column only then: each row says why not
rows = []
for row in card["rows"]:
    cells = {"dimension": row["dimension"]}
    for r, v, mark, ci, note in zip(records, row["values"], row["marks"], row["intervals"], row["notes"],
                                    strict=True):
        shown = "" if v is None else pct(v) if row["proportion"] else number(v)  # 93,322 and 0.83, as everywhere
        if note:  # what the audit says a reader must know beside this value (``CompareRow.note``)
            shown += f" ({note})"
        cells[short[r.id]] = shown + MARKS[mark]
        if ci is not None:
            low, high = (pct(x) if row["proportion"] else number(x) for x in ci)
            cells[short[r.id]] += f" [{low}, {high}]"
    if unranked:
        cells["ranking"] = row["unranked"] or ""
    rows.append(cells)
# the picture first, the numbers with their intervals below (a table drawn first also holds the chart back on a
# first visit: its code loads before plotly's)
radar = card["radar"]
if radar["axes"]:
    figures.show(figures.radar(radar["axes"], [(short[r.id], vals) for r, vals in zip(
        records, radar["series"], strict=True)]))
    st.caption("Every axis is absolute: the centre is 0, the edge is perfect (100% accuracy, no gap, no leakage, "
               "no calibration error); gaps and errors are drawn as 1 − value."
               + (f" Left off because not every model has it: {', '.join(radar['left_out'])}."
                  if radar["left_out"] else ""))
else:
    st.caption("The scorecard radar needs three dimensions measured for every model shown; run their audits first.")
# a markdown table: the scorecard is read, not sorted; a data grid's or st.table's code (Arrow's, about 1 MB) would be
# parsed beside plotly's on a first visit and hold the radar back
if rows:
    st.markdown(markdown_table(rows))
if card["unranked"]:
    st.warning("Some rows are not ranked: the models' audits were measured under different settings, so their "
               "numbers answer different questions. Re-run them with the same settings to rank them. "
               + " · ".join(f"{plain(d)}: {plain(why)}" for d, why in card["unranked"].items()))
with st.expander("Settings each audit was measured with", key="cmp_settings", on_change="rerun") as box:
    if box.open:
        st.table(pd.DataFrame([{"audit": audit, **{short[r.id]: describe_settings(s) if s is not None else ""
                                                   for r, s in zip(records, found, strict=True)}}
                               for audit, found in sorted(card["settings"].items())]), hide_index=True)
st.caption("A value in brackets is its 95% interval, where the audit gives one: overlapping intervals mean "
           "the difference may be noise."
           + (f" Not measured for any of these models: {', '.join(card['unmeasured'])}." if card["unmeasured"] else ""))
values = card["values"]
pairs = [(p, c) for p in records for c in records if c.parent_id == p.id]
for parent, child in pairs:
    st.subheader(f"What changed: {parent.id} → {child.id}")
    st.write(f"**How:** {child.derivation.get('how', 'derived')}.")
    changed = {k: v for k, v in child.config.items() if parent.config.get(k) != v}
    if child.derivation.get("augment") or parent.derivation.get("augment"):
        changed["augment"] = child.derivation.get("augment")
    if changed:
        st.json(changed, expanded=False)
    deltas = [{"dimension": d, "parent": values[d][records.index(parent)], "child": values[d][records.index(child)]}
              for d in values]
    deltas = [{**x, "change": x["child"] - x["parent"]} for x in deltas
              if x["parent"] is not None and x["child"] is not None]
    st.dataframe(pd.DataFrame(deltas), hide_index=True, width="stretch")
