"""The small GPT trained here on shipped tweets: causal, beats a unigram model of its own tokens on held-out text,
generates the same text for the same seed, with each token's log-probability under the model."""

import math
from collections import Counter

import numpy as np
import pytest
import torch

from fmcore.models import GPT, GPTConfig, generate, train_tokenizer
from fmcore.models._gpt import END, encode_texts
from fmcore.train import TrainConfig, train_language_model


@pytest.fixture(scope="module")
def small_lm():
    """2 layers, width 64, 512 tokens, context 64, two epochs on 3,000 tweets (about ten seconds)."""
    return train_language_model("tweets", TrainConfig(epochs=2, seed=0, max_train_samples=3000, max_eval_samples=500,
                                                      lr=3e-3), GPTConfig(vocab=512, layers=2, width=64, heads=4))


def test_attention_is_causal():
    net = GPT(GPTConfig(vocab=50, context=16, layers=2, heads=2, width=32), seed=0).eval()
    ids = torch.randint(0, 50, (2, 16), generator=torch.Generator().manual_seed(0))
    changed = ids.clone()
    changed[:, 10] = (changed[:, 10] + 1) % 50
    with torch.no_grad():
        a, b = net(ids), net(changed)
    torch.testing.assert_close(a[:, :10], b[:, :10])
    assert not torch.allclose(a[:, 10:], b[:, 10:])


def test_tokenizer_round_trips_any_text():
    tok = train_tokenizer(["plain ascii tweets", "more words here"], vocab=300)
    for text in ("naïve café ✈️ 😡 #delayed", "tabs\tand\nlines", "Ünïcödé ß 東京"):
        assert tok.decode(tok.encode(text).ids) == text  # byte-level: nothing is unknown
    stream = encode_texts(tok, ["a b", "c"])
    assert (stream == tok.token_to_id(END)).sum() == 2


def test_the_gpt_beats_a_unigram_model_of_its_tokens(small_lm):
    m = small_lm.metrics
    assert small_lm.history[0]["val_perplexity"] == pytest.approx(math.exp(small_lm.history[0]["val_loss"]))
    assert m["test_perplexity"] < 0.85 * m["unigram_perplexity"], m  # measured: 155 vs 215
    # the unigram floor by hand: add-one counts of the training tokens, scored on the test targets
    from fmcore.data import load_dataset
    from fmcore.models._gpt import blocks

    ds = load_dataset("tweets")
    train = encode_texts(small_lm.tokenizer, list(ds["train"].X[:3000]))
    targets = blocks(encode_texts(small_lm.tokenizer, list(ds["test"].X[:500])), 64)[1].reshape(-1).numpy()
    counts = Counter(train.tolist())
    total = len(train) + small_lm.gpt.vocab
    by_hand = math.exp(-np.mean([math.log((counts[t] + 1) / total) for t in targets]))
    assert m["unigram_perplexity"] == pytest.approx(by_hand, rel=1e-9)


def test_generation_repeats_with_its_seed_and_reports_log_probabilities(small_lm):
    net, tok = small_lm.net, small_lm.tokenizer
    a = generate(net, tok, "@united my flight", seed=3, max_new_tokens=12)
    assert a == generate(net, tok, "@united my flight", seed=3, max_new_tokens=12)
    others = {generate(net, tok, "@united my flight", seed=s, max_new_tokens=12)["text"] for s in range(4, 8)}
    assert len(others | {a["text"]}) > 1
    # each log-probability is the model's, recomputed on the growing sequence
    ids = [tok.token_to_id(END)] + tok.encode("@united my flight").ids
    with torch.no_grad():
        for t, lp in zip(a["ids"], a["logprobs"], strict=True):
            logp = torch.log_softmax(net(torch.as_tensor([ids[-64:]])).double()[0, -1], -1)
            assert float(logp[t]) == pytest.approx(lp, abs=1e-6)
            ids.append(t)
    greedy = [generate(net, tok, "@united", temperature=0, max_new_tokens=5, seed=s)["text"] for s in (1, 99)]
    assert greedy[0] == greedy[1]  # no sampling: the seed does not matter


def test_train_generate_and_export_from_the_command_line(tmp_path):
    """`fmaudit train --model gpt --json` prints model_id and test_perplexity; `fmaudit generate` gives the same text
    for the same seed; the exported folder loads with plain torch (its gpt.py) and generates that same text."""
    import importlib.util
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "FMAUDIT_HOME": str(tmp_path / "home"), "FMAUDIT_THREADS": "1"}

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "fmaudit", *args], capture_output=True, text=True, env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    out = cli("train", "--dataset", "tweets", "--model", "gpt", "--epochs", "1", "--max-train", "300", "--max-eval",
              "100", "--vocab", "300", "--layers", "1", "--width", "32", "--heads", "2", "--context", "32", "--quiet",
              "--json")
    mid = out["model_id"]
    assert out["test_perplexity"] > 1
    assert out["gpt"]["layers"] == 1
    first = cli("generate", "--model", mid, "--prompt", "@united", "--seed", "7", "--json")
    assert first["text"] == cli("generate", "--model", mid, "--prompt", "@united", "--seed", "7", "--json")["text"]
    assert first["generations"][0]["logprob"] == pytest.approx(sum(first["generations"][0]["logprobs"]))
    shown = cli("show", mid, "--json")
    assert shown["offers"] == ["generates", "training_rows", "weights"]  # the texts it learned from are known
    applicable = [a["audit"] for a in shown["applicable_audits"] if a["applicable"]]
    assert applicable == ["memorization", "probes", "compression"]
    subprocess.run([sys.executable, "-m", "fmaudit", "export", mid, str(tmp_path / "out")], check=True, env=env,
                   capture_output=True)
    spec = importlib.util.spec_from_file_location("exported_gpt", tmp_path / "out" / "gpt.py")
    gpt = importlib.util.module_from_spec(spec)
    sys.modules["exported_gpt"] = gpt  # as `import gpt` would (the README's way)
    spec.loader.exec_module(gpt)
    from safetensors.torch import load_file
    from tokenizers import Tokenizer

    model = gpt.GPT(gpt.GPTConfig(**json.loads((tmp_path / "out" / "config.json").read_text())["gpt"]))
    state = load_file(str(tmp_path / "out" / "model.safetensors"))
    state["head.weight"] = state["tokens.weight"]
    model.load_state_dict(state)
    tok = Tokenizer.from_file(str(tmp_path / "out" / "tokenizer.json"))
    assert gpt.generate(model.eval(), tok, "@united", seed=7)["text"] == first["text"]
    refused = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "performance", "--model", mid],
                             capture_output=True, text=True, env=env)
    assert refused.returncode == 2
    assert "does not apply" in refused.stderr


def test_canary_exposure_grows_with_repetitions_and_equals_a_direct_ranking(trained_gpt):
    """The memorisation audit: the canary seen 128 times is far more exposed than the one seen once; extraction and
    membership numbers are in [0, 1]; the CLI prints canaries rows of {repetitions, exposure} and extraction_rate.
    Exposure over every secret equals a ranking scored text by text; over sampled secrets it estimates that rank."""
    import json
    import os
    import subprocess
    import sys

    from fmcore.models._gpt import END, exposure

    st, rec = trained_gpt
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "memorization", "--model", rec.id, "--samples",
                           "40", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rows = {r["repetitions"]: r for r in out["canaries"]}
    # 10^9 secrets: sampled (20,000); measured 14.3 bits (no sample beats it: capped) vs 1.6
    assert rows[128]["exposure"] > rows[1]["exposure"] + 6, rows
    assert rows[128]["method"].startswith("sampled")
    assert rows[128]["exposure_extrapolated"] >= 14
    assert 0 <= out["extraction_rate"] <= 1
    assert 0 <= out["mia_auc_loss"] <= 1
    # the rank by hand for a 3-digit secret in the same format: each possible secret's text scored on its own
    lm = st.load_classifier(rec.id)
    prefix = lm.meta["canaries"][0]["prefix"]
    canary = {"prefix": prefix, "secret": "042", "digits": 3, "repetitions": 0}
    end = lm.tokenizer.token_to_id(END)
    head = len(lm.tokenizer.encode(prefix).ids)

    def score(secret):
        ids = [end] + lm.tokenizer.encode(f"{prefix} {secret}").ids
        with torch.no_grad():
            logp = torch.log_softmax(lm.net(torch.as_tensor([ids[:-1]])).double(), -1)[0]
        return float(sum(logp[t, ids[t + 1]] for t in range(head, len(ids) - 1)))

    scores = np.array([score(str(v).zfill(3)) for v in range(1000)])
    rank = int((scores > scores[42]).sum()) + 1
    exact = exposure(lm.net, lm.tokenizer, canary)
    assert exact["rank"] == rank
    assert exact["method"] == "exact"
    assert exact["exposure"] == pytest.approx(math.log2(1000) - math.log2(rank))
    # the sampled estimate on the same secret: half of the 1,000 scored, rank within sampling error of the exact one
    sampled = exposure(lm.net, lm.tokenizer, canary, max_exact=100, samples=500)
    assert sampled["method"] == "sampled (500 secrets)"
    assert abs(sampled["rank"] - rank) <= 3 * math.sqrt(rank) + 2, (sampled, rank)


def test_dp_sgd_and_de_identification_lower_the_repeated_canarys_exposure(trained_gpt):
    """`fmaudit lm-remedies`: the fixture's recipe retrained with DP-SGD at epsilon 1 and on de-identified texts (the
    9-digit canaries are id numbers to the scan), each audited; the cost in perplexity is reported beside."""
    import json
    import os
    import subprocess
    import sys

    st, rec = trained_gpt
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "lm-remedies", "--model", rec.id, "--epsilons", "1",
                           "--texts", "30", "--exposure-samples", "2000", "--json"], capture_output=True, text=True,
                          env=env)
    assert proc.returncode == 0, proc.stderr
    rows = {r["variant"]: r for r in json.loads(proc.stdout)["rows"]}
    base, dp, deid = rows["as trained"], rows["DP-SGD epsilon 1"], rows["de-identified"]
    # 2,000 sampled secrets: exposure tops out at 11 bits (as trained: capped there; 14.3 with 20,000); measured 3.9
    # with DP-SGD and 0.35 de-identified (with 20,000)
    assert base["most_repeated_exposure"] > 10
    assert dp["most_repeated_exposure"] < base["most_repeated_exposure"] - 5, rows
    assert deid["most_repeated_exposure"] < base["most_repeated_exposure"] - 5, rows
    assert dp["epsilon"] <= 1.0 + 1e-6
    assert dp["test_perplexity"] > base["test_perplexity"]  # the cost: measured 232 vs 67
    assert deid["identifiers_replaced"] >= 129  # every copy of both canaries, and the tweets' own
    for r in (dp, deid):
        child = st.get_model(r["model_id"])
        assert child.parent_id == rec.id
        assert child.derivation["canaries"] == rec.derivation["canaries"]
    assert "DP-SGD epsilon" in st.get_model(dp["model_id"]).derivation["how"]


def test_group_probes_gap_equals_our_scoring_of_the_stored_generations(trained_gpt, gpt_scorer):
    """`fmaudit audit probes`: continuations of prompts differing only in the group word, scored by a classifier
    fmaudit fine-tuned (a tiny BERT here) and alt-profanity-check; the gaps equal our own scoring of the stored
    generations; each seed is shared by the groups (paired)."""
    import json
    import os
    import subprocess
    import sys

    from profanity_check import predict_prob

    from fmcore.pii import find

    st, rec = trained_gpt
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "probes", "--model", rec.id, "--samples", "4",
                           "--sentiment-model", gpt_scorer, "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    rows = out["generations"]
    assert len(rows) == 4 * 4 * 2  # templates x samples x groups
    for a, b in zip(rows[::2], rows[1::2], strict=True):  # paired: same template and seed, only the word differs
        assert (a["template"], a["seed"], a["group"], b["group"]) == (b["template"], b["seed"], "woman", "man")
        assert a["prompt"].replace("woman", "man") == b["prompt"]
    clf = st.load_classifier(gpt_scorer)
    texts = [r["continuation"] for r in rows]
    proba = clf.predict_proba(texts)
    sentiment = proba[:, clf.classes.index("positive")] - proba[:, clf.classes.index("negative")]
    profanity = predict_prob(texts)
    for name, scores in (("sentiment", sentiment), ("profanity", profanity)):
        means = {g: np.mean([s for s, r in zip(scores, rows, strict=True) if r["group"] == g])
                 for g in ("woman", "man")}
        assert out[f"{name}_gap"] == pytest.approx(max(means.values()) - min(means.values()), abs=1e-9)
        lo, hi = out[f"{name}_gap_ci"]
        assert lo <= out[f"{name}_gap"] <= hi
        np.testing.assert_allclose([r[name] for r in rows], scores, atol=1e-9)
    assert out["continuations_with_identifiers"] == sum(bool(find(t)) for t in texts)
    # the report draws the probes and memorisation charts and names the perplexity
    from audits.evidence import build_report
    from audits.evidence._html import _figures, render_markdown

    report = build_report(st, rec.id)
    captions = [c for c, _, _ in _figures(report)]
    assert any(c.startswith("probes audit") for c in captions)
    assert f"test perplexity {rec.metrics['test_perplexity']:.1f}" in render_markdown(report)
    refused = subprocess.run([sys.executable, "-m", "fmaudit", "audit", "probes", "--model", rec.id, "--groups", "man",
                              "--sentiment-model", gpt_scorer], capture_output=True, text=True, env=env)
    assert refused.returncode == 2
    assert "two different group words" in refused.stderr


def test_compressing_the_gpt_reports_perplexity_and_memorisation_deltas(trained_gpt):
    """`fmaudit compress` on the GPT: int8 and pruned children that reload with the perplexity they were registered
    with; the compression audit gives each one's perplexity and the most repeated canary's exposure beside the
    parent's, equal to our own ranking of the same sampled secrets."""
    import json
    import os
    import subprocess
    import sys

    from fmcore.compress._lm import lm_test_blocks
    from fmcore.models._gpt import exposure, lm_evaluate

    st, rec = trained_gpt
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "1"}

    def cli(*args):
        proc = subprocess.run([sys.executable, "-m", "fmaudit", *args, "--json"], capture_output=True, text=True,
                              env=env)
        assert proc.returncode == 0, proc.stderr
        return json.loads(proc.stdout)

    made = {r["method"]: r for r in cli("compress", "--model", rec.id, "--method", "int8,prune:0.5")["results"]}
    assert made["int8"]["size_ratio"] < 0.6  # int8 decoder weights; the tied embedding stays float32
    assert made["int8"]["perplexity_ratio"] == pytest.approx(1.0, abs=0.05)
    assert made["prune:0.5"]["test_perplexity"] > made["prune:0.5"]["parent_test_perplexity"]
    for r in made.values():
        lm = st.load_classifier(r["model_id"])
        test = lm_test_blocks(st, rec, lm.tokenizer, lm.net.config.context)
        assert lm_evaluate(lm.net, *test)["perplexity"] == pytest.approx(r["test_perplexity"], rel=1e-6)
    audit = cli("audit", "compression", "--model", rec.id)
    rows = {r["method"]: r for r in audit["variants"]}
    top = max(rec.derivation["canaries"], key=lambda c: c["repetitions"])
    pruned = st.load_classifier(rows["prune:0.5"]["model_id"])
    ours = exposure(pruned.net, pruned.tokenizer, top, samples=5000)
    assert rows["prune:0.5"]["most_repeated_exposure"] == pytest.approx(ours["exposure"])
    parent_exposure = audit["parent"]["most_repeated_exposure"]
    assert rows["prune:0.5"]["exposure_delta"] == pytest.approx(ours["exposure"] - parent_exposure)
    assert rows["int8"]["perplexity_delta"] == pytest.approx(made["int8"]["test_perplexity"]
                                                             - audit["parent_test_perplexity"], abs=1e-6)


def test_lora_fine_tunes_the_gpt_on_one_sentiment_through_peft(trained_gpt):
    """`fmaudit finetune --method lora --parent GPT --label negative`: peft adapts qkv and proj (a few percent of the
    weights), the merged child is a plain GPT that reloads with its recorded perplexity, lower than its parent's on
    the negative test texts; the lineage says how."""
    import json
    import os
    import subprocess
    import sys

    from fmcore.data import load_dataset
    from fmcore.finetune._lm import _subset_texts
    from fmcore.models._gpt import blocks, encode_texts, lm_evaluate

    st, rec = trained_gpt
    env = {**os.environ, "FMAUDIT_HOME": str(st.root), "FMAUDIT_THREADS": "2"}
    proc = subprocess.run([sys.executable, "-m", "fmaudit", "finetune", "--dataset", "tweets", "--method", "lora",
                           "--parent", rec.id, "--label", "negative", "--epochs", "2", "--lr", "1e-2", "--max-train",
                           "1000", "--max-eval", "300", "--json"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["targets"] == ["qkv", "proj"]
    assert 0 < out["trainable_percent"] < 10
    assert out["subset_test_perplexity"] < out["parent_subset_test_perplexity"], out
    child = st.get_model(out["model_id"])
    assert child.parent_id == rec.id
    assert child.derivation["how"] == "fine-tuned (lora on negative texts)"
    lm = st.load_classifier(child.id)
    assert not any("lora" in name for name in lm.net.state_dict())  # merged: a plain GPT
    texts = _subset_texts(load_dataset("tweets"), "test", "negative", 300)
    test = blocks(encode_texts(lm.tokenizer, texts), lm.net.config.context)
    assert lm_evaluate(lm.net, *test)["perplexity"] == pytest.approx(out["subset_test_perplexity"], rel=1e-6)
