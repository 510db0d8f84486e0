"""Export a stored model as a self-contained folder that loads without fmaudit."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..errors import FmauditError

TORCH_README = """# {name} ({model}, exported by fmaudit)

Trained on `{dataset}`; model id `{id}`; weights sha256 `{sha256}`.

Files: `model.safetensors` (weights), `config.json` (architecture and arguments),
`fmaudit.json` (classes, input description), `metrics.json` (test metrics),
`record.json` (lineage, training config, data provenance){pre}, and `nets.py`
(the network definitions: plain torch, no fmaudit needed).

```python
import sys, torch
sys.path.insert(0, "{folder}")
import nets
model = nets.load_exported("{folder}")          # an eval-mode torch.nn.Module
{usage}
```
"""

ADAPTER_README = """# {name} ({model}, {method} adapter, exported by fmaudit)

Trained on `{dataset}`; model id `{id}`; adapter sha256 `{sha256}`. A peft adapter
(`adapter_config.json`, `adapter_model.safetensors`) for the base model in `base/` (a standard
Hugging Face folder), plus the tokenizer, `fmaudit.json`, `metrics.json` and `record.json`.

```python
from peft import PeftModel
from transformers import AutoModelForSequenceClassification, AutoTokenizer
base = AutoModelForSequenceClassification.from_pretrained("{folder}/base")
model = PeftModel.from_pretrained(base, "{folder}").eval()   # .merge_and_unload() for a plain model
tokenizer = AutoTokenizer.from_pretrained("{folder}")
batch = tokenizer(["some text"], padding="max_length", truncation=True, max_length={max_length}, return_tensors="pt")
probs = model(**batch).logits.softmax(-1)   # classes: {classes}
```
"""

GPT_README = """# {name} (a small GPT, exported by fmaudit)

Trained on the texts of `{dataset}`; model id `{id}`; weights sha256 `{sha256}`. `model.safetensors` (the output
layer is tied to the token embedding and stored once), `config.json` (sizes), `tokenizer.json` (a byte-level BPE
for the `tokenizers` package), `gpt.py` (the network, torch only), `fmaudit.json`, `metrics.json` and `record.json`
(lineage, training config, data provenance).

```python
import json, sys
sys.path.insert(0, "{folder}")
import gpt
from safetensors.torch import load_file
from tokenizers import Tokenizer
model = gpt.GPT(gpt.GPTConfig(**json.load(open("{folder}/config.json"))["gpt"]))
state = load_file("{folder}/model.safetensors")
state["head.weight"] = state["tokens.weight"]
model.load_state_dict(state)
tokenizer = Tokenizer.from_file("{folder}/tokenizer.json")
print(gpt.generate(model.eval(), tokenizer, "@united", seed=0)["text"])   # same seed, same text
```
"""

TEXT_README = """# {name} ({model}, exported by fmaudit)

Trained on `{dataset}`; model id `{id}`; weights sha256 `{sha256}`. A standard Hugging Face
folder (`config.json`, `model.safetensors`, tokenizer files) plus `fmaudit.json`, `metrics.json`
and `record.json` (lineage, training config, data provenance).

```python
from transformers import AutoModelForSequenceClassification, AutoTokenizer
model = AutoModelForSequenceClassification.from_pretrained("{folder}")
tokenizer = AutoTokenizer.from_pretrained("{folder}")
batch = tokenizer(["some text"], padding="max_length", truncation=True, max_length={max_length}, return_tensors="pt")
probs = model(**batch).logits.softmax(-1)   # classes: {classes}
```
"""

THRESHOLD_README = """# {name} (group thresholds over `base/`, exported by fmaudit)

A fairness mitigation (fairlearn's ThresholdOptimizer, {constraint}) on `{dataset}`; model id
`{id}`; rules sha256 `{sha256}`. `base/` is the exported base model (see its README);
`rules.json` holds, per group of {sensitive} (values joined with " & "), two threshold rules on
the base model's probability of `{positive}`:

```python
import json, random
rules = json.load(open("{folder}/rules.json"))
def positive_probability(score, group):          # score: base model's probability of {positive!r}
    r = rules[group]
    hit = lambda op, t: (score > float(t)) if op == ">" else (score < float(t))
    p = r["p0"] * hit(r["op0"], r["t0"]) + r["p1"] * hit(r["op1"], r["t1"])
    return r["p_ignore"] * r["constant"] + (1 - r["p_ignore"]) * p if "p_ignore" in r else p
predict_positive = positive_probability(0.7, "Female") >= random.random()   # randomized, as fairlearn's
```
"""


EXTERNAL_README = """# {name} ({id}), imported by fmaudit

`{file}` is the file that was imported, byte for byte (sha256 `{sha256}`); fmaudit bound it to dataset
`{dataset}` (classes {classes}). {how}
`record.json` holds the registry record and its lineage.
"""

HOW = {
    "sklearn": "Load it with skops, naming the types it was checked with: "
               "`skops.io.load('{file}', trusted={trusted})`.",
    "onnx": "Run it with onnxruntime: `onnxruntime.InferenceSession('{file}').run(None, feeds)`.",
    "predictions": "It is a table of predictions (label, prediction, score, groups), one row per case.",
    "graph": "A graph fmaudit made from a torch model ({method}); run it with onnxruntime on the encoded inputs "
             "(`preprocess.json` for tables): `onnxruntime.InferenceSession('{file}').run(None, {{'input': x}})`.",
}


def _external_readme(meta: dict, fields: dict) -> str:
    kind = meta.get("kind") or "graph"
    file = {"sklearn": "model.skops", "predictions": "predictions.csv"}.get(kind, "model.onnx")
    how = HOW[kind].format(file=file, trusted=meta.get("trusted_types", []),
                           method=(meta.get("compression") or {}).get("method", ""))
    return EXTERNAL_README.format(file=file, how=how, **fields)


def export_model(store, record, dest: Path, onnx: bool = False) -> Path:
    """Copy ``record``'s artifacts into ``dest`` with a README and, for torch models, ``nets.py`` (and, with
    ``onnx``, ``model.onnx``: the network as an ONNX graph)."""
    from ..models import offers_of

    if dest.exists() and any(dest.iterdir()):
        raise FmauditError(f"{dest} exists and is not empty; choose a new folder so nothing is overwritten.")
    src = Path(record.path)
    tmp = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(src, tmp)
    meta = json.loads((src / "fmaudit.json").read_text())
    lineage = [r.to_dict() for r in store.lineage(record.id)]
    run = store.get_run(record.run_id).to_dict() if record.run_id else None
    (tmp / "record.json").write_text(json.dumps({"model": record.to_dict(), "lineage": lineage, "run": run},
                                                indent=2))
    fields = {**record.to_dict(), "folder": dest.resolve().as_posix(), "classes": meta["classes"]}
    if meta.get("kind") == "group_threshold":
        export_model(store, store.get_model(record.parent_id), tmp / "base")
        readme = THRESHOLD_README.format(constraint=meta["mitigation"]["constraint"], sensitive=meta["sensitive"],
                                         positive=meta["classes"][meta["randomized"]["positive"]], **fields)
    elif meta.get("peft"):
        base = (src / meta["peft"]["base_rel"]).resolve()
        shutil.copytree(base, tmp / "base")  # the registered pretrained base the adapter was trained on
        readme = ADAPTER_README.format(max_length=meta.get("max_length", 64), method=meta["peft"]["method"], **fields)
    elif "generates" in offers_of(meta):  # a language model: its network's code travels with it
        from ..models import _gpt

        shutil.copyfile(_gpt.__file__, tmp / "gpt.py")
        readme = GPT_README.format(**fields)
    elif meta["modality"] == "text":
        readme = TEXT_README.format(max_length=meta.get("max_length", 64), **fields)
    elif meta.get("kind") in ("sklearn", "onnx", "predictions") or (src / "model.onnx").exists():
        readme = _external_readme(meta, fields)
    else:
        from ..models import nets

        shutil.copyfile(nets.__file__, tmp / "nets.py")
        if meta["modality"] == "tabular":
            pre = ", `preprocess.json` (how raw columns become inputs)"
            usage = (f"import json\nspec = json.load(open(\"{fields['folder']}/preprocess.json\"))\n"
                     "x = nets.encode_rows([{\"column\": \"value\", ...}], spec)\n"
                     "probs = model(x).softmax(-1)")
        else:
            pre = ""
            usage = f"x = torch.zeros(1, *{meta['input']['shape']})   # floats in [0, 1]\nprobs = model(x).softmax(-1)"
        readme = TORCH_README.format(pre=pre, usage=usage, **fields)
        if onnx:
            try:
                _write_onnx(store, record, tmp / "model.onnx")
            except FmauditError:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            readme += ("\n`model.onnx` is the same network as an ONNX graph (opset 17, variable batch): "
                       "`onnxruntime.InferenceSession('model.onnx').run(None, {'input': x})` gives the logits.\n")
    if onnx and not (tmp / "model.onnx").exists():
        shutil.rmtree(tmp, ignore_errors=True)
        raise FmauditError("--onnx exports fmaudit's own image and tabular networks; this model is "
                           f"{'a text transformer' if meta['modality'] == 'text' else 'not one'}.")
    (tmp / "README.md").write_text(readme)
    if dest.exists():
        dest.rmdir()
    tmp.rename(dest)
    return dest


def _write_onnx(store, record, path: Path) -> None:
    """The stored network as an ONNX graph; example input from the model's own test data."""
    from ..models import export_onnx

    clf = store.load_classifier(record.id)
    test = store.load_model_dataset(record.id)["test"]
    example = clf.encode(test.X.iloc[:1] if hasattr(test.X, "iloc") else test.X[:1]).float()
    try:
        export_onnx(clf.net, example, path)
    except Exception as exc:  # torch's exporter raises many kinds for operators it cannot express
        raise FmauditError(f"This network does not export to ONNX ({type(exc).__name__}: {exc}); export the model "
                           "it was derived from.") from None
