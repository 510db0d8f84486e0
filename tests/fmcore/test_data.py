"""Built-in datasets: sizes, splits, sensitive attributes and provenance hashes."""

import hashlib
from importlib import util
from pathlib import Path

import numpy as np
import pytest

from fmcore.data import dataset_names, list_datasets, load_dataset, stratified_split
from fmcore.errors import UnknownNameError

EXPECTED = {  # name: (rows, modality, classes, sensitive)
    "mnist": (70000, "image", 10, ()),
    "digits": (1797, "image", 10, ()),
    "census_income": (299285, "tabular", 2, ("race", "sex", "age")),
    "census_income_94": (149643, "tabular", 2, ("race", "sex", "age")),
    "census_income_95": (149642, "tabular", 2, ("race", "sex", "age")),
    "german_credit": (1000, "tabular", 2, ("sex", "age")),
    "arrests": (5226, "tabular", 2, ("colour", "sex", "age")),
    "tweets": (38158, "text", 3, ()),
}


def test_registry_lists_all_builtins():
    assert sorted(s.name for s in list_datasets()) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_dataset_shape_splits_and_provenance(name):
    rows, modality, n_classes, sensitive = EXPECTED[name]
    ds = load_dataset(name)
    assert ds.spec.modality == modality
    assert ds.num_classes == n_classes
    assert tuple(ds.spec.sensitive) == sensitive
    sizes = {k: len(v) for k, v in ds.splits.items()}
    assert set(sizes) == {"train", "val", "test"}
    assert min(sizes.values()) > 0
    if name == "tweets":  # a few rows without text are dropped
        assert 38000 <= sum(sizes.values()) <= rows
    else:
        assert sum(sizes.values()) == rows
    for split in ds.splits.values():
        assert split.y.dtype == np.int64
        assert split.y.min() >= 0
        assert split.y.max() < n_classes
        if sensitive:
            assert list(split.groups.columns) == list(sensitive)
            assert split.groups.notna().all().all()
    # provenance: the hash is of the file inside the installed package
    prov = ds.provenance
    assert prov.version
    assert prov.licence
    first_file = prov.source.split(" + ")[0]
    module, rel = first_file.split("/", 1)
    path = Path(list(util.find_spec(module).submodule_search_locations)[0]) / rel
    assert prov.sha256.split("+")[0] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert ds.summary()["splits"] == sizes


def test_census_survey_years_split_the_census():
    full, y94, y95 = (load_dataset(n) for n in ("census_income", "census_income_94", "census_income_95"))
    assert len(full["test"]) == len(y94["test"]) + len(y95["test"])
    assert "year" not in y94["train"].X.columns
    assert [f.name for f in y94.features] == [f.name for f in full.features if f.name != "year"]
    assert y94.provenance.sha256 == full.provenance.sha256


def test_sensitive_attributes_are_not_features():
    for name in ("census_income", "german_credit", "arrests"):
        ds = load_dataset(name)
        feats = {f.name for f in ds.features}
        assert not feats & set(ds.spec.sensitive) - {"age"}, name
        assert "age" not in feats  # the banded age is a group, the raw years may be a feature


def test_census_labels_match_published_rate():
    ds = load_dataset("census_income")
    y = np.concatenate([s.y for s in ds.splits.values()])
    assert 0.05 < y.mean() < 0.07  # about 6% earn over $50k
    assert set(ds["train"].groups["race"].unique()) >= {"White", "Black"}


def test_images_are_in_unit_range_and_shaped_like_mnist():
    for name in ("mnist", "digits"):
        X = load_dataset(name)["train"].X
        assert X.shape[1:] == (1, 28, 28)
        assert X.dtype == np.float32
        assert X.min() >= 0
        assert X.max() <= 1


def test_splits_are_seeded_disjoint_and_stratified():
    a, b, c = load_dataset("german_credit", seed=0), load_dataset("german_credit", seed=0), load_dataset(
        "german_credit", seed=1)
    assert a["train"].X.equals(b["train"].X)
    assert not a["train"].X.equals(c["train"].X)
    y = np.r_[np.zeros(700, int), np.ones(300, int)]
    parts = stratified_split(y, (0.6, 0.2, 0.2), seed=3)
    all_idx = np.concatenate(parts)
    assert len(all_idx) == len(np.unique(all_idx)) == 1000
    for p in parts:
        assert abs(y[p].mean() - 0.3) < 0.01


def test_unknown_dataset_lists_available():
    with pytest.raises(UnknownNameError) as err:
        load_dataset("mnsit")
    msg = str(err.value)
    for name in dataset_names():
        assert name in msg
    assert "Did you mean 'mnist'" in msg


def test_mnist_unpickler_refuses_anything_but_arrays():
    import io
    import os
    import pickle

    from fmcore.data._builtin import _NumpyOnlyUnpickler

    evil = pickle.dumps(os.system)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load"):
        _NumpyOnlyUnpickler(io.BytesIO(evil)).load()
    arrays = pickle.dumps((np.arange(3, dtype=np.float32), np.array([1, 2])))
    a, b = _NumpyOnlyUnpickler(io.BytesIO(arrays)).load()
    assert a.tolist() == [0.0, 1.0, 2.0]


def test_one_hot_encoding_matches_str_of_each_value_for_every_kind_of_column():
    """The encoder factorises before it stringifies; the result must equal str() of every value, one by one."""
    import pandas as pd

    from fmcore.data import TabularPreprocessor

    columns = {
        "strings": pd.Series(["a", "b", None, "a", "zz"], dtype=object),
        "mixed": pd.Series([1, True, "1", 2.5, np.nan], dtype=object),  # 1 and True are one hash key, not one str
        "floats": pd.Series([1.0, 2.0, np.nan, 1.0, 3.0]),
        "ints": pd.Series([1, 2, 2, 3, 1]),
        "bools": pd.Series([True, False, True, True, False]),
        "category": pd.Series(pd.Categorical(["x", None, "y", "x", "w"])),
        "pandas_strings": pd.Series(["a", pd.NA, "b", "a", "b"], dtype="string"),
    }
    cats = ["a", "b", "1", "True", "2.5", "1.0", "2.0", "2", "3", "False", "x", "y"]
    frame = pd.DataFrame(columns)
    pre = TabularPreprocessor({"numeric": [], "categorical": [{"name": n, "categories": cats} for n in columns]})
    out = pre.transform(frame)
    for k, name in enumerate(columns):
        expected = np.zeros((len(frame), len(cats)), np.float32)
        for i, v in enumerate(frame[name].astype(object)):
            if v is not None and not (isinstance(v, float) and np.isnan(v)) and v is not pd.NA and str(v) in cats:
                expected[i, cats.index(str(v))] = 1
        np.testing.assert_array_equal(out[:, k * len(cats):(k + 1) * len(cats)], expected, err_msg=name)
