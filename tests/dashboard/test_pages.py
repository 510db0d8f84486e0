"""Page logic with Streamlit's AppTest: every page renders without an exception and shows its content."""

import os

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import ROOT

APP = str(ROOT / "dashboard" / "app.py")


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FMAUDIT_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def _run(page: str | None = None, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    if page:
        at.switch_page(page)
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _charts(at) -> list:
    return at.get("plotly_chart")


def test_home_empty_store(home):
    at = _run()
    assert at.title[0].value == "fmaudit"
    assert [m.value for m in at.metric][:2] == ["6", "0"]
    assert "No models yet" in at.info[0].value


def test_home_lists_models(home, trained_models_in):
    ids = trained_models_in(home)
    at = _run()
    assert at.metric[1].value == str(len(ids))
    assert set(at.dataframe[0].value["id"]) == set(ids)


def test_data_page_cards(home):
    at = _run("pages/data.py")
    assert at.title[0].value == "Data"
    assert len(_charts(at)) >= 2  # label balance + image samples for the default (mnist)
    at.selectbox(key="data_name").set_value("german_credit").run()
    assert not at.exception
    assert at.subheader[0].value == "Statlog German credit"
    assert len(_charts(at)) == 3  # label balance + sex + age
    assert "1,000" in [m.value for m in at.metric]


def test_models_page_details_and_delete(home, trained_models_in):
    ids = trained_models_in(home)
    at = _run("pages/models.py")
    assert set(at.dataframe[0].value["id"]) == set(ids)
    assert len(_charts(at)) == 3  # curves, confusion matrix, per-class accuracy
    target = at.selectbox(key="model_id").value
    at.text_input(key="delete_confirm").set_value(target).run()
    delete = next(b for b in at.button if b.label == "Delete")
    delete.click().run()
    assert not at.exception
    from fmcore.store import Store

    assert target not in [m.id for m in Store(os.environ["FMAUDIT_HOME"]).list_models()]


def test_models_page_empty(home):
    at = _run("pages/models.py")
    assert "No models yet" in at.info[0].value


@pytest.fixture
def trained_models_in():
    def make(home):
        from fmcore.store import Store
        from fmcore.train import TrainConfig, train_model

        st = Store(home)
        return [train_model("digits", "logreg", TrainConfig(epochs=2), store=st).model_id,
                train_model("german_credit", "mlp", TrainConfig(epochs=2), store=st).model_id]
    return make
