"""A small GPT-style decoder (nanoGPT-sized, every size configurable) and its byte-level BPE tokenizer, trained here
on shipped text: no weights or vocabularies are downloaded.

The network is the standard pre-norm Transformer decoder: token and position embeddings, ``layers`` blocks of
causal multi-head self-attention (``scaled_dot_product_attention`` with ``is_causal``) and a 4x MLP, a final layer
norm and an output layer tied to the token embedding. ``forward(ids)`` gives logits ``(batch, time, vocab)``.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

try:  # registers the kind inside fmcore; exported as a standalone gpt.py (torch only), nothing to register with
    from ._zoo import register_kind
except ImportError:
    def register_kind(*names):
        """No registry outside fmcore: the class as it is."""
        return lambda cls: cls

END = "<|endoftext|>"  # between texts: what a generation starts after and stops at


@dataclass(frozen=True)
class GPTConfig:
    """The decoder's sizes: ``vocab`` tokens, ``context`` positions, ``layers`` blocks of ``heads`` heads, width."""

    vocab: int = 1024
    context: int = 64
    layers: int = 4
    heads: int = 4
    width: int = 128
    dropout: float = 0.0

    def to_dict(self) -> dict:
        """The sizes as a JSON-ready dict."""
        return asdict(self)


class _Block(nn.Module):
    def __init__(self, c: GPTConfig):
        super().__init__()
        self.heads, self.dropout = c.heads, c.dropout
        self.ln1, self.ln2 = nn.LayerNorm(c.width), nn.LayerNorm(c.width)
        self.qkv, self.proj = nn.Linear(c.width, 3 * c.width), nn.Linear(c.width, c.width)
        self.mlp = nn.Sequential(nn.Linear(c.width, 4 * c.width), nn.GELU(), nn.Linear(4 * c.width, c.width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, w = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(w, dim=-1)
        q, k, v = (z.view(b, t, self.heads, w // self.heads).transpose(1, 2) for z in (q, k, v))
        att = F.scaled_dot_product_attention(q, k, v, is_causal=True,
                                             dropout_p=self.dropout if self.training else 0.0)
        x = x + self.proj(att.transpose(1, 2).reshape(b, t, w))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    """The decoder: ``forward(ids)`` with ``ids`` of shape ``(batch, time)``, time at most ``config.context``."""

    def __init__(self, config: GPTConfig, seed: int = 0):
        super().__init__()
        if config.width % config.heads:
            raise ValueError(f"width {config.width} must be a multiple of heads {config.heads}.")
        torch.manual_seed(seed)
        self.config = config
        self.tokens = nn.Embedding(config.vocab, config.width)
        self.positions = nn.Embedding(config.context, config.width)
        self.blocks = nn.ModuleList(_Block(config) for _ in range(config.layers))
        self.ln = nn.LayerNorm(config.width)
        self.head = nn.Linear(config.width, config.vocab, bias=False)
        self.head.weight = self.tokens.weight  # tied
        for name, p in self.named_parameters():
            if p.dim() > 1:
                nn.init.normal_(p, 0.0, 0.02 / (math.sqrt(2 * config.layers) if name.endswith("proj.weight") else 1))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits ``(batch, time, vocab)`` for token ids ``(batch, time)``."""
        b, t = ids.shape
        # positions per row (not broadcast): DP-SGD's per-example gradients need the batch dimension everywhere
        x = self.tokens(ids) + self.positions(torch.arange(t, device=ids.device).expand(b, t))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


def train_tokenizer(texts, vocab: int = 1024):
    """A byte-level BPE tokenizer (``tokenizers``) trained on ``texts``; ``END`` is token 0. Deterministic for the
    same texts."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab, special_tokens=[END], show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator((str(t) for t in texts), trainer=trainer)
    return tok


def encode_texts(tokenizer, texts) -> np.ndarray:
    """One stream of token ids: each text followed by ``END``."""
    end = tokenizer.token_to_id(END)
    out: list[int] = []
    for enc in tokenizer.encode_batch([str(t) for t in texts]):
        out.extend(enc.ids)
        out.append(end)
    return np.asarray(out, dtype=np.int64)


def blocks(stream: np.ndarray, context: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping blocks of ``context`` tokens and their next tokens (inputs, targets), each ``(n, context)``."""
    n = (len(stream) - 1) // context
    x = torch.as_tensor(stream[: n * context].reshape(n, context))
    y = torch.as_tensor(stream[1: n * context + 1].reshape(n, context))
    return x, y


def unigram_logprobs(train_stream: np.ndarray, vocab: int) -> np.ndarray:
    """Log-probability (nats) of each token id under a unigram model of ``train_stream`` (add-one smoothed counts)."""
    counts = np.bincount(train_stream, minlength=vocab).astype(np.float64) + 1.0
    return np.log(counts / counts.sum())


def unigram_perplexity(train_stream: np.ndarray, test_stream: np.ndarray, vocab: int) -> float:
    """The perplexity on ``test_stream`` of a unigram model of the same tokens (add-one smoothed counts from
    ``train_stream``): the floor a language model must beat."""
    return float(np.exp(-unigram_logprobs(train_stream, vocab)[test_stream].mean()))


@torch.no_grad()
def lm_evaluate(net: GPT, x: torch.Tensor, y: torch.Tensor, batch: int = 256) -> dict:
    """Mean next-token cross-entropy (nats), perplexity and next-token accuracy over every position."""
    net.eval()
    loss, correct, count = 0.0, 0, 0
    for i in range(0, len(x), batch):
        logits = net(x[i:i + batch])
        target = y[i:i + batch]
        loss += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1), reduction="sum"))
        correct += int((logits.argmax(-1) == target).sum())
        count += target.numel()
    mean = loss / max(1, count)
    return {"loss": mean, "perplexity": float(math.exp(mean)), "accuracy": correct / max(1, count), "tokens": count}


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, inputs=None) -> torch.Tensor:
    """Next-token cross-entropy over every position (the training loop's ``loss_fn``)."""
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


@torch.no_grad()
def generate(net: GPT, tokenizer, prompt: str, max_new_tokens: int = 40, temperature: float = 1.0,
             top_k: int | None = 50, seed: int = 0) -> dict:
    """A continuation of ``prompt`` sampled with its own seeded generator (same seed, same text): the text, its
    tokens and each token's log-probability under the model (before temperature and top-k)."""
    net.eval()
    g = torch.Generator().manual_seed(seed)
    end = tokenizer.token_to_id(END)
    ids = [end] + tokenizer.encode(prompt).ids
    new, logprobs = [], []
    for _ in range(max_new_tokens):
        window = torch.as_tensor([ids[-net.config.context:]])
        logits = net(window)[0, -1].double()
        logp = torch.log_softmax(logits, -1)
        scaled = logits / max(temperature, 1e-6)
        if top_k:
            cut = torch.topk(scaled, min(top_k, len(scaled))).values[-1]
            scaled = scaled.masked_fill(scaled < cut, float("-inf"))
        nxt = int(torch.multinomial(torch.softmax(scaled, -1), 1, generator=g)) if temperature > 0 else int(
            logits.argmax())
        if nxt == end:
            break
        ids.append(nxt)
        new.append(nxt)
        logprobs.append(float(logp[nxt]))
    return {"prompt": prompt, "text": tokenizer.decode(new), "ids": new, "tokens": [tokenizer.decode([t]) for t in new],
            "logprobs": logprobs, "seed": seed, "temperature": temperature, "top_k": top_k}


@register_kind("gpt")
class LanguageModel:
    """A stored GPT: the network, its tokenizer and its metadata (``kind`` ``gpt``). Saved as safetensors (the tied
    output layer stored once), ``tokenizer.json`` and JSON; loading never unpickles."""

    model = "gpt"
    needs_groups = False

    def __init__(self, net: GPT, tokenizer, meta: dict):
        self.net, self.tokenizer, self.meta = net, tokenizer, meta

    @property
    def modality(self) -> str:
        """Text: what it reads and writes."""
        return "text"

    @property
    def classes(self) -> list[str]:
        """None: a language model has no classes."""
        return []

    @staticmethod
    def offers_from(meta: dict) -> frozenset:
        """A language model: it generates text and has weights; no classes to predict."""
        return frozenset({"generates", "weights"})

    @property
    def offers(self) -> frozenset:
        """What it gives an audit (``generates``)."""
        from ._zoo import offers_of

        return offers_of(self.meta)

    def n_params(self) -> int:
        """Parameters, the tied output layer counted once."""
        return sum(p.numel() for p in self.net.parameters())

    def save(self, folder) -> None:
        """Write weights, tokenizer and metadata into ``folder`` (which must exist)."""
        import json
        from pathlib import Path

        from safetensors.torch import save_file

        from .nets import pack_state

        folder = Path(folder)
        state = {k: v for k, v in self.net.state_dict().items() if k != "head.weight"}
        save_file(pack_state(state, self.meta.get("storage")), str(folder / "model.safetensors"))
        self.tokenizer.save(str(folder / "tokenizer.json"))
        (folder / "config.json").write_text(json.dumps({"architecture": "gpt", "gpt": self.net.config.to_dict()},
                                                       indent=2))
        (folder / "fmaudit.json").write_text(json.dumps(self.meta, indent=2))

    @classmethod
    def load(cls, folder, meta: dict) -> LanguageModel:
        """Load what ``save`` wrote (safetensors and JSON only)."""
        import json
        from pathlib import Path

        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        from .nets import unpack_state

        folder = Path(folder)
        config = GPTConfig(**json.loads((folder / "config.json").read_text())["gpt"])
        net = GPT(config)
        stored, storage = load_file(str(folder / "model.safetensors")), meta.get("storage")
        state = unpack_state(stored, storage)  # pruned (sparse) or int8 variants: their stored form, unpacked
        state["head.weight"] = state["tokens.weight"]
        net.load_state_dict(state)
        if (storage or {}).get("format") == "int8":
            from ._quantized import requantize

            net = requantize(net, stored, storage)
        return cls(net.eval(), Tokenizer.from_file(str(folder / "tokenizer.json")), meta)

    def generate(self, prompt: str, **options) -> dict:
        """``generate`` with this model and tokenizer."""
        return generate(self.net, self.tokenizer, prompt, **options)


CANARY_FORMAT = "my secret code is {}"


def plan_canaries(repetitions, digits: int = 5, seed: int = 0) -> list[dict]:
    """Canaries (Carlini et al., 2019): one random secret of ``digits`` digits per entry of ``repetitions``, in a fixed
    format, each to be put into the training texts that many times."""
    rng = np.random.default_rng(seed + 104729)
    out = []
    for reps in repetitions:
        secret = "".join(str(d) for d in rng.integers(0, 10, digits))
        out.append({"prefix": CANARY_FORMAT.format("").rstrip(), "secret": secret, "digits": digits,
                    "repetitions": int(reps), "text": CANARY_FORMAT.format(secret)})
    return out


def insert_canaries(texts: list, canaries: list[dict], seed: int = 0) -> list:
    """``texts`` with each canary's text inserted ``repetitions`` times at seeded random places."""
    out = list(texts)
    rng = np.random.default_rng(seed + 7)
    for c in canaries:
        for _ in range(c["repetitions"]):
            out.insert(int(rng.integers(0, len(out) + 1)), c["text"])
    return out


@torch.no_grad()
def continuation_logprobs(net: GPT, tokenizer, prefix: str, continuations: list[str], batch: int = 2048) -> np.ndarray:
    """The log-probability (nats) the model gives each of ``continuations`` right after ``prefix`` (a text start):
    the sum over the continuation's tokens, the whole text tokenized as the model saw it in training."""
    net.eval()
    end = tokenizer.token_to_id(END)
    head = [end] + tokenizer.encode(prefix).ids
    full = [e.ids for e in tokenizer.encode_batch([f"{prefix} {c}" for c in continuations])]
    start = len(head) - 1  # the continuation's tokens begin where the prefix's end, when tokenized together
    for f in full:
        if f[: start] != head[1:]:
            raise ValueError("The prefix tokenizes differently when followed by a continuation; end it at a word.")
    if max(len(f) for f in full) > net.config.context:
        raise ValueError(f"A prefix and continuation longer than the model's context ({net.config.context} tokens).")
    picked = sequence_logprobs(net, [[end] + f for f in full], pad=end, batch=batch)
    # the continuation's tokens are the sequence's tokens len(head) .. end: their log-probs start at len(head) - 1
    return np.asarray([float(p[len(head) - 1:].sum()) for p in picked])


@torch.no_grad()
def sequence_logprobs(net: GPT, sequences: list[list[int]], pad: int, batch: int = 2048) -> list[np.ndarray]:
    """For each token sequence, the log-probability (nats, float64) the model gives each of its tokens after the
    first (entry t is token t + 1 given tokens 0..t). Sequences are batched, padded at the end (causal attention
    keeps the padding out of every real position)."""
    net.eval()
    out = []
    for i in range(0, len(sequences), batch):
        chunk = sequences[i:i + batch]
        ids = torch.full((len(chunk), max(len(s) for s in chunk)), pad, dtype=torch.long)
        for j, s in enumerate(chunk):
            ids[j, : len(s)] = torch.as_tensor(s)
        logp = torch.log_softmax(net(ids[:, :-1]).double(), -1)
        picked = logp.gather(-1, ids[:, 1:, None])[..., 0].numpy()
        out.extend(picked[j, : len(s) - 1] for j, s in enumerate(chunk))
    return out


def exposure(net: GPT, tokenizer, canary: dict, batch: int = 2048, max_exact: int = 100_000,
             samples: int = 20_000) -> dict:
    """The canary's exposure (Carlini et al., 2019): log2 of the number of possible secrets minus log2 of the
    secret's rank among all of them by the model's log-probability. Up to ``max_exact`` possible secrets every one is
    scored (exact). Beyond, ``samples`` random secrets are scored: exposure is estimated as -log2 of the share of
    them (plus one) the model prefers to the true secret, so it is at most log2(samples + 1) (``capped`` when no
    sample beats the secret), and a skew-normal fitted to the sampled scores extrapolates past that cap
    (``exposure_extrapolated``, the paper's Section 4.3)."""
    digits, space = canary["digits"], 10 ** canary["digits"]
    mine = float(continuation_logprobs(net, tokenizer, canary["prefix"], [canary["secret"]])[0])
    row = {"repetitions": canary["repetitions"], "secret": canary["secret"], "space": space, "logprob": mine}
    if space <= max_exact:
        scores = continuation_logprobs(net, tokenizer, canary["prefix"], [str(v).zfill(digits) for v in range(space)],
                                       batch)
        rank = int((scores > mine).sum()) + 1
        return {**row, "rank": rank, "exposure": float(np.log2(space) - np.log2(rank)), "method": "exact"}
    rng = np.random.default_rng(int(canary["secret"]) % 2**32)
    values = rng.choice(space, size=min(samples, space), replace=False) if space < 2**63 else rng.integers(0, 2**62,
                                                                                                            samples)
    scores = continuation_logprobs(net, tokenizer, canary["prefix"], [str(v).zfill(digits) for v in values], batch)
    higher = int((scores > mine).sum())
    from scipy import stats

    a, loc, scale = stats.skewnorm.fit(scores)
    tail = float(stats.skewnorm.logsf(mine, a, loc, scale)) / math.log(2)  # log2 P(a random secret scores higher)
    return {**row, "rank": 1 + round(space * higher / len(values)), "method": f"sampled ({len(values)} secrets)",
            "samples": len(values),
            "exposure": float(-np.log2((higher + 1) / (len(values) + 1))), "capped": higher == 0,
            "exposure_extrapolated": float(min(np.log2(space), -tail))}
