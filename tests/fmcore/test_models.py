"""The model zoo: architectures, parameter counts, modality checks and the tabular encoders."""

import math

import numpy as np
import pytest
import torch

from fmcore.data import TabularPreprocessor, load_dataset
from fmcore.errors import FmauditError, UnknownNameError
from fmcore.models import MODELS, build_classifier, model_spec, nets


def test_seed_cnn_matches_the_keras_seed():
    net = nets.SeedCNN()
    # Keras summary of the seed: 320 + 18,496 + 36,928 + 36,928 + 650
    assert sum(p.numel() for p in net.parameters()) == 93_322
    assert net(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 64]
    assert all(c.kernel_size == (3, 3) for c in convs)


def test_unknown_model_lists_available():
    with pytest.raises(UnknownNameError) as err:
        model_spec("resnet")
    for name in MODELS:
        assert name in str(err.value)


def test_wrong_modality_is_explained():
    with pytest.raises(FmauditError, match="does not take image data.*seed_cnn"):
        build_classifier("mlp", load_dataset("digits"))


def test_mlp_input_width_matches_preprocessor():
    ds = load_dataset("german_credit")
    clf = build_classifier("mlp", ds)
    x = clf.encode(ds["val"].X)
    assert x.shape == (len(ds["val"]), clf.preprocess.n_features)
    assert clf.net(x).shape == (len(ds["val"]), 2)


def test_vectorised_encoder_equals_rowwise_export_encoder():
    ds = load_dataset("census_income")
    frame = ds["test"].X.iloc[:300].copy()
    frame.iloc[0, 0] = np.nan  # a missing numeric
    frame.loc[1, "class_of_worker"] = "never seen before"  # an unseen category
    pre = TabularPreprocessor.fit(ds["train"].X.iloc[:20000], ds.features)
    fast = pre.transform(frame)
    rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
    slow = nets.encode_rows(rows, pre.spec).numpy()
    np.testing.assert_allclose(fast, slow, rtol=1e-5, atol=1e-5)
    assert math.isclose(fast[:, 0].mean(), slow[:, 0].mean(), rel_tol=1e-5)


def test_preprocessor_standardises_train_columns():
    ds = load_dataset("arrests")
    pre = TabularPreprocessor.fit(ds["train"].X, ds.features)
    X = pre.transform(ds["train"].X)
    numeric = len(pre.spec["numeric"])
    np.testing.assert_allclose(X[:, :numeric].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(X[:, :numeric].std(0), 1, atol=1e-4)
    onehot = X[:, numeric:]
    assert set(np.unique(onehot)) <= {0.0, 1.0}
    # each categorical column contributes exactly one hot value per row (no unseen values in train)
    assert (onehot.sum(1) == len(pre.spec["categorical"])).all()
