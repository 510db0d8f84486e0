"""The compression audit of a language model: each compressed variant against the model on its test perplexity,
size, latency, and what compression did to memorisation (the exposure of every planted canary, ranked the same
way as the memorisation audit does)."""

from __future__ import annotations

import time

from ._result import AuditResult


def _measure(store, record, test, repeats: int, samples: int) -> dict:
    from fmcore.models import exposure, lm_evaluate

    from .stats import latency_ms

    lm = store.load_classifier(record.id)
    ppl = lm_evaluate(lm.net, *test)["perplexity"]
    canaries = record.derivation.get("canaries") or []
    top = max(canaries, key=lambda c: c["repetitions"], default=None)  # the most repeated: what compression may keep
    found = exposure(lm.net, lm.tokenizer, top, samples=samples) if top else {}
    x = test[0]
    return {"test_perplexity": ppl, "exposure": found.get("exposure"),
            "exposure_extrapolated": found.get("exposure_extrapolated", found.get("exposure")),
            "secret_logprob": found.get("logprob"),
            "latency_b1_ms": latency_ms(lm.net, x[:1], repeats)["median"],
            "latency_b64_ms": latency_ms(lm.net, x[:64], repeats)["median"]}


def lm_compression_audit(store, parent, variants, *, repeats: int = 20, threads: int = 1, seed: int = 0,
                         samples: int = 5000, progress=None) -> AuditResult:
    """One row per compressed variant of the language model ``parent``: perplexity, exposure of the most repeated
    canary (``samples`` secrets scored where the space is large; the skew-normal extrapolation beside, since a
    sampled exposure tops out at log2(samples + 1)) and latency, each with its change from the parent."""
    import torch

    from fmcore.compress import lm_test_blocks

    started = time.perf_counter()
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        base_lm = store.load_classifier(parent.id)
        test = lm_test_blocks(store, parent, base_lm.tokenizer, base_lm.net.config.context)
        base = _measure(store, parent, test, repeats, samples)
        rows = []
        for i, rec in enumerate(variants):
            if progress:
                progress((i + 1) / (len(variants) + 1), f"{rec.derivation['compression']} ({rec.id})")
            m = _measure(store, rec, test, repeats, samples)
            exposed = m["exposure"] is not None
            rows.append({"model_id": rec.id, "method": rec.derivation["compression"], "size_bytes": rec.size_bytes,
                         "size_ratio": rec.size_bytes / max(1, parent.size_bytes),
                         "test_perplexity": m["test_perplexity"],
                         "perplexity_delta": m["test_perplexity"] - base["test_perplexity"],
                         "most_repeated_exposure": m["exposure"],
                         "exposure_delta": m["exposure"] - base["exposure"] if exposed else None,
                         "exposure_extrapolated": m["exposure_extrapolated"],
                         "exposure_extrapolated_delta": m["exposure_extrapolated"] - base["exposure_extrapolated"]
                         if exposed else None,
                         "secret_logprob": m["secret_logprob"],
                         "secret_logprob_delta": m["secret_logprob"] - base["secret_logprob"] if exposed else None,
                         "latency_b1_ms": m["latency_b1_ms"], "latency_b64_ms": m["latency_b64_ms"],
                         "latency_b1_ratio": m["latency_b1_ms"] / base["latency_b1_ms"],
                         "latency_b64_ratio": m["latency_b64_ms"] / base["latency_b64_ms"]})
    finally:
        torch.set_num_threads(old_threads)
    parent_row = {"model_id": parent.id, "method": "original", "size_bytes": parent.size_bytes,
                  "test_perplexity": base["test_perplexity"], "latency_b1_ms": base["latency_b1_ms"],
                  "latency_b64_ms": base["latency_b64_ms"], "most_repeated_exposure": base["exposure"],
                  "exposure_extrapolated": base["exposure_extrapolated"], "secret_logprob": base["secret_logprob"]}
    metrics = {"variants": len(rows), "parent_test_perplexity": base["test_perplexity"],
               "parent_size_bytes": parent.size_bytes, "parent_most_repeated_exposure": parent_row[
                   "most_repeated_exposure"], "threads": threads, "repeats": repeats,
               "max_perplexity_ratio": max(r["test_perplexity"] / base["test_perplexity"] for r in rows)}
    return AuditResult(audit="compression", model_id=parent.id, dataset=parent.dataset,
                       params={"repeats": repeats, "threads": threads, "seed": seed, "samples": samples},
                       metrics=metrics,
                       tables={"variants": rows, "parent": [parent_row]}, warnings=[], seed=seed,
                       seconds=time.perf_counter() - started)
