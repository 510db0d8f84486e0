"""The registry: list, show, export and import models."""

from __future__ import annotations

from . import _common as c


def add_models(p) -> None:
    p.add_argument("--dataset", default=None, help="only models trained on this dataset")


def cmd_models(args) -> int:
    records = c.store(args).list_models(args.dataset)
    rows = [[r.id, r.name, r.model, r.dataset, r.parent_id or "-", f"{r.metrics.get('accuracy', float('nan')):.4f}",
             r.n_params, r.created_at] for r in records]
    c.emit(args, [r.to_dict() for r in records],
           c.table(rows, ["id", "name", "model", "dataset", "parent", "test_acc", "params", "created"])
           if rows else "No models yet. Train one: fmaudit train --dataset digits --model seed_cnn --epochs 2")
    return 0


def add_show(p) -> None:
    p.add_argument("id")


def cmd_show(args) -> int:
    from audits import applicable_audits, model_offers
    from audits.reporting import headline

    store = c.store(args)
    record = store.get_model(args.id)
    offers = model_offers(store, record)
    problems = store.weight_problems(args.id)
    payload = {**record.to_dict(), "lineage": [r.id for r in store.lineage(args.id)],
               "children": [r.id for r in store.children(args.id)], "weights_verified": not problems,
               "file_problems": problems,
               "audits": store.list_audits(args.id), "offers": sorted(offers),
               "applicable_audits": applicable_audits(offers)}
    m = record.metrics
    text = "\n".join([
        f"{record.id}  {record.name}", f"  model     {record.model} ({record.n_params:,} parameters, "
        f"{record.size_bytes / 1024:.1f} KiB)", f"  dataset   {record.dataset}",
        f"  lineage   {' <- '.join(payload['lineage'])}", f"  created   {record.created_at}",
        f"  test      perplexity {m['test_perplexity']:.1f} (unigram model {m['unigram_perplexity']:.1f}), "
        f"{m['test_tokens']:,} tokens" if "test_perplexity" in m else
        f"  test      accuracy {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f}, n={m.get('n')}",
        f"  sha256    {record.sha256} (weights)",
        f"  manifest  {record.manifest_sha256 or 'not recorded (registered before manifests: weights only)'} "
        f"({len(record.manifest) or '?'} files: {'verified' if not problems else 'MODIFIED'})",
        *[f"            {p}" for p in problems],
        f"  files     {record.path}",
        f"  audits    {', '.join(a['audit'] for a in payload['applicable_audits'] if a['applicable'])}"]
        + [f"  measured  {a['name']} {a['id']} ({a['created_at']}): {headline(a['name'], a['result']['metrics'])}"
           for a in store.latest_audits(args.id).values()]
        + [f"  not       {a['audit']}: {a['reason']}" for a in payload["applicable_audits"] if not a["applicable"]])
    c.emit(args, payload, text)
    return 0


def add_export(p) -> None:
    p.add_argument("id")
    p.add_argument("dir")
    p.add_argument("--onnx", action="store_true", help="also write model.onnx (image and tabular networks)")


def cmd_export(args) -> int:
    dest = c.store(args).export_model(args.id, args.dir, onnx=args.onnx)
    c.emit(args, {"model_id": args.id, "path": str(dest), "files": sorted(p.name for p in dest.iterdir())},
           f"Exported {args.id} to {dest} (see its README.md)")
    return 0


def add_import_model(p) -> None:
    p.add_argument("path", help="a .skops or .onnx file, or a folder (safetensors + JSON, or Hugging Face)")
    p.add_argument("--dataset", required=True, help="the dataset it was trained for (its classes must match)")
    p.add_argument("--name", default=None)
    p.add_argument("--trust", action="append", default=[], metavar="TYPE",
                   help="a type a .skops file may hold beyond the trusted list (repeat; check each one first)")


def cmd_import_model(args) -> int:
    record = c.store(args).import_model(args.path, args.dataset, name=args.name, trust=tuple(args.trust))
    c.emit(args, {"model_id": record.id, "test_accuracy": record.metrics["accuracy"], "sha256": record.sha256},
           f"Imported {record.id} ({record.name}): test accuracy on {record.dataset} {record.metrics['accuracy']:.4f}")
    return 0


def add_import_predictions(p) -> None:
    p.add_argument("path", help="CSV (UTF-8 or Latin-1) or Parquet")
    p.add_argument("--label", required=True, help="the column with the true outcome")
    p.add_argument("--prediction", required=True, help="the column with the system's decision")
    p.add_argument("--score", default=None, help="the column with the probability of the positive class (two "
                   "classes; the decisions must be a threshold of it)")
    p.add_argument("--positive", default=None, help="the class --score is the probability of (default: the last "
                   "class in sorted order)")
    p.add_argument("--sensitive", default="", help="comma-separated group columns")
    p.add_argument("--name", default=None)


def cmd_import_predictions(args) -> int:
    record = c.store(args).import_predictions(args.path, args.label, args.prediction, score=args.score,
                                              sensitive=c.csv_list(args.sensitive), positive=args.positive,
                                              name=args.name)
    c.emit(args, {"model_id": record.id, "rows": record.metrics["n"], "accuracy": record.metrics["accuracy"],
                  "sha256": record.sha256},
           f"Imported {record.id} ({record.name}): {record.metrics['n']} rows, accuracy "
           f"{record.metrics['accuracy']:.4f}")
    return 0
