"""A model-guided character-level attack on text classifiers (in the spirit of DeepWordBug, Gao et al. 2018).

Words are ranked by how much deleting each one lowers the model's probability of the true class;
then, most important first, each word gets the single character edit (swap, delete, look-alike
substitution, inserted space) that lowers that probability most, until the prediction flips or the
edit budget is spent. Written here because no attack library that works offline covers text.
"""

from __future__ import annotations

import numpy as np

LOOKALIKE = {"a": "@", "e": "3", "i": "1", "l": "1", "o": "0", "s": "$", "t": "7", "b": "8", "g": "9"}


def char_edits(word: str) -> list[str]:
    """Candidate misspellings of ``word``: adjacent swap, deletion, look-alike substitution, split."""
    out = set()
    for i in range(len(word)):
        if i + 1 < len(word) and word[i] != word[i + 1]:
            out.add(word[:i] + word[i + 1] + word[i] + word[i + 2:])
        if len(word) > 1:
            out.add(word[:i] + word[i + 1:])
        sub = LOOKALIKE.get(word[i].lower())
        if sub:
            out.add(word[:i] + sub + word[i + 1:])
        if 0 < i < len(word):
            out.add(word[:i] + " " + word[i:])
    out.discard(word)
    return sorted(out)[:12]  # sorted: the same candidates, in the same order, every run


def attack_text(classifier, text: str, label: int, budget: int) -> dict:
    """Greedy model-guided edits of one text; returns the edited text, edits used and predictions."""
    words = text.split()
    p0 = classifier.predict_proba([text])[0]
    result = {"original": text, "true": int(label), "clean_pred": int(p0.argmax()), "clean_conf": float(p0.max()),
              "edited": text, "edits": 0, "flipped": False, "adv_pred": int(p0.argmax()), "adv_conf": float(p0.max())}
    if not words or p0.argmax() != label:
        return result
    drops = classifier.predict_proba([" ".join(words[:i] + words[i + 1:]) for i in range(len(words))])[:, label]
    order = np.argsort(drops, kind="stable")  # lowest true-class probability without the word: most important
    current = list(words)
    for edits, i in enumerate(order[:budget], start=1):
        candidates = char_edits(current[i])
        if not candidates:
            continue
        texts = [" ".join(current[:i] + [c] + current[i + 1:]) for c in candidates]
        probs = classifier.predict_proba(texts)
        best = int(probs[:, label].argmin())
        current[i] = candidates[best]
        result.update(edited=texts[best], edits=edits, adv_pred=int(probs[best].argmax()),
                      adv_conf=float(probs[best].max()))
        if probs[best].argmax() != label:
            result["flipped"] = True
            break
    return result


def text_sweep(classifier, texts, labels, budgets: list[int], progress=None) -> tuple[list[dict], list[dict]]:
    """Accuracy when up to k words may be misspelt, for each k in ``budgets``; plus each attacked text."""
    from ..stats import wilson

    results = []
    for j, (t, y) in enumerate(zip(texts, labels, strict=True)):
        if progress:
            progress(j / len(texts), f"editing text {j + 1}/{len(texts)}")
        results.append(attack_text(classifier, str(t), int(y), max(budgets)))
    clean_correct = np.array([r["clean_pred"] == r["true"] for r in results])
    needed = np.array([r["edits"] if r["flipped"] else np.inf for r in results])
    rows = []
    for k in budgets:
        robust = clean_correct & (needed > k)
        lo, hi = wilson(int(robust.sum()), len(results))
        flipped = clean_correct & (needed <= k)
        rows.append({"eps": float(k), "robust_accuracy": float(robust.mean()), "ci_low": lo, "ci_high": hi,
                     "success_rate": float(flipped.sum() / max(1, clean_correct.sum())),
                     "mean_edits": float(needed[flipped].mean()) if flipped.any() else 0.0, "n": len(results)})
    return rows, results
