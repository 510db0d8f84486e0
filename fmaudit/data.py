"""Datasets: list them, add a CSV, scan one for identifiers."""

from __future__ import annotations

from . import _common as c


def add_datasets(p) -> None:
    pass


def cmd_datasets(args) -> int:
    from fmcore.data import list_datasets

    specs = [s.to_dict() for s in list_datasets()]
    user = c.store(args).list_datasets()
    rows = [[s["name"], s["modality"], s["rows"], len(s["classes"]), ",".join(s["sensitive"]) or "-", s["title"]]
            for s in specs]
    rows += [[d["name"], "text" if d["text"] else "tabular", d["rows"], "?", ",".join(d["sensitive"]) or "-",
              "uploaded CSV"] for d in user]
    c.emit(args, {"builtin": specs, "user": user},
           c.table(rows, ["name", "modality", "rows", "classes", "sensitive", "title"]))
    return 0


def add_add_dataset(p) -> None:
    p.add_argument("path")
    p.add_argument("--label", required=True)
    p.add_argument("--sensitive", default=None, help="comma-separated protected-attribute columns")
    p.add_argument("--text", default=None, help="the text column, for a text dataset")
    p.add_argument("--drop", default=None, help="comma-separated columns to ignore")
    p.add_argument("--name", default=None)
    p.add_argument("--min-group-size", type=int, default=10)


def cmd_add_dataset(args) -> int:
    record = c.store(args).add_dataset(args.path, args.label, c.csv_list(args.sensitive), name=args.name,
                                      text=args.text, drop=c.csv_list(args.drop), min_group_size=args.min_group_size)
    c.emit(args, record, "\n".join([f"Added dataset {record['name']!r} ({record['rows']} rows). "
                                    f"Train on it: fmaudit train --dataset {record['name']} --model mlp"]
                                   + [f"  note: {n}" for n in record.get("notes", [])]))
    return 0


def add_scan_data(p) -> None:
    p.add_argument("--dataset", default=None, help="a built-in or uploaded dataset (uploads: every column of the CSV)")
    p.add_argument("--csv", default=None, help="or a CSV file, scanned before any upload")
    p.add_argument("--quasi", default=None, help="quasi-identifier columns for k-anonymity (default: the sensitive "
                   "attributes; '' for none)")
    p.add_argument("--k", type=int, default=5, help="report rows in groups smaller than this")


def cmd_scan_data(args) -> int:
    from audits.privacy import scan, scan_csv
    from fmcore.errors import ConfigError

    if bool(args.dataset) == bool(args.csv):
        raise ConfigError("Give one of --dataset NAME or --csv FILE.")
    quasi = c.csv_list(args.quasi)
    if args.csv:
        result = scan_csv(args.csv, quasi or None, k=args.k)
    else:
        store = c.store(args)
        if args.quasi is None:  # default: the declared sensitive attributes, the usual quasi-identifiers
            from fmcore.data import list_datasets

            builtin = {s.name: list(s.sensitive) for s in list_datasets()}
            quasi = builtin.get(args.dataset) or (store.get_dataset(args.dataset) or {}).get("sensitive", [])
        result = scan(args.dataset, store, quasi or None, k=args.k)
    lines = [f"{result['dataset']}: {result['rows']} rows, {result['columns_scanned']} columns scanned, "
             f"{result['total_identifiers']} identifiers found ({result['seconds']:.1f} s)"]
    lines += [f"  {f['column']}: {f['count']} {f['kind']} (e.g. {', '.join(f['examples'])})"
              for f in result["findings"]]
    lines += [f"  column {c!r} looks like a direct identifier (named so, values nearly unique)"
              for c in result["identifier_columns"]]
    k = result["k_anonymity"]
    if k:
        lines.append(f"  k-anonymity over {', '.join(k['quasi_identifiers'])}: k = {k['k']}; "
                     f"{k['rows_below_threshold']} rows in groups smaller than {k['threshold']}")
    c.emit(args, result, "\n".join(lines))
    return 0
