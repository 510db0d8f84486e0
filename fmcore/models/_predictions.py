"""A file of predictions as a model: labels, predictions, optional scores and group columns exported from a
production system. It has outputs but no weights and cannot run on new inputs, so it is audited on its own rows,
all of them (its dataset's test split is the whole file): performance, fairness, calibration where it has scores,
and the policy checks. The decision is always the file's own prediction."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import DataValidationError
from ._zoo import Classifier, log_probabilities, register_kind

ROW = "__row"  # the one input column: the row of the file, so every output is the file's own
FILE = "predictions.csv"


def _check_parquet_size(path: Path) -> None:
    """Refuse, from the file's own metadata and before reading any data, a Parquet file that unpacks past the CSV
    limits (rows, and bytes): its columns are compressed, so its size on disk says little."""
    import pyarrow.parquet as pq

    from ..data import max_csv_bytes, max_rows

    meta = pq.ParquetFile(path).metadata
    unpacked = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    if meta.num_rows > max_rows() or unpacked > max_csv_bytes():
        raise DataValidationError([f"{path.name} unpacks to {meta.num_rows:,} rows and {unpacked / 2**20:.0f} MB, over "
                                   f"the limits ({max_rows():,} rows, {max_csv_bytes() / 2**20:.0f} MB; "
                                   "FMAUDIT_MAX_CSV_ROWS, FMAUDIT_MAX_CSV_MB)"])


def read_predictions(path: Path):
    """A predictions table from CSV (UTF-8 or Latin-1) or Parquet."""
    import pandas as pd

    from ..data import read_table

    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            _check_parquet_size(path)
            return pd.read_parquet(path)
        except DataValidationError:
            raise
        except Exception as exc:  # pyarrow raises its own errors for files that are not Parquet
            raise DataValidationError([f"{path.name} is not a readable Parquet file ({exc})"]) from None
    return read_table(path)


def class_value(value) -> str:
    """A label or prediction as a class name, compared as a value: numbers by their value (``1``, ``1.0`` and
    ``"1.0"`` are the class ``"1"``; ``0.50`` is ``"0.5"``), text as written without surrounding spaces."""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    if not math.isfinite(number):
        return text
    return str(int(number)) if number.is_integer() else repr(number)


def prepare(frame, label: str, prediction: str, score: str | None, sensitive: tuple[str, ...],
            positive: str | None) -> tuple[object, dict]:
    """Check a predictions table and bring it to the stored form (``label``, ``prediction``, ``score``, the
    sensitive columns, as strings and numbers); returns (table, meta). Every problem is listed at once."""
    import pandas as pd

    problems = []
    for role, col in [("label", label), ("prediction", prediction), ("score", score)] + [
            ("sensitive", c) for c in sensitive]:
        if col is not None and col not in frame.columns:
            problems.append(f"no {role} column {col!r} (columns: {', '.join(map(str, frame.columns[:12]))})")
    if problems:
        raise DataValidationError(problems)
    for role, col in (("label", label), ("prediction", prediction)):
        missing = np.flatnonzero(frame[col].isna().to_numpy())
        if len(missing):
            problems.append(f"{len(missing)} rows have no {role} (file rows {', '.join(map(str, missing[:5] + 2))}"
                            f"{'...' if len(missing) > 5 else ''}); a row without one cannot be audited")
    if problems:
        raise DataValidationError(problems)
    out = pd.DataFrame({"label": frame[label].map(class_value), "prediction": frame[prediction].map(class_value)})
    shared = set(out["label"]) & set(out["prediction"])
    if not shared:
        raise DataValidationError([
            f"the labels ({', '.join(map(repr, sorted(set(out['label']))[:6]))}) and the predictions "
            f"({', '.join(map(repr, sorted(set(out['prediction']))[:6]))}) share no class, so they cannot be matched: "
            "write both with the same class names or numbers"])
    classes = sorted(set(out["label"]) | set(out["prediction"]))
    if len(classes) < 2:
        raise DataValidationError([f"only one class ({classes[0]!r}) in {label} and {prediction}"])
    meta = {"model": "predictions", "kind": "predictions", "modality": "tabular", "classes": classes,
            "sensitive": list(sensitive), "columns": {"label": label, "prediction": prediction, "score": score}}
    if score is not None:
        meta.update(_score_rule(frame[score], out["prediction"], classes, positive))
        out["score"] = pd.to_numeric(frame[score], errors="coerce").astype(float)
    for c in sensitive:
        out[f"group:{c}"] = frame[c].astype(object)
    return out.reset_index(drop=True), meta


def _score_rule(raw, pred, classes: list[str], positive: str | None) -> dict:
    """The score is the probability of ``positive``; the file's decisions must be a threshold of it."""
    import pandas as pd

    problems = []
    if len(classes) != 2:
        problems.append(f"a score column fits two classes; this file has {len(classes)} ({', '.join(classes[:6])})")
    positive = class_value(positive) if positive is not None else classes[-1]
    if positive not in classes:
        problems.append(f"positive class {positive!r} is not one of {', '.join(classes)}")
    s = pd.to_numeric(raw, errors="coerce")
    bad = np.flatnonzero((s.isna() | (s < 0) | (s > 1)).to_numpy())
    if len(bad):
        problems.append(f"{len(bad)} scores are missing or outside 0..1 (file rows {', '.join(map(str, bad[:5] + 2))})")
    if problems:
        raise DataValidationError(problems)
    s = s.to_numpy(float)
    pos = pred.to_numpy() == positive
    low, high = (s[pos].min() if pos.any() else 1.0), (s[~pos].max() if (~pos).any() else 0.0)
    if pos.any() and (~pos).any() and low <= high:
        raise DataValidationError([
            f"the predictions are not a threshold of the scores: a row predicted {positive!r} has score {low:.4g} and "
            f"one predicted otherwise {high:.4g}. Import without --score (labels only), or fix the file"])
    threshold = (low + high) / 2 if pos.any() and (~pos).any() else 0.5
    return {"positive": classes.index(positive), "threshold": float(threshold)}


@register_kind("predictions")
class PredictionsClassifier(Classifier):
    """The stored predictions of a file, in the dataset's class order. Its inputs are row numbers (``ROW``)."""

    def __init__(self, table, meta: dict, source: bytes):
        super().__init__("predictions", None, meta, None, None)
        self.table, self.source = table, source
        k = len(self.classes)
        codes = self.table["prediction"].map({c: i for i, c in enumerate(self.classes)}).to_numpy()
        if "score" in self.table:
            pos = int(meta["positive"])
            proba = np.empty((len(codes), 2))
            proba[:, pos], proba[:, 1 - pos] = self.table["score"], 1 - self.table["score"].to_numpy()
        else:
            proba = np.eye(k)[codes]
        self.proba = proba

    def n_params(self, trainable_only: bool = False) -> int:
        """A file of predictions has no parameters."""
        return 0

    def encode(self, X):
        """Row numbers, unchanged."""
        return X

    def predict_proba(self, X, batch_size: int = 512, groups=None) -> np.ndarray:
        """The file's scores for rows ``X[ROW]`` (one-hot predictions when it has no scores)."""
        return self.proba[np.asarray(X[ROW], dtype=np.int64)]

    def logits(self, inputs, batch_size: int = 512):
        """Log-probabilities (a softmax gives the scores back)."""
        return log_probabilities(self.predict_proba(inputs))

    def decide(self, proba: np.ndarray) -> np.ndarray:
        """The file's own decisions: the threshold its predictions follow on the score, else the prediction."""
        if "threshold" not in self.meta:
            return proba.argmax(1)
        pos = int(self.meta["positive"])
        return np.where(proba[:, pos] > self.meta["threshold"], pos, 1 - pos)

    def save(self, folder: str | Path) -> None:
        """The stored table (what every audit reads) and the metadata."""
        folder = Path(folder)
        (folder / FILE).write_bytes(self.source)
        (folder / "fmaudit.json").write_text(json.dumps(self.meta, indent=2))

    @staticmethod
    def offers_from(meta: dict) -> frozenset:
        """A file: its own rows only, with scores where it has them."""
        return frozenset({"labels", "scores"} if "threshold" in meta else {"labels"})

    @classmethod
    def load(cls, folder: Path, meta: dict) -> PredictionsClassifier:
        """Read the stored table back."""
        import io

        import pandas as pd

        source = (Path(folder) / FILE).read_bytes()
        table = pd.read_csv(io.BytesIO(source), dtype={"label": str, "prediction": str}, keep_default_na=False,
                            na_values={"score": [""]})
        for c in meta["sensitive"]:  # empty cells were missing values
            table[f"group:{c}"] = table[f"group:{c}"].replace("", np.nan)
        return cls(table, meta, source)

    def dataset(self, name: str):
        """The file as a dataset: every row in the test split (train and validation are empty)."""
        import pandas as pd

        from ..data import Dataset, DatasetSpec, Feature, Provenance, Split

        n = len(self.table)
        y = self.table["label"].map({c: i for i, c in enumerate(self.classes)}).to_numpy(np.int64)
        X = pd.DataFrame({ROW: np.arange(n)})
        groups = pd.DataFrame({c: self.table[f"group:{c}"] for c in self.meta["sensitive"]})
        spec = DatasetSpec(name, f"Predictions {name}", "tabular", "A file of predictions, audited on all its rows.",
                           "label", tuple(self.classes), tuple(self.meta["sensitive"]), "", n)
        import hashlib

        prov = Provenance("file", "", self.meta.get("source", FILE), hashlib.sha256(self.source).hexdigest(), "")
        empty = Split(X.iloc[:0], y[:0], groups.iloc[:0])
        splits = {"train": empty, "val": empty, "test": Split(X, y, groups)}
        return Dataset(spec, prov, [Feature(ROW, "numeric")], splits, 0,
                       ["A predictions file: every row is in the test split; there is no training data."])
