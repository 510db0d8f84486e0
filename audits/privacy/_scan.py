"""De-identification check of a dataset: direct identifiers in columns and texts, and k-anonymity.

Detectors are regular expressions with validation where one exists (Luhn for card numbers, octet
ranges for IPv4), plus column-name hints and a person-name heuristic (a capitalised common first
name followed by a capitalised word, or a title such as "Dr." before one). Examples are masked
before they leave this module: the scan never shows an identifier in full.
"""

from __future__ import annotations

import re
import time

import numpy as np
import pandas as pd

from fmcore.errors import ConfigError

PATTERNS = {  # checked in this order; a span taken by one kind is not reported again as another
    "email": re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
    "ssn": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
    "credit_card": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
    "ipv4": re.compile(r"\b(?:\d{1,3}\.){3}\d{1,3}\b"),
    "phone": re.compile(r"(?<![\w-])(?<!\d[ .])(?:\+\d{1,3}[ .-]?)?(?:\(\d{2,4}\)[ .-]?|\d{2,4}[ .-])"
                        r"\d{3,4}[ .-]\d{3,4}(?![\w-]|[ .]\d)"),
    "id_number": re.compile(r"\b(?=[A-Z0-9-]*\d)[A-Z]{1,3}-?\d{6,10}\b|\b\d{9,12}\b"),
}
TITLES = r"(?:Mr|Mrs|Ms|Miss|Dr|Prof)\.?"
FIRST_NAMES = frozenset("""
james mary robert patricia john jennifer michael linda david elizabeth william barbara richard susan joseph
jessica thomas sarah charles karen christopher lisa daniel nancy matthew betty anthony sandra mark margaret
donald ashley steven kimberly paul emily andrew donna joshua michelle kenneth carol kevin amanda brian melissa
george deborah timothy stephanie ronald rebecca edward sharon jason laura jeffrey cynthia ryan kathleen jacob
amy gary angela nicholas shirley eric anna jonathan brenda stephen pamela larry emma justin nicole scott helen
brandon samantha benjamin katherine samuel christine gregory debra alexander rachel frank carolyn patrick
janet raymond catherine jack maria dennis heather jerry diane tyler ruth aaron julie jose olivia adam joyce
henry virginia nathan victoria douglas kelly zachary lauren peter christina kyle joan ethan evelyn walter
judith noah megan jeremy andrea christian cheryl keith hannah roger jacqueline terry martha gerald gloria
harold teresa sean ann austin sara carl madison arthur frances lawrence kathryn dylan janice jesse jean jordan
abigail bryan alice billy julia joe judy bruce sophia gabriel grace logan denise albert amber willie doris
alan marilyn juan danielle wayne beverly elijah isabella randy theresa roy diana vincent natalie ralph
brittany eugene charlotte russell marie bobby kayla mason alexis philip lori louis alan mohammed ahmed wei
priya aisha fatima carlos luis ana sofia lucas liam mia oliver ava
""".split())
NAME_PAIR = re.compile(r"(?=\b([A-Z][a-z]+)\s+([A-Z][a-z]+(?:-[A-Z][a-z]+)?)\b)")  # overlapping
TITLED = re.compile(rf"\b{TITLES}\s+[A-Z][a-z]+(?:\s+[A-Z][a-z]+)?")
NAME_HINTS = re.compile(r"(^|_)((first|last|full|given|family)_?name|name|surname|e_?mail|phone|telephone|mobile|ssn|"
                        r"address|street|zip|zipcode|postcode|dob|date_of_birth|birthdate|(customer|patient|user|"
                        r"person|employee|account)_?id)$", re.IGNORECASE)


def _luhn(digits: str) -> bool:
    total, alt = 0, False
    for ch in reversed(digits):
        d = ord(ch) - 48
        if alt:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
        alt = not alt
    return total % 10 == 0


def _valid(kind: str, text: str) -> bool:
    if kind == "credit_card":
        digits = re.sub(r"\D", "", text)
        return 13 <= len(digits) <= 19 and _luhn(digits)
    if kind == "ipv4":
        return all(int(p) <= 255 for p in text.split("."))
    if kind == "phone":
        return 9 <= len(re.sub(r"\D", "", text)) <= 15
    return True


def mask(kind: str, text: str) -> str:
    """Enough to recognise the kind of value, not the value: j***@e***.com, ***-***-4321, J*** S***."""
    if kind == "email":
        user, _, domain = text.partition("@")
        host, _, tld = domain.rpartition(".")
        return f"{user[:1]}***@{host[:1]}***.{tld}"
    if kind in ("phone", "ssn", "credit_card", "id_number"):
        digits = re.sub(r"\D", "", text)
        return "***" + digits[-2:]
    if kind == "ipv4":
        return text.split(".")[0] + ".***.***.***"
    return " ".join(w[:1] + "***" for w in text.split())


def find(text: str) -> list[tuple[str, str]]:
    """Every (kind, match) in one string; card numbers are not also reported as phones or ids."""
    out, taken = [], []
    for kind, pattern in PATTERNS.items():
        for m in pattern.finditer(text):
            if any(a <= m.start() < b or a < m.end() <= b for a, b in taken):
                continue
            if _valid(kind, m.group()):
                out.append((kind, m.group()))
                taken.append(m.span())
    for m in TITLED.finditer(text):
        out.append(("person_name", m.group()))
    for m in NAME_PAIR.finditer(text):
        full = f"{m.group(1)} {m.group(2)}"
        if m.group(1).lower() in FIRST_NAMES and not any(full in v or m.group(1) in v.split()[-1:]
                                                         for k, v in out if k == "person_name"):
            out.append(("person_name", full))
    return out


def _columns(dataset) -> dict[str, pd.Series]:
    cols: dict[str, pd.Series] = {}
    for split in ("train", "val", "test"):
        part = dataset[split]
        if isinstance(part.X, pd.DataFrame):
            frames = [part.X]
        elif dataset.spec.modality == "text":
            frames = [pd.DataFrame({"text": np.asarray(part.X, dtype=object)})]
        else:
            frames = []
        if part.groups is not None and len(part.groups.columns):
            frames.append(part.groups.reset_index(drop=True).add_prefix("sensitive:"))
        for frame in frames:
            for c in frame.columns:
                cols.setdefault(c, []).append(frame[c].reset_index(drop=True))
    return {c: pd.concat(parts, ignore_index=True) for c, parts in cols.items()}


def scan_dataset(dataset, quasi_identifiers: list[str] | None = None, k: int = 5, **kw) -> dict:
    """Scan a loaded dataset (every split, features and sensitive columns)."""
    rows = int(sum(len(dataset[s]) for s in ("train", "val", "test")))
    return scan_columns(dataset.name, _columns(dataset), rows, quasi_identifiers, k, **kw)


def scan_csv(path, quasi_identifiers: list[str] | None = None, k: int = 5, max_bytes: int = 500 * 2**20,
             **kw) -> dict:
    """Scan a CSV file as it is, every column (also those a model would drop), before or after upload."""
    from pathlib import Path

    path = Path(path)
    if path.stat().st_size > max_bytes:
        raise ConfigError(f"{path.name} is {path.stat().st_size / 2**20:.0f} MB; the scan reads at most "
                          f"{max_bytes / 2**20:.0f} MB.")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding_errors="replace")
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise ConfigError(f"{path.name} could not be read as CSV: {exc}") from None
    columns = {c: frame[c] for c in frame.columns}
    return scan_columns(path.stem, columns, len(frame), quasi_identifiers, k, **kw)


def scan_columns(name: str, columns: dict[str, pd.Series], rows: int, quasi_identifiers: list[str] | None = None,
                 k: int = 5, max_examples: int = 3, max_rows: int | None = 200_000) -> dict:
    """Scan every text-like column for identifiers and measure k-anonymity over ``quasi_identifiers``."""
    started = time.perf_counter()
    findings = []
    # a column named like an identifier whose values are nearly unique per row is a direct identifier
    hints = [c for c, v in columns.items() if NAME_HINTS.search(c.replace("sensitive:", ""))
             and v.nunique() > 0.5 * len(v)]
    for column, series in columns.items():
        values = series if max_rows is None else series.iloc[:max_rows]
        numeric = values.dtype.kind in "biuf" or pd.to_numeric(values, errors="coerce").notna().mean() > 0.99
        if numeric and not NAME_HINTS.search(column):
            continue  # plain numbers: quasi-identifiers at most, judged by k-anonymity below
        counts: dict[str, int] = {}
        examples: dict[str, list[str]] = {}
        rows_with: dict[str, int] = {}
        for text, times in values.dropna().astype(str).value_counts(sort=False).items():
            seen = set()
            for kind, match in find(text):
                counts[kind] = counts.get(kind, 0) + int(times)
                if kind not in seen:
                    rows_with[kind] = rows_with.get(kind, 0) + int(times)
                    seen.add(kind)
                if len(examples.setdefault(kind, [])) < max_examples:
                    examples[kind].append(mask(kind, match))
        for kind, count in sorted(counts.items()):
            findings.append({"column": column, "kind": kind, "count": count, "values_with": rows_with[kind],
                             "examples": examples[kind]})
    result = {"dataset": name, "rows": rows, "columns_scanned": len(columns), "findings": findings,
              "identifier_columns": hints, "total_identifiers": int(sum(f["count"] for f in findings))}
    result["k_anonymity"] = k_anonymity(columns, quasi_identifiers, k) if quasi_identifiers else None
    result["seconds"] = time.perf_counter() - started
    return result


def k_anonymity(columns: dict[str, pd.Series], quasi: list[str], k: int = 5) -> dict:
    """Size of the smallest group of rows sharing all quasi-identifier values, and who is below ``k``."""
    if k < 2:
        raise ConfigError(f"k must be at least 2; got {k}.")
    names = {c.replace("sensitive:", ""): c for c in columns}
    missing = [q for q in quasi if q not in columns and q not in names]
    if missing:
        raise ConfigError(f"Quasi-identifier column(s) {missing} are not in the dataset; columns: "
                          f"{sorted(names)}.")
    frame = pd.DataFrame({q: columns[q if q in columns else names[q]].astype(str) for q in quasi})
    sizes = frame.groupby(quasi, sort=False).size()
    below = sizes[sizes < k]
    smallest = sizes.sort_values().head(10)
    return {"quasi_identifiers": quasi, "k": int(sizes.min()), "threshold": k, "classes": int(len(sizes)),
            "rows_below_threshold": int(below.sum()), "share_below_threshold": float(below.sum() / len(frame)),
            "classes_below_threshold": int(len(below)),
            "size_histogram": {str(s): int(n) for s, n in sizes.value_counts().sort_index().head(20).items()},
            "smallest": [{"values": " | ".join(map(str, (i if isinstance(i, tuple) else (i,)))), "size": int(s)}
                         for i, s in smallest.items()]}


def scan(name: str, store=None, quasi_identifiers: list[str] | None = None, k: int = 5) -> dict:
    """Scan a dataset by name: an uploaded one from its stored CSV (every column, as uploaded), a built-in
    one as loaded."""
    record = store.get_dataset(name) if store is not None else None
    if record:
        result = scan_csv(record["path"], quasi_identifiers, k)
        result["dataset"] = name
        return result
    from fmcore.data import load_dataset

    return scan_dataset(load_dataset(name, store=store), quasi_identifiers, k)
