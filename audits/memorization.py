"""The memorisation audit of a language model trained here.

- **Canaries** (Carlini et al., 2019, "The Secret Sharer"): random secrets planted in the training texts at chosen
  repetition counts (``fmaudit train --model gpt --canaries 1,4,16,64``). Exposure = log2(number of possible
  secrets) - log2(rank of the true secret among all of them by the model's log-probability): every possible secret
  is scored, so the rank is exact. Whether greedy decoding from the canary's prefix returns the secret is reported
  too.
- **Extraction** (Carlini et al., 2021): training texts cut after ``prefix`` tokens; the share whose next ``suffix``
  tokens greedy decoding reproduces exactly, beside the same share on held-out test texts (what the language itself
  makes predictable).
- **Membership inference on sequences**: the mean token loss of each text (members: training texts; others: test
  texts), and the same loss minus that of a unigram model of the training tokens (a reference that removes how
  predictable a text is by its words alone); AUC with a bootstrap interval for each.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from fmcore.errors import FmauditError

from ._options import opt
from ._result import AuditResult
from ._spec import CompareRow, from_chance, register_audit


def _greedy(net, ids: list[int], n: int) -> list[int]:
    out = list(ids)
    with torch.no_grad():
        for _ in range(n):
            out.append(int(net(torch.as_tensor([out[-net.config.context:]]))[0, -1].argmax()))
    return out[len(ids):]


def _text_losses(net, tokenizer, texts, unigram_logp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each text's mean next-token loss under the model and under the unigram model (nats per token)."""
    from fmcore.models import END, sequence_logprobs

    end = tokenizer.token_to_id(END)
    encoded = tokenizer.encode_batch([str(t) for t in texts])
    seqs = [([end] + enc.ids + [end])[: net.config.context + 1] for enc in encoded]
    model = [-float(p.mean()) for p in sequence_logprobs(net, seqs, pad=end, batch=256)]
    uni = [-float(unigram_logp[s[1:]].mean()) for s in seqs]
    return np.asarray(model), np.asarray(uni)


def _auc(members: np.ndarray, others: np.ndarray, seed: int, n_boot: int = 200) -> tuple[float, float, float]:
    """AUC of "lower score means member", with a percentile bootstrap interval."""
    from sklearn.metrics import roc_auc_score

    y = np.r_[np.ones(len(members)), np.zeros(len(others))]
    s = -np.r_[members, others]
    auc = float(roc_auc_score(y, s))
    rng = np.random.default_rng(seed)
    boots = []
    for _ in range(n_boot):
        i = rng.integers(0, len(members), len(members))
        j = rng.integers(0, len(others), len(others))
        boots.append(roc_auc_score(y, -np.r_[members[i], others[j]]))
    lo, hi = np.percentile(boots, [2.5, 97.5])
    return auc, float(lo), float(hi)


def _summary(result) -> dict:
    return {"canaries": result.tables["canaries"], "mia": result.tables["mia"]}


def _headline(m: dict) -> str:
    from ._format import pct, score

    lead = _canary_finding(m.get("most_exposed_canary"))
    return (f"{lead + '; ' if lead else ''}{pct(m.get('extraction_rate'))} of training texts extracted, sequence "
            f"membership AUC {score(m.get('mia_auc_loss'))}")


def _canary_finding(top: dict | None) -> str:
    """The most exposed canary, the decision first: fully memorised where no candidate secret beats it (an exposure
    at its cap then measures the search, not the memorisation)."""
    if not top:
        return ""
    reps = f"the {top['repetitions']}x canary"
    if top.get("rank") == 1 and top.get("method") == "exact":
        return f"fully memorised: {reps} is the most likely of all {top['space']:,} candidate secrets"
    if top.get("capped"):
        return (f"fully memorised: {reps} is more likely than every one of {top['samples']:,} "
                f"sampled candidates (of {top['space']:,}; extrapolated exposure "
                f"{top['exposure_extrapolated']:.1f} of {np.log2(top['space']):.1f} bits)")
    return f"{reps}: exposure {top['exposure']:.1f} of {np.log2(top['space']):.1f} bits"


def _figures(audit: dict) -> list:
    from . import figures

    rows = audit["tables"].get("canaries")
    return [("canary exposure", figures.canary_exposure(rows))] if rows else []


@dataclass
class MemorizationOptions:
    """The memorisation audit's options (its flags, form and settings)."""
    texts: int = opt(200, "training and held-out texts compared", min=1, flag="samples")
    prefix: int = opt(8, "tokens of a training text given as the prompt", min=1)
    suffix: int = opt(8, "tokens the model must reproduce to count as extracted", min=1)
    seed: int = opt(0, "the seed of every random draw")
    n_boot: int = opt(200, "bootstrap resamples of the intervals", min=10)
    exposure_samples: int = opt(20_000, "random secrets an exposure is estimated against", min=100)


#: Compare's rows for this audit
_COMPARE = (
    CompareRow("canary exposure, most repeated (bits)", higher_is_better=False, get=lambda a: max(
        (a.get("tables") or {}).get("canaries") or [{"repetitions": 0, "exposure": None}],
        key=lambda r: r["repetitions"])["exposure"]),
    CompareRow("training texts extracted", "extraction_rate", False, True),
    CompareRow("sequence membership AUC", "mia_auc_loss", False, False,
               radar=("language privacy: 1 − |2·AUC − 1|", from_chance)),
)


@register_audit("memorization", "Memorisation (language models)",
                "Canary exposure against repetitions (every possible secret ranked), extraction of training texts "
                "from their prefixes beside held-out texts, and membership inference on sequences (loss and "
                "unigram-referenced loss).",
                options=MemorizationOptions,
                requires=("generates", "training_rows"),
                summary=_summary, headline=_headline, figures=_figures, compare=_COMPARE,
                order=90)
def memorization(model, dataset, params: dict, progress=None) -> AuditResult:
    """The memorisation audit: ``canaries`` rows ``{repetitions, exposure, ...}``, ``extraction_rate``, MIA AUCs."""
    from fmcore.models import END, encode_texts, exposure, unigram_logprobs

    started = time.perf_counter()
    seed, n = int(params["seed"]), int(params["texts"])
    net, tok = model.net.eval(), model.tokenizer
    canaries = model.meta.get("canaries") or []
    rows = []
    for i, c in enumerate(canaries):
        if progress:
            progress(0.5 * i / max(1, len(canaries)), f"exposure of the canary repeated {c['repetitions']} times")
        row = exposure(net, tok, c, samples=int(params["exposure_samples"]))
        prompt = [tok.token_to_id(END)] + tok.encode(c["prefix"]).ids
        row["extracted"] = tok.decode(_greedy(net, prompt, len(tok.encode(" " + c["secret"]).ids))).strip() == c[
            "secret"]
        rows.append(row)
    trained = int((model.meta.get("training") or {}).get("train_texts") or len(dataset["train"]))
    rng = np.random.default_rng(seed)
    pre, suf = int(params["prefix"]), int(params["suffix"])

    def sample(split, limit):
        texts = [str(t) for t in dataset[split].X[:limit]]
        long = [t for t, e in zip(texts, tok.encode_batch(texts), strict=True) if len(e.ids) >= pre + suf]
        if len(long) < 20:
            raise FmauditError(f"Too few {split} texts with {pre + suf} tokens or more ({len(long)}); lower prefix "
                               "or suffix.")
        return [long[i] for i in rng.choice(len(long), min(n, len(long)), replace=False)]

    members, others = sample("train", trained), sample("test", None)
    if progress:
        progress(0.6, f"extraction: {len(members)} training and {len(others)} held-out texts")

    def extracted(texts):
        hits = 0
        for enc in tok.encode_batch(texts):
            ids = [tok.token_to_id(END)] + enc.ids
            hits += _greedy(net, ids[: pre + 1], suf) == ids[pre + 1: pre + 1 + suf]
        return hits / len(texts)

    rate, heldout = extracted(members), extracted(others)
    if progress:
        progress(0.8, "membership inference on sequences")
    stream = encode_texts(tok, [str(t) for t in dataset["train"].X[:trained]])
    unigram = unigram_logprobs(stream, tok.get_vocab_size())
    m_loss, m_uni = _text_losses(net, tok, members, unigram)
    o_loss, o_uni = _text_losses(net, tok, others, unigram)
    loss_auc = _auc(m_loss, o_loss, seed, int(params["n_boot"]))
    ref_auc = _auc(m_loss - m_uni, o_loss - o_uni, seed, int(params["n_boot"]))
    metrics = {"extraction_rate": rate, "extraction_rate_heldout": heldout, "texts": len(members),
               "mia_auc_loss": loss_auc[0], "mia_auc_loss_ci": [loss_auc[1], loss_auc[2]],
               "mia_auc_reference": ref_auc[0], "mia_auc_reference_ci": [ref_auc[1], ref_auc[2]],
               "max_exposure": max((r["exposure"] for r in rows), default=None),
               "canaries_extracted": sum(r["extracted"] for r in rows),
               "most_exposed_canary": {k: v for k, v in max(rows, key=lambda r: r["exposure"]).items()
                                       if k in ("repetitions", "rank", "space", "method", "capped", "exposure",
                                                "exposure_extrapolated", "samples")} if rows else None}
    metrics["verdict"] = _verdict(metrics, rows)
    return AuditResult(audit="memorization", model_id=None, dataset=dataset.name, params=params, metrics=metrics,
                       tables={"canaries": rows, "mia": [
                           {"attack": "loss", "auc": loss_auc[0], "ci_low": loss_auc[1], "ci_high": loss_auc[2]},
                           {"attack": "loss minus unigram reference", "auc": ref_auc[0], "ci_low": ref_auc[1],
                            "ci_high": ref_auc[2]}]},
                       warnings=[], seed=seed, seconds=time.perf_counter() - started)


def _verdict(m: dict, rows: list[dict]) -> str:
    parts = []
    if rows:
        found = _canary_finding(m["most_exposed_canary"])
        whole = (f"; {m['canaries_extracted']} of {len(rows)} canaries come back whole from their prefix"
                 if m["canaries_extracted"] else "")
        parts.append(found[0].upper() + found[1:] + whole + ".")
    parts.append(f"Greedy decoding reproduces the continuation of {m['extraction_rate']:.1%} of training texts from "
                 f"their start ({m['extraction_rate_heldout']:.1%} of held-out texts).")
    parts.append(f"A loss-based membership attack reaches AUC {m['mia_auc_loss']:.3f}, "
                 f"{m['mia_auc_reference']:.3f} with a unigram reference (0.5: no better than chance).")
    return " ".join(parts)
