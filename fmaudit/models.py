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
    store = c.store(args)
    record = store.get_model(args.id)
    payload = {**record.to_dict(), "lineage": [r.id for r in store.lineage(args.id)],
               "children": [r.id for r in store.children(args.id)], "weights_verified": store.verify_model(args.id),
               "audits": store.list_audits(args.id)}
    m = record.metrics
    text = "\n".join([
        f"{record.id}  {record.name}", f"  model     {record.model} ({record.n_params:,} parameters, "
        f"{record.size_bytes / 1024:.1f} KiB)", f"  dataset   {record.dataset}",
        f"  lineage   {' <- '.join(payload['lineage'])}", f"  created   {record.created_at}",
        f"  test      accuracy {m.get('accuracy', 0):.4f}, macro-F1 {m.get('macro_f1', 0):.4f}, n={m.get('n')}",
        f"  sha256    {record.sha256} ({'verified' if payload['weights_verified'] else 'MISMATCH'})",
        f"  files     {record.path}"])
    c.emit(args, payload, text)
    return 0


def add_export(p) -> None:
    p.add_argument("id")
    p.add_argument("dir")


def cmd_export(args) -> int:
    dest = c.store(args).export_model(args.id, args.dir)
    c.emit(args, {"model_id": args.id, "path": str(dest), "files": sorted(p.name for p in dest.iterdir())},
           f"Exported {args.id} to {dest} (see its README.md)")
    return 0


def add_import_model(p) -> None:
    p.add_argument("path")
    p.add_argument("--dataset", required=True, help="the dataset it was trained for (its classes must match)")
    p.add_argument("--name", default=None)


def cmd_import_model(args) -> int:
    record = c.store(args).import_model(args.path, args.dataset, name=args.name)
    c.emit(args, {"model_id": record.id, "test_accuracy": record.metrics["accuracy"], "sha256": record.sha256},
           f"Imported {record.id} ({record.name}): test accuracy on {record.dataset} {record.metrics['accuracy']:.4f}")
    return 0
