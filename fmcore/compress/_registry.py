"""The compression methods' registry, the result of a compression and the one pruning routine: what the classifier
path (``_methods``) and the language-model path (``_lm``) share, so neither imports the other's module for them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from torch import nn

from ..errors import ConfigError, UnknownNameError
from ..lineage import DerivedResult


@dataclass(frozen=True)
class CompressionMethod:
    """One compression method: its name, help, level (what the number after ``:`` means, its default and
    range) and ``make(job, level) -> (net, storage, info, kwargs)``, the function that builds the variant."""

    name: str
    help: str
    make: Callable
    level: str | None = None  # "sparsity" in [0, 1) or "width" in (0, 1]; None: takes no level
    default_level: float | None = None  # None with a level: the level must be given


COMPRESSION_METHODS: dict[str, CompressionMethod] = {}


def register_method(name: str, help: str, level: str | None = None,  # noqa: A002  (the registry's field)
                    default_level: float | None = None):
    """Decorator: register ``make(job, level)`` as compression method ``name``; adding a method touches only it."""
    def deco(make):
        COMPRESSION_METHODS[name] = CompressionMethod(name, help, make, level, default_level)
        return make
    return deco


def _level_ok(kind: str, value: float) -> bool:
    return 0 < value <= 1 if kind == "width" else 0 <= value < 1


def parse_method(text: str) -> tuple[str, float | None]:
    """``"prune:0.5"`` -> ``("prune", 0.5)``; checks the name and the level's range."""
    name, _, level = str(text).partition(":")
    if name not in COMPRESSION_METHODS:
        raise UnknownNameError("compression method", name, list(COMPRESSION_METHODS))
    spec = COMPRESSION_METHODS[name]
    if spec.level is None:
        if level:
            raise ConfigError(f"{name} takes no level; got {text!r}.")
        return name, None
    if not level:
        if spec.default_level is None:
            raise ConfigError(f"{name} needs a level, e.g. {name}:0.5.")
        return name, spec.default_level
    try:
        value = float(level)
    except ValueError:
        raise ConfigError(f"The level of {text!r} must be a number, e.g. {name}:0.5.") from None
    if not _level_ok(spec.level, value):
        raise ConfigError(f"The distillation width factor must be in (0, 1]; got {value}." if spec.level == "width"
                          else f"Sparsity must be in [0, 1); got {value} ({text!r}).")
    return name, value


@dataclass
class CompressResult(DerivedResult):
    """One compressed variant: the method, size and accuracy against the parent's (a language model: test
    perplexity against the parent's, accuracy None)."""
    method: str
    size_bytes: int
    parent_size_bytes: int
    accuracy: float | None = field(metadata={"summary": False})
    parent_accuracy: float | None = field(metadata={"summary": False})
    seconds: float = 0.0
    perplexity: float | None = field(default=None, metadata={"summary": False})
    parent_perplexity: float | None = field(default=None, metadata={"summary": False})

    def derived(self) -> dict:
        """The size ratio and the change in accuracy (or perplexity, for a language model) against the parent."""
        out = {"size_ratio": self.size_bytes / max(1, self.parent_size_bytes)}
        if self.perplexity is not None:
            return {**out, "test_perplexity": self.perplexity, "parent_test_perplexity": self.parent_perplexity,
                    "perplexity_ratio": self.perplexity / self.parent_perplexity}
        return {**out, "accuracy": self.accuracy, "parent_accuracy": self.parent_accuracy,
                "accuracy_delta": self.accuracy - self.parent_accuracy}


def _weights(net: nn.Module) -> list[tuple[nn.Module, str]]:
    return [(m, "weight") for m in net.modules() if isinstance(m, nn.Conv2d | nn.Linear)]


def _prune(net: nn.Module, sparsity: float, fine_tune, targets: list[tuple[nn.Module, str]] | None = None) -> dict:
    """Global L1 pruning of ``targets`` (default: every conv and linear weight) to ``sparsity``, ``fine_tune(net)``
    with the masks on, then the masks made permanent; the sparse storage of the pruned tensors and the sparsity."""
    from torch.nn.utils import prune

    targets = targets or _weights(net)
    prune.global_unstructured(targets, pruning_method=prune.L1Unstructured, amount=sparsity)
    fine_tune(net)
    for module, name in targets:
        prune.remove(module, name)
    pruned = {id(module) for module, _ in targets}
    names = {f"{qn}.weight": list(m.weight.shape) for qn, m in net.named_modules() if id(m) in pruned}
    zeros = sum(int((p == 0).sum()) for n, p in net.state_dict().items() if n in names)
    total = sum(p.numel() for n, p in net.state_dict().items() if n in names)
    return {"format": "sparse", "tensors": names, "sparsity": zeros / max(1, total)}
