"""Augmentations: names per kind of input, parameters, determinism, and what each may and may not change."""

import pytest
import torch

from fmcore.errors import ConfigError
from fmcore.train import TrainConfig, describe, parse_augment, train_model
from fmcore.train._augment import make_augmenter


def _digit_batch(n=16):
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 8:20, 12:16] = 1.0
    return x, torch.arange(n) % 10


def test_parse_names_values_and_errors():
    parsed = parse_augment("rotate:15, translate ,noise:0.2", "image")
    assert parsed == [{"name": "rotate", "degrees": 15.0}, {"name": "translate", "pixels": 2.0},
                      {"name": "noise", "std": 0.2}]
    assert describe(parsed, "image") == "rotate:15,translate:2,noise:0.2"
    assert parse_augment("noise", "tabular") == [{"name": "noise", "std": 0.1}]  # same name, the table's meaning
    with pytest.raises(ConfigError, match="'mixup' is for tabular data; for image data use: rotate"):
        parse_augment("mixup", "image")
    with pytest.raises(ConfigError, match="'rotat' is unknown"):
        parse_augment("rotat", "image")
    with pytest.raises(ConfigError, match="must be a positive number"):
        parse_augment("noise:-1", "image")
    with pytest.raises(ConfigError, match="must be a number"):
        parse_augment("rotate:lots", "image")
    with pytest.raises(ConfigError, match="twice"):
        parse_augment("rotate,rotate:5", "image")
    # configs stored before augmentations had names
    assert TrainConfig(augment=True).augment == "rotate,translate"
    assert TrainConfig.from_dict({"augment": False}).augment is None


@pytest.mark.parametrize("spec", ["rotate", "translate", "scale", "elastic", "noise",
                                  "rotate:30,translate:4,scale:0.2,elastic,noise"])
def test_image_augmentations_keep_shape_range_and_ink_and_repeat_with_the_seed(spec):
    x, y = _digit_batch()
    aug = make_augmenter(spec, x)
    out, labels = aug(x, y, torch.Generator().manual_seed(0))
    again, _ = aug(x, y, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    assert torch.equal(labels, y)
    assert out.min() >= 0
    assert out.max() <= 1.0001
    assert not torch.allclose(out, x)
    assert torch.equal(out, again)  # same seed, same batch
    if "noise" not in spec:
        assert abs(out.sum() - x.sum()) / x.sum() < 0.35  # moved, not erased


def test_rotation_angle_is_bounded():
    # a horizontal bar rotated by at most 10 degrees stays within a narrow band of rows
    x = torch.zeros(64, 1, 28, 28)
    x[:, :, 13:15, 4:24] = 1.0
    out, _ = make_augmenter("rotate:10", x)(x, torch.zeros(64, dtype=torch.long), torch.Generator().manual_seed(1))
    rows = (out[:, 0] > 0.3).any(2).float().sum(1)  # rows touched by the bar
    assert rows.max() <= 2 + 20 * 0.18 + 2  # 20 px long bar, tan(10 deg) = 0.18


def test_tabular_noise_touches_numeric_columns_only_and_mixup_blends_labels():
    x = torch.randn(32, 5)
    x[:, 3:] = (torch.rand(32, 2) > 0.5).float()  # one-hot columns
    aug = make_augmenter("noise:0.5", x)
    assert aug.context["numeric"] == [0, 1, 2]  # inferred: the columns that are not 0/1
    out, _ = aug(x, torch.zeros(32, dtype=torch.long), torch.Generator().manual_seed(0))
    assert torch.equal(out[:, 3:], x[:, 3:])
    assert (out[:, :3] - x[:, :3]).std() == pytest.approx(0.5, abs=0.15)
    mix = make_augmenter("mixup:0.4", x, {"num_classes": 2})
    y = torch.arange(32) % 2
    xm, soft = mix(x, y, torch.Generator().manual_seed(0))
    assert soft.shape == (32, 2)
    assert torch.allclose(soft.sum(1), torch.ones(32))
    assert not torch.equal(xm, x)


def test_text_augmentations_keep_cls_sep_and_padding():
    ids = torch.tensor([[101, 11, 12, 13, 14, 15, 102, 0, 0]] * 8)
    mask = (ids > 0).long()
    g = torch.Generator().manual_seed(0)
    (swapped, m2), _ = make_augmenter("token_swap:0.9", (ids, mask))((ids, mask), None, g)
    assert torch.equal(m2, mask)
    assert (swapped[:, 0] == 101).all()
    assert (swapped[:, 6] == 102).all()
    assert (swapped[:, 7:] == 0).all()
    assert torch.equal(swapped.sort(1).values, ids.sort(1).values)  # the same tokens, reordered
    assert not torch.equal(swapped, ids)
    (same, dropped), _ = make_augmenter("token_dropout:0.5", (ids, mask))((ids, mask), None, g)
    assert torch.equal(same, ids)
    assert (dropped[:, 0] == 1).all()
    assert (dropped[:, 6] == 1).all()
    assert (dropped[:, 7:] == 0).all()
    assert dropped.sum() < mask.sum()


def test_training_with_augmentation_records_it_in_the_lineage(store):
    r = train_model("digits", "seed_cnn", TrainConfig(epochs=1, augment="rotate:15,elastic", max_train_samples=300),
                    store=store)
    record = store.get_model(r.model_id)
    assert record.derivation["augment"] == [{"name": "rotate", "degrees": 15.0},
                                            {"name": "elastic", "alpha": 8.0, "sigma": 3.0}]
    assert record.config["train"]["augment"] == "rotate:15,elastic"
    t = train_model("german_credit", "mlp", TrainConfig(epochs=2, augment="noise,mixup"), store=store)
    assert t.metrics["accuracy"] > 0.6
    with pytest.raises(ConfigError, match="for tabular data use: noise, mixup"):
        train_model("german_credit", "mlp", TrainConfig(epochs=1, augment="rotate"), store=store)
    with pytest.raises(ConfigError, match="mixup blends"):
        train_model("german_credit", "mlp", TrainConfig(epochs=1, augment="mixup", dp_epsilon=3.0), store=store)
