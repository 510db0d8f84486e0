"""More audits: every audit described by its spec alone (an installed plugin's too), each with the options form
generated from its options dataclass, run as a job, and its own figures."""

import pandas as pd
import streamlit as st

from audits.glossary import describe
from dashboard import services
from dashboard.components import figures
from dashboard.components.fmt import plain, show_table, when
from dashboard.components.jobs import launch
from dashboard.components.options import options_form
from fmcore.errors import FmauditError

st.title("More audits")
st.caption("Audits described by their spec alone, such as those installed as plugins (packages that register an "
           "audit under the entry-point group `fmaudit.audits`). Each form is made from the audit's options; each "
           "run is a job, stored with the model like every other audit.")

specs = services.spec_audits()
if not specs:
    services.empty_state("No such audit is installed. An audit package (see docs/development.md; "
                         "examples/audit-plugin is one) appears here once installed beside fmaudit.", None)
    st.stop()
store, runner = services.get_store(), services.get_runner()
name = st.selectbox("Audit", list(specs), format_func=lambda n: f"{specs[n].title} ({n})", key="more_audit")
spec = specs[name]
st.caption(plain(spec.description) + f" · from {plain(spec.source)}")
models, labels = services.models_or_stop("No model this audit applies to yet. Train one on the Train page.",
                                         lambda m: services.applies(m, name))
model_id = st.selectbox("Model", [m.id for m in models], format_func=labels.get, key="more_model")


with st.form(f"more_form_{name}"):
    try:
        options = options_form(name, f"more_{name}")
    except FmauditError as exc:  # a number or list that does not parse
        st.error(plain(str(exc)))
        options = None
    go = st.form_submit_button(f"Run {spec.title.lower()} audit", type="primary", icon=":material/play_arrow:",
                               disabled=not runner.allows("submit"))
launch(runner, go and options is not None, "audits.jobs:audit", {"audit": name, "model": model_id, "options": options},
       f"{spec.title} audit of {model_id}", f"more_job_{name}")

audit = store.latest_audits(model_id).get(name)
if audit is None:
    st.caption(f"No {spec.title.lower()} audit of this model yet: run one above.")
    st.stop()
result = audit["result"]
st.subheader(f"{spec.title}: audit {audit['id']}, {when(audit['created_at'])}")
if spec.headline:
    st.markdown(plain(spec.headline(result["metrics"])))
for w in result["warnings"]:
    st.warning(plain(w))
for caption, fig in spec.figures({**result, "id": audit["id"], "created_at": audit["created_at"]}) \
        if spec.figures else []:
    figures.show(figures.inert_figure(fig), key=f"more_fig_{caption}")
    st.caption(plain(caption))
scalars = {k: v for k, v in result["metrics"].items() if not isinstance(v, list | dict)}
st.dataframe(pd.DataFrame({"metric": [describe(k)[0] for k in scalars], "key (for policies)": list(scalars),
                           "value": [str(v) for v in scalars.values()]}), hide_index=True, width="stretch")
for table, rows in result["tables"].items():
    with st.expander(f"Table: {table} ({len(rows)} rows)"):
        show_table(rows)
