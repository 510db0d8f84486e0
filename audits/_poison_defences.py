"""ART's poisoning defences as second opinions beside the trigger search of the backdoor audit.

- **Activation clustering** (Chen et al., 2018; ART ``ActivationDefence``): each class's training rows are split into
  two clusters of their penultimate activations; the smaller cluster is suspicious.
- **Spectral signatures** (Tran et al., 2018; ART ``SpectralSignatureDefense``): in each class, the rows whose
  activations project most on the top singular vector are removed (1.5 times the expected poisoned share).
- **STRIP** (Gao et al., 2019): at inference, an input blended with clean images keeps its answer (low prediction
  entropy) when a trigger drives it; the entropy threshold is the 1% quantile of a normal fitted to the entropies of
  clean validation images. Written here: ART's ``STRIP`` (1.20) takes the entropy over the blended copies for each
  class (``scipy.stats.entropy(..., axis=0)``) instead of over the classes for each copy (the paper's Eq. 4), and on
  the MNIST CNN with a 99.6%-effective trigger it caught 2% of triggered inputs; this one follows the paper (checked
  against a direct computation in a test).

Both training-data defences read the same activations as the audit (the input of the last linear layer), through
an ART classifier whose ``get_activations`` returns them.
"""

from __future__ import annotations

import numpy as np
import torch

from fmcore.errors import FmauditError


def penultimate(net: torch.nn.Module, x: torch.Tensor, batch: int = 512) -> np.ndarray:
    """The input of the network's last linear layer for every row of ``x`` (what the classifier head sees)."""
    last = [m for m in net.modules() if isinstance(m, torch.nn.Linear)]
    if not last:
        raise FmauditError("The backdoor audit reads the input of the network's last linear layer; this network has "
                           "none.")
    seen: list[torch.Tensor] = []
    hook = last[-1].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].detach().reshape(len(inp[0]), -1)))
    try:
        with torch.inference_mode():
            for i in range(0, len(x), batch):
                net(x[i:i + batch])
    finally:
        hook.remove()
    return torch.cat(seen).numpy().astype(np.float64)


def _art_classifier(classifier):
    """An ART ``PyTorchClassifier`` over the network whose activations are the penultimate layer's."""
    from art.estimators.classification import PyTorchClassifier

    from .robustness._estimator import _Float32

    net = classifier.net

    class Penultimate(PyTorchClassifier):
        def get_activations(self, x, layer=None, batch_size=128, framework=False):
            return penultimate(net, torch.as_tensor(np.asarray(x, dtype=np.float32)))

    return Penultimate(model=_Float32(net).eval(), loss=torch.nn.CrossEntropyLoss(), nb_classes=len(classifier.classes),
                       input_shape=tuple(classifier.meta["input"]["shape"]), clip_values=(0.0, 1.0),
                       device_type="cpu")


def _scored(name: str, flagged: np.ndarray, rows: np.ndarray, truth: set | None, target: int | None, y) -> dict:
    """One detector's row: how many rows it flagged (and in the target class), precision and recall against the
    recorded poison where known."""
    flagged_rows = rows[flagged]
    out = {"detector": name, "rows_scanned": int(len(rows)), "flagged": int(flagged.sum())}
    if target is not None:
        out["flagged_in_target"] = int((y[flagged] == target).sum())
    if truth is not None:
        hits = len(set(flagged_rows.tolist()) & truth)
        out.update(precision=hits / len(flagged_rows) if len(flagged_rows) else None,
                   recall=hits / len(truth) if truth else None)
    return out


def training_defences(classifier, train, rows: np.ndarray, truth: set | None, target: int | None,
                      expected_share: float, seed: int) -> list[dict]:
    """Activation clustering and spectral signatures over the training ``rows``; one scored row per detector (seeded:
    ART's clustering and dimension reduction draw from numpy's global generator)."""
    from art.defences.detector.poison import ActivationDefence, SpectralSignatureDefense

    from fmcore.config import numpy_seeded

    est = _art_classifier(classifier)
    x = np.asarray(train.X[rows], dtype=np.float32)
    y = np.asarray(train.y)[rows]
    onehot = np.eye(len(classifier.classes), dtype=np.float32)[y]
    with numpy_seeded(seed):
        _, clean = ActivationDefence(est, x, onehot).detect_poison(nb_clusters=2, nb_dims=10, reduce="PCA")
    out = [_scored("activation clustering (ART)", np.asarray(clean) == 0, rows, truth, target, y)]
    with numpy_seeded(seed):
        _, clean = SpectralSignatureDefense(est, x, onehot, batch_size=256, eps_multiplier=1.5,
                                            expected_pp_poison=expected_share).detect_poison()
    out.append(_scored("spectral signatures (ART)", np.asarray(clean) == 0, rows, truth, target, y))
    return out


def strip_entropy(net, x: np.ndarray, partners: np.ndarray, rng: np.random.Generator, copies: int = 20,
                  batch: int = 2000) -> np.ndarray:
    """STRIP's entropy per input: the mean over ``copies`` blends (half the input, half a random ``partners`` image)
    of the entropy (bits) of the network's class probabilities."""
    pick = rng.integers(0, len(partners), size=(len(x), copies))
    blends = (0.5 * x[:, None] + 0.5 * partners[pick]).reshape(-1, *x.shape[1:]).astype(np.float32)
    out = []
    with torch.inference_mode():
        for i in range(0, len(blends), batch):
            p = torch.softmax(net(torch.as_tensor(blends[i:i + batch])).double(), -1)
            out.append(-(p * torch.log2(p.clamp_min(1e-300))).sum(-1).numpy())
    return np.concatenate(out).reshape(len(x), copies).mean(1)


def strip_rates(classifier, val_x: np.ndarray, clean_x: np.ndarray, triggered_x: np.ndarray, seed: int,
                copies: int = 20, false_rejection: float = 0.01) -> dict:
    """STRIP with its threshold fitted on ``val_x`` (blended with each other): the share of ``clean_x`` it rejects and
    of ``triggered_x`` it catches (entropy at or under the threshold)."""
    from scipy.stats import norm

    rng = np.random.default_rng(seed)
    net = classifier.net.eval()
    mean, std = norm.fit(strip_entropy(net, val_x, val_x, rng, copies))
    threshold = float(norm.ppf(false_rejection, loc=mean, scale=std))
    clean = strip_entropy(net, clean_x, val_x, rng, copies)
    triggered = strip_entropy(net, triggered_x, val_x, rng, copies)
    return {"detector": "STRIP at inference", "clean_rejected": float((clean <= threshold).mean()),
            "triggered_caught": float((triggered <= threshold).mean()), "entropy_threshold": threshold,
            "clean_inputs": int(len(clean_x)), "triggered_inputs": int(len(triggered_x)),
            "mean_entropy_clean": float(clean.mean()), "mean_entropy_triggered": float(triggered.mean())}
