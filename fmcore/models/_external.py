"""Models fmaudit did not build, run by their own runtime: scikit-learn estimators and pipelines (LightGBM and
XGBoost scikit-learn models too) saved with skops and loaded with an explicit list of trusted types, never a pickle;
ONNX graphs from any framework, run with onnxruntime. Both take the dataset's raw columns (a pipeline brings its own
encoders) or its images. They offer labels and scores, no gradients and no weights fmaudit could change; which
audits that allows is said per model (``offers``)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..errors import ConfigError, FmauditError
from ._zoo import Classifier, log_probabilities, register_kind

FILES = {"sklearn": "model.skops", "onnx": "model.onnx"}
#: types fmaudit trusts in a skops file beyond skops' own defaults (scikit-learn, numpy, scipy): what ordinary
#: scikit-learn pipelines hold at the locked versions (a dtype, a fitted tree, a histogram-boosting predictor), the
#: scikit-learn models of LightGBM and XGBoost and the containers their state holds. Each holds data, not code.
TRUSTED_TYPES = ("collections.OrderedDict", "collections.defaultdict", "lightgbm.basic.Booster",
                 "lightgbm.sklearn.LGBMClassifier", "numpy.dtype",
                 "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor", "sklearn.tree._tree.Tree",
                 "xgboost.core.Booster", "xgboost.sklearn.XGBClassifier")
#: modules whose types run code or reach the system: never trusted, whoever asks
NEVER_TRUSTED_MODULES = ("os", "posix", "nt", "subprocess", "importlib", "sys", "shutil", "socket", "pickle", "marshal",
                         "ctypes", "runpy", "code", "codeop", "pty", "multiprocessing", "threading", "signal", "io",
                         "pathlib", "tempfile", "webbrowser", "urllib", "http", "asyncio", "operator", "functools",
                         "types", "inspect", "gc")
#: builtins that hold data; every other builtin (eval, exec, compile, __import__, open, getattr, ...) is never trusted
DATA_BUILTINS = {"builtins.bytearray", "builtins.bytes", "builtins.complex", "builtins.frozenset", "builtins.range",
                 "builtins.set", "builtins.slice"}


def never_trustable(type_name: str) -> bool:
    """True for a type that runs code or reaches the system (``os.system``, ``builtins.eval``, ``importlib...``):
    fmaudit refuses it whoever asks to trust it."""
    name = type_name.strip()
    module = name.split(".", 1)[0]
    if module == "builtins":
        return name not in DATA_BUILTINS
    return module in NEVER_TRUSTED_MODULES or module.startswith("_") or "eval" in name or "exec" in name


class UntrustedModelError(FmauditError):
    """A model file holds types fmaudit does not load (exit 2 with their names)."""


def skops_untrusted(path: Path) -> list[str]:
    """The types in a skops file that skops does not trust by default (read without loading anything)."""
    from skops.io import get_untrusted_types

    try:
        return sorted(get_untrusted_types(file=path))
    except Exception as exc:  # a damaged or foreign file: zip, JSON schema and protocol errors alike
        raise FmauditError(f"{path.name} is not a readable skops file: {exc}") from None


def load_skops(path: Path, trust: tuple[str, ...] = (), control: str = "--trust TYPE") -> tuple[object, list[str]]:
    """The estimator in ``path`` and the non-default types it was loaded with; refused before loading when it holds a
    type outside skops' defaults, ``TRUSTED_TYPES`` and ``trust``, or any type that runs code (never trustable).
    ``control`` names how the user trusts a type where they are (the CLI's flag, the dashboard's box)."""
    from skops.io import load

    untrusted = skops_untrusted(path)
    dangerous = sorted({t for t in [*untrusted, *trust] if never_trustable(t)})
    if dangerous:
        raise UntrustedModelError(
            f"Refused before loading: {path.name} holds or asks to trust {', '.join(dangerous)}, which can run code "
            "or reach the system; fmaudit never trusts such types, whoever asks.")
    refused = [t for t in untrusted if t not in set(TRUSTED_TYPES) | set(trust)]
    if refused:
        raise UntrustedModelError(
            f"Refused before loading: {path.name} holds types fmaudit does not trust: {', '.join(refused)}. Loading "
            f"them could run their code. If an approver has checked each one, import again trusting it ({control}).")
    return load(path, trusted=untrusted), untrusted


def _frame_or_pixels(X, modality: str):
    """Raw inputs as a runtime takes them: the DataFrame of feature columns, or images flattened for scikit-learn."""
    if modality == "image":
        return np.asarray(X, dtype=np.float32)
    return X


@register_kind("sklearn", "onnx")
class ExternalClassifier(Classifier):
    """A scikit-learn (skops) or ONNX model bound to a dataset's classes; ``encode`` is the identity (the runtime
    takes raw inputs), ``logits`` are log-probabilities (so softmax gives back the model's own probabilities)."""

    def __init__(self, runtime, meta: dict, source: bytes):
        super().__init__(meta["model"], None, meta, None, None)
        self.runtime, self.source = runtime, source

    def n_params(self, trainable_only: bool = False) -> int:
        """Parameters fmaudit can count: an ONNX graph's initializers; 0 for scikit-learn models."""
        return int(self.meta.get("n_params", 0))

    def encode(self, X):
        """Raw inputs unchanged: the model brings its own encoders."""
        return X

    def logits(self, inputs, batch_size: int = 512):
        """Log-probabilities of raw ``inputs`` (the model's probabilities come back through a softmax)."""
        return log_probabilities(self.predict_proba(inputs, batch_size))

    def predict_proba(self, X, batch_size: int = 4096, groups=None) -> np.ndarray:
        """Class probabilities in the dataset's class order."""
        n = len(X)
        parts = [self._proba(X[i:i + batch_size] if not hasattr(X, "iloc") else X.iloc[i:i + batch_size])
                 for i in range(0, n, batch_size)] or [np.zeros((0, len(self.classes)))]
        out = np.concatenate(parts).astype(np.float64)
        order = self.meta["class_order"]  # runtime column j is dataset class order[j]
        proba = np.zeros((len(out), len(self.classes)))
        proba[:, order] = out
        return proba

    def _proba(self, X) -> np.ndarray:
        kind = self.meta["kind"]
        if kind == "sklearn":
            X = _frame_or_pixels(X, self.modality)
            if self.modality == "image":
                X = X.reshape(len(X), -1)
            elif self.meta.get("columns"):
                X = X[self.meta["columns"]]
            return np.asarray(self.runtime.predict_proba(X))
        return onnx_proba(self.runtime, X, self.modality, len(self.classes))

    def save(self, folder: str | Path) -> None:
        """The model's own file, unchanged (so its hash is the source's), and the metadata."""
        folder = Path(folder)
        (folder / FILES[self.meta["kind"]]).write_bytes(self.source)
        (folder / "fmaudit.json").write_text(json.dumps(self.meta, indent=2))

    @staticmethod
    def offers_from(meta: dict) -> frozenset:
        """Labels and scores on new inputs; no gradients, no weights fmaudit could change (a runtime of its own)."""
        return frozenset({"predicts", "labels", "scores"} | ({"images"} if meta.get("modality") == "image" else set()))

    @classmethod
    def load(cls, folder: Path, meta: dict) -> ExternalClassifier:
        """Load what ``save`` wrote; a skops file only with the types recorded when it was imported."""
        path = Path(folder) / FILES[meta["kind"]]
        if meta["kind"] == "sklearn":
            runtime, _ = load_skops(path, tuple(meta.get("trusted_types", ())))
        else:
            runtime = onnx_session(path)
        return cls(runtime, meta, path.read_bytes())


def onnx_session(path: Path):
    """An onnxruntime session on the CPU for ``path`` (one thread per fmaudit's thread setting)."""
    import onnxruntime as ort

    from ..config import default_threads

    check_onnx_sizes(path)
    options = ort.SessionOptions()
    options.intra_op_num_threads = default_threads()
    options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types for malformed graphs
        raise FmauditError(f"{path.name} is not an ONNX model onnxruntime can run: {exc}") from None


#: bytes per element of ONNX tensor element types (onnx.TensorProto), for the size check
ONNX_ELEMENT_BYTES = {1: 4, 2: 1, 3: 1, 4: 2, 5: 2, 6: 4, 7: 8, 9: 1, 10: 2, 11: 8, 12: 4, 13: 8, 14: 8, 15: 16, 16: 2}
BATCH_FOR_UNKNOWN = 4096  # the rows fmaudit feeds at once: what a symbolic (batch) dimension is taken to be


def max_tensor_bytes() -> int:
    """The largest tensor an imported graph may declare (``FMAUDIT_MAX_TENSOR_MB``, default 2048)."""
    import os

    return int(float(os.environ.get("FMAUDIT_MAX_TENSOR_MB", "2048")) * 2**20)


def check_onnx_sizes(path: Path) -> None:
    """Refuse, before onnxruntime runs anything, a graph whose declared or inferred tensors (a ``ConstantOfShape``
    asking for terabytes, say) exceed ``max_tensor_bytes``: ONNX's shape inference with data propagation gives each
    tensor's shape from the graph and its constants; a symbolic dimension counts as ``BATCH_FOR_UNKNOWN`` rows."""
    import onnx

    try:
        model = onnx.load(str(path), load_external_data=False)
        inferred = onnx.shape_inference.infer_shapes(model, data_prop=True)
    except Exception as exc:  # onnx raises its own types for malformed graphs
        raise FmauditError(f"{path.name} is not an ONNX graph fmaudit can check: {str(exc)[:300]}") from None
    graph, limit = inferred.graph, max_tensor_bytes()
    for info in [*graph.value_info, *graph.output, *graph.input]:
        kind = info.type.tensor_type
        if not kind.HasField("shape"):
            continue
        dims = [d.dim_value if d.HasField("dim_value") else BATCH_FOR_UNKNOWN for d in kind.shape.dim]
        size = math.prod(max(d, 0) for d in dims) * ONNX_ELEMENT_BYTES.get(kind.elem_type, 8)
        if size > limit:
            raise FmauditError(f"Refused before running: {path.name} declares a tensor {info.name!r} of shape {dims} "
                               f"({size / 2**20:,.0f} MB), over the {limit / 2**20:,.0f} MB limit "
                               "(FMAUDIT_MAX_TENSOR_MB).")


ONNX_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(int64)": np.int64,
              "tensor(int32)": np.int32, "tensor(string)": object, "tensor(bool)": bool}


def onnx_feeds(session, X, modality: str) -> dict:
    """The graph's inputs from raw ``X``: images as one 4-D (or flattened 2-D) tensor; table columns by name (one
    input per column, as skl2onnx exports pipelines), or all numeric columns as one matrix in the data's order."""
    inputs = session.get_inputs()
    if modality == "image":
        x = np.asarray(X, dtype=np.float32)
        shape = inputs[0].shape
        return {inputs[0].name: x if len(shape) == 4 else x.reshape(len(x), -1)}
    if modality != "tabular":
        raise ConfigError("ONNX models are audited on image or tabular data here; import text models as a Hugging "
                          "Face folder.")
    names = [i.name for i in inputs]
    if all(n in X.columns for n in names):
        feeds = {}
        for i in inputs:
            dtype = ONNX_TYPES.get(i.type, np.float32)
            col = X[i.name]
            values = col.astype(str).to_numpy(dtype=object) if dtype is object else col.to_numpy(dtype=dtype)
            feeds[i.name] = values.reshape(-1, 1)
        return feeds
    if len(inputs) == 1:
        width = inputs[0].shape[-1]
        if isinstance(width, int) and width != X.shape[1]:
            raise ConfigError(f"The ONNX graph takes {width} columns; the data has {X.shape[1]} "
                              f"({', '.join(map(str, X.columns[:8]))}...). Export it with one input per column, "
                              "named like the data's columns.")
        return {inputs[0].name: X.to_numpy(dtype=ONNX_TYPES.get(inputs[0].type, np.float32))}
    raise ConfigError(f"The ONNX graph's inputs ({', '.join(names)}) are not the data's columns.")


def onnx_proba(session, X, modality: str, n_classes: int) -> np.ndarray:
    """Class probabilities from an ONNX graph: its probability output (a tensor, or skl2onnx's list of dicts), else
    the softmax of its one (n, classes) float output (logits)."""
    outputs = session.run(None, onnx_feeds(session, X, modality))
    for out in outputs:
        if isinstance(out, list) and out and isinstance(out[0], dict):  # skl2onnx's ZipMap
            keys = list(out[0])
            return np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
    for out in outputs:
        arr = np.asarray(out)
        if arr.ndim == 2 and arr.shape[1] == n_classes and arr.dtype.kind == "f":
            if (arr >= -1e-6).all() and np.allclose(arr.sum(1), 1, atol=1e-3):
                return arr.astype(np.float64)
            z = arr - arr.max(1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(1, keepdims=True)
    shapes = [getattr(np.asarray(o), "shape", None) for o in outputs]
    raise FmauditError(f"No output of the ONNX graph holds {n_classes} class scores (outputs: {shapes}).")


def class_order(model_classes, dataset_classes: list[str]) -> list[int]:
    """For each of the model's classes (in its output order), the dataset class it is: matched by name, or by
    index when the model's classes are 0..k-1."""
    names = [str(c) for c in model_classes]
    if sorted(names) == sorted(dataset_classes):
        return [dataset_classes.index(c) for c in names]
    if names == [str(i) for i in range(len(dataset_classes))]:
        return list(range(len(dataset_classes)))
    raise FmauditError(f"The model's classes ({', '.join(names[:8])}) are not the dataset's "
                       f"({', '.join(dataset_classes[:8])}).")
