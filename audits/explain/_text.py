"""Token attributions for text classifiers (MiniLM and its LoRA / IA3 children): Captum's layer integrated
gradients on the word embeddings, against a baseline in which every real token is [PAD] ([CLS], [SEP] and padding
stay), summed over the embedding width to one number per token. The checks work on real tokens only: deletion
replaces the highest-ranked tokens by [PAD], stability adds small noise to the word embeddings."""

from __future__ import annotations

import numpy as np
import torch


def token_layer(net) -> torch.nn.Module:
    """The word-embedding layer of a wrapped Hugging Face classifier (PEFT children delegate to their base)."""
    return net.inner.get_input_embeddings()


def eligible_tokens(ids: torch.Tensor, mask: torch.Tensor, tokenizer) -> torch.Tensor:
    """True on the real tokens of each sequence: attended and not a special token ([CLS], [SEP], [PAD], ...)."""
    special = torch.tensor(sorted(set(tokenizer.all_special_ids)), dtype=ids.dtype)
    return mask.bool() & ~torch.isin(ids, special)


def pad_baseline(ids: torch.Tensor, eligible: torch.Tensor, tokenizer) -> torch.Tensor:
    """The integrated-gradients baseline: every real token replaced by [PAD]."""
    return torch.where(eligible, torch.full_like(ids, tokenizer.pad_token_id), ids)


def token_attributions(net, ids: torch.Tensor, mask: torch.Tensor, target: torch.Tensor, baseline: torch.Tensor,
                       steps: int = 32, noise: torch.Tensor | None = None, batch: int = 64) -> np.ndarray:
    """Layer integrated gradients on the word embeddings, one number per token: ``(n, sequence length)``.

    ``noise`` (same shape as the embeddings) is added to the word embeddings before the rest of the network, for
    the stability check; without it the network is called exactly as Captum's own example does.
    """
    from captum.attr import LayerIntegratedGradients

    net = net.eval()
    inner, layer = net.inner, token_layer(net)

    def forward(input_ids, attention_mask, extra=None):
        if extra is None:
            return inner(input_ids=input_ids, attention_mask=attention_mask).logits
        return inner(inputs_embeds=layer(input_ids) + extra, attention_mask=attention_mask).logits

    extra = (mask,) if noise is None else (mask, noise)
    out = LayerIntegratedGradients(forward, layer).attribute(
        ids, baselines=baseline, additional_forward_args=extra, target=target, n_steps=steps,
        internal_batch_size=batch)
    return out.sum(-1).detach().numpy()


def token_deletion_curve(net, ids: torch.Tensor, mask: torch.Tensor, target: torch.Tensor, order: np.ndarray,
                         eligible: np.ndarray, pad_id: int, steps: int = 10) -> np.ndarray:
    """The class probability as each sequence's real tokens are replaced by [PAD] in ``order`` (positions, most
    important first; only eligible ones count), in ``steps`` equal shares of that sequence's real tokens."""
    n = len(ids)
    lengths = eligible.sum(1)
    curve = np.zeros((n, steps + 1))
    ranked = [[p for p in order[i] if eligible[i, p]] for i in range(n)]
    with torch.no_grad():
        for s in range(steps + 1):
            x = ids.clone()
            for i in range(n):
                k = int(round(lengths[i] * s / steps))
                if k:
                    x[i, ranked[i][:k]] = pad_id
            probs = net(x, mask).softmax(-1)
            curve[:, s] = probs[torch.arange(n), target].numpy()
    return curve


def embedding_noise(net, shape: tuple, scale: float, rng: np.random.Generator) -> torch.Tensor:
    """Gaussian noise for the word embeddings: ``scale`` times the embedding table's standard deviation."""
    std = float(token_layer(net).weight.detach().std())
    return torch.from_numpy(rng.normal(0, scale * std, size=shape).astype(np.float32))


def text_gallery(classifier, ids, eligible, attr, y, target, rows, k: int) -> list[dict]:
    """The first ``k`` explained texts: their real tokens with attributions scaled to -1..1 per text."""
    out = []
    for i in range(min(k, len(ids))):
        where = np.flatnonzero(eligible[i])
        weights = attr[i, where]
        top = float(np.abs(weights).max()) if len(weights) else 0.0
        out.append({"index": int(rows[i]), "label": classifier.classes[int(y[i])],
                    "predicted": classifier.classes[int(target[i])],
                    "tokens": classifier.tokenizer.convert_ids_to_tokens(ids[i, where].tolist()),
                    "attribution": np.round((weights / top if top > 0 else weights).astype(float), 3).tolist()})
    return out


def _attribution_task(shared: dict, task: dict) -> np.ndarray:
    """One executor task: token attributions of rows ``start:stop`` by the ``which`` network (trained, randomised,
    or trained with noisy embeddings)."""
    rows = slice(task["start"], task["stop"])
    noise = shared["noise"][rows] if task["which"] == "noisy" else None
    net = shared["randomised"] if task["which"] == "randomised" else shared["net"]
    return token_attributions(net, shared["ids"][rows], shared["mask"][rows], shared["target"][rows],
                              shared["baseline"][rows], shared["steps"], noise=noise)


def fanned_attributions(net, randomised, ids, mask, target, baseline, noise, steps: int, seed: int,
                        chunk: int = 16, progress=None) -> dict[str, np.ndarray]:
    """The three attributions the checks need (``trained``, ``randomised``, ``noisy``), as tasks of ``chunk`` texts
    on the sweep executor: one after another here, in parallel on Ray. Integrated gradients are deterministic, so
    the split changes nothing but where the work runs."""
    from fmcore.executor import get_executor

    n = len(ids)
    kinds = ("trained", "randomised", "noisy")
    tasks = [{"seed": seed, "which": w, "start": s, "stop": min(s + chunk, n)} for w in kinds
             for s in range(0, n, chunk)]
    shared = {"net": net, "randomised": randomised, "ids": ids, "mask": mask, "target": target, "baseline": baseline,
              "noise": noise, "steps": steps}
    parts = get_executor().map(_attribution_task, tasks, shared, progress=progress, label="token attributions")
    return {w: np.concatenate([p for p, t in zip(parts, tasks, strict=True) if t["which"] == w]) for w in kinds}
