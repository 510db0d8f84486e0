"""Fine-tuning configuration: one frozen dataclass for every method, each field with a help text."""

from __future__ import annotations

from dataclasses import dataclass, replace

from .._options import Options, option
from ..errors import ConfigError

TEXT_METHODS = ("lora", "ia3", "prompt", "full", "linear_probe")
IMAGE_METHODS = ("transfer", "scratch")
METHODS = TEXT_METHODS + IMAGE_METHODS
PEFT_METHODS = ("lora", "ia3", "prompt")
DEFAULT_LR = {"full": 1e-4, "linear_probe": 1e-2, "lora": 5e-3, "ia3": 1e-2, "prompt": 3e-2,
              "transfer": 1e-3, "scratch": 1e-3}
METHOD_HELP = {
    "lora": "LoRA: learns low-rank updates (rank r) of chosen weight matrices; the backbone stays frozen.",
    "ia3": "IA3: learns one scaling vector per key, value and feed-forward output; the fewest parameters.",
    "prompt": "Prompt tuning: learns a few virtual token embeddings put in front of every text.",
    "full": "Full fine-tuning: every weight of the backbone and the head is trained (the upper baseline).",
    "linear_probe": "Linear probe: the backbone is frozen and only the classification head is trained "
                    "(the lower baseline).",
    "transfer": "Transfer: reuse a trained image model's convolutions (frozen) and retrain its dense layers.",
    "scratch": "From scratch: the same CNN trained only on this data's budget (the baseline for transfer).",
}


_f = option


@dataclass(frozen=True)
class FinetuneConfig(Options):
    """How to fine-tune; ``lr=None`` takes the method's default."""

    _kind = "fine-tuning option"

    method: str = _f("lora", "lora, ia3, prompt, full or linear_probe (text); transfer or scratch (images).")
    epochs: int = _f(1, "Passes over the training subset.")
    lr: float | None = _f(None, "Learning rate (default depends on the method: PEFT methods need larger ones).")
    batch_size: int = _f(32, "Texts or images per step.")
    seed: int = _f(0, "Seeds head initialisation, shuffling and dropout.")
    max_train_samples: int | None = _f(2000, "Train on this many examples (a seeded subset); None for all.")
    max_eval_samples: int | None = _f(1000, "Validate and test on this many examples; None for all.")
    rank: int = _f(8, "LoRA rank r: the width of the low-rank update. Larger learns more, costs more.")
    alpha: int = _f(16, "LoRA alpha: the update is scaled by alpha / r.")
    dropout: float = _f(0.1, "LoRA dropout on the adapter's input.")
    targets: tuple[str, ...] = _f(("query", "value"), "Modules LoRA adapts (BERT: query, key, value, dense).")
    virtual_tokens: int = _f(20, "Prompt tuning: number of learned virtual tokens.")
    max_length: int = _f(64, "Text: tokens kept per text.")
    merge: bool = _f(False, "LoRA/IA3: merge the adapter into the base weights before saving (a plain model).")
    parent_id: str | None = _f(None, "Images: the trained model to transfer from (default: latest seed_cnn on mnist); "
                                     "a GPT trained here: the language model to fine-tune (lora or full).")
    label: str | None = _f(None, "Language models: fine-tune on the texts of this class only (e.g. negative).")
    base_path: str | None = _f(None, "Text: a Hugging Face folder to use instead of the packaged MiniLM.")
    threads: int | None = _f(None, "Torch CPU threads.")

    def __post_init__(self):
        if self.method == "prefix":
            raise ConfigError("Prefix tuning needs past key values, which BERT models in transformers 5 do not "
                             "support (peft refuses them); use method 'prompt' (prompt tuning) instead.")
        if self.method not in METHODS:
            raise ConfigError(f"Unknown fine-tuning method {self.method!r}; choose one of {', '.join(METHODS)}.")
        object.__setattr__(self, "targets", tuple(self.targets))

    @property
    def resolved_lr(self) -> float:
        """The learning rate to use: the given one, else the method's default."""
        return self.lr if self.lr is not None else DEFAULT_LR[self.method]

    def to_dict(self) -> dict:
        """The options as a plain dict (targets as a list)."""
        data = super().to_dict()
        data["targets"] = list(self.targets)
        return data

    def train_config(self):
        """The equivalent ``TrainConfig`` for the shared training loop."""
        from ..train import TrainConfig

        return TrainConfig(epochs=self.epochs, batch_size=self.batch_size, lr=self.resolved_lr,
                           optimizer="adamw", seed=self.seed, threads=self.threads,
                           max_train_samples=self.max_train_samples, max_eval_samples=self.max_eval_samples,
                           max_length=self.max_length)

    def with_(self, **changes) -> FinetuneConfig:
        """A copy with ``changes`` applied."""
        return replace(self, **changes)
