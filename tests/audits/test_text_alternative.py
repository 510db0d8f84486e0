"""Every chart carries a text alternative: the numbers it shows, as its axes show them."""

from pathlib import Path

from audits import figures

ROOT = Path(__file__).resolve().parents[2]


def test_bars_read_as_their_axis_shows_them():
    text = figures.text_alternative(figures.per_class_accuracy(["a", "b", "c"], [0.9, 0.8, 0.95]))
    assert text == "Per-class accuracy (test). class a: 90.0%; class b: 80.0%; class c: 95.0%."
    counts = figures.text_alternative(figures.label_balance(["0", "1"], {"train": [1200, 20], "test": [3, 4]}))
    assert counts == ("Label balance per split. train (examples): class 0: 1,200; class 1: 20. "
                      "test (examples): class 0: 3; class 1: 4.")


def test_long_series_heatmaps_and_radars_are_summarised():
    history = [{"epoch": i, "train_loss": 1 / (i + 1), "val_accuracy": 0.5 + i / 30} for i in range(10)]
    text = figures.text_alternative(figures.training_curves(history))
    assert "train (Loss): 10 points from epoch 0 (1) to epoch 9 (0.1), between 0.1 and 1" in text
    assert "validation (Accuracy): 10 points from epoch 0 (50.0%) to epoch 9 (80.0%)" in text
    matrix = figures.text_alternative(figures.confusion_matrix([[5, 1, 0], [2, 7, 0], [0, 0, 3]], ["a", "<b>", "c"]))
    assert matrix == ("Confusion matrix (test). 15 of 18 on the diagonal (83.3% right); the most frequent mistake: "
                      "true <b> predicted as a (2 times).")  # what a reader looks for, said by the chart's builder
    rows = [{"corruption": c, "severity": v, "accuracy": a, "ci_low": a, "ci_high": a, "parameter": "p", "value": v}
            for c, acc in (("fog", [0.9, 0.8, 0.5]), ("blur", [0.95, 0.7, 0.6]), ("noise", [0.85, 0.6, 0.4]),
                           ("snow", [0.9, 0.9, 0.9]), ("rain", [0.8, 0.7, 0.1]))
            for v, a in zip((1, 3, 5), acc, strict=True)]
    grid = figures.text_alternative(figures.corruption_heatmap(rows))
    assert "a 5 × 3 grid from 10.0% to 95.0%, highest at blur, severity 1" in grid, grid  # 15 cells: range and peak
    cells = figures.intersection_heatmap([
        {"grouping": "race x sex", "group": "a & f", "selection_rate": 0.3, "count": 40, "too_small": False},
        {"grouping": "race x sex", "group": "b & f", "selection_rate": None, "count": 4, "too_small": True}],
        "race x sex")
    assert figures.text_alternative(cells).endswith("race a & sex f: 30% n=40; race b & sex f: not measured n=4.")
    radar = figures.text_alternative(figures.radar(["acc", "f1", "x"], [("m1", [0.9, 0.8, 0.7])]))
    # read as its axis shows them (percent), and the point that closes the loop is not read twice
    assert radar.endswith("m1: acc: 90.0%; f1: 80.0%; x: 70.0%.")


def test_user_text_in_a_chart_reads_as_typed():
    text = figures.text_alternative(figures.per_class_accuracy(["<b>x</b>", "a&b"], [0.5, 0.25]))
    assert "<b>x</b>: 50.0%" in text
    assert "a&b: 25.0%" in text


def test_no_page_draws_a_chart_without_its_text_alternative():
    """Pages draw through ``figures.show`` (chart, then its numbers in a caption); the Overview page writes its own
    sentence with the numbers under each chart."""
    for page in sorted((ROOT / "dashboard" / "views").glob("*.py")):
        if page.name != "overview.py":
            assert "plotly_chart(" not in page.read_text(encoding="utf-8"), page.name


def test_a_small_charts_long_axis_titles_are_broken_into_lines():
    fig = figures.robustness_curves([("m", 0.9, [{"eps": 0.1, "ci_low": 0.5, "ci_high": 0.6,
                                                  "robust_accuracy": 0.55}])])
    fig.update_yaxes(title="<b>kept</b> as written, however long it is")
    figures.fit_axis_titles(fig)
    lines = fig.layout.xaxis.title.text.split("<br>")
    assert len(lines) == 2
    assert all(len(line) <= 28 for line in lines)
    assert " ".join(lines) == "epsilon (Linf: largest change to any input value)"  # every word kept, in order
    assert fig.layout.yaxis.title.text == "<b>kept</b> as written, however long it is"  # its own markup: untouched
    assert figures.text_alternative(fig)  # still read as text
    roc = figures.robustness_curves([("m", 0.9, [{"eps": 0.1, "ci_low": 0.5, "ci_high": 0.6,
                                                  "robust_accuracy": 0.55}])])
    roc.update_yaxes(title="true-positive rate (members found)")  # along a small plot's height: shorter lines
    figures.fit_axis_titles(roc, width=24, y_width=18)
    assert roc.layout.yaxis.title.text == "true-positive rate<br>(members found)"
    assert all(len(line) <= 24 for line in roc.layout.xaxis.title.text.split("<br>"))


def test_a_title_of_two_lines_stays_clear_of_the_labels_above_a_gallery():
    import numpy as np

    image = np.linspace(0, 1, 64).reshape(8, 8)
    attacked = figures.adversarial_gallery([{"original": image, "adversarial": 1 - image, "true": 5, "clean_pred": 5,
                                             "clean_confidence": 0.64, "adv_pred": 2, "adv_confidence": 0.89}] * 6)
    corrupted = figures.corruption_gallery([{"corruption": c, "severity": s, "image": image, "prediction": 5,
                                             "true": 5} for c in ("fog", "blur") for s in (1, 3, 5)])
    for fig, labels in ((attacked, 16), (corrupted, 22)):  # subplot titles; severity ticks above the images
        lines = fig.layout.title.text.count("<br>") + 1
        assert lines == 2
        assert (fig.layout.title.yref, fig.layout.title.yanchor) == ("container", "top")  # drawn from the top down
        assert 10 + 19 * lines <= fig.layout.margin.t - labels  # its last line ends above the labels
    assert not any("(scaled)" in a.text for a in attacked.layout.annotations)  # six of them ran together at 800 px


def test_a_pages_text_reads_numbers_along_a_percent_axis_as_percentages_and_a_reports_stays():
    rows = [{"attack": "threshold", "fpr": x, "tpr": min(1.0, 1.5 * x)}
            for x in (0.005556, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 0.8, 1.0)]  # a long series: first and last
    roc = figures.roc_curves(rows)  # a log axis labelled "0.1%" ... "100%" by its tick texts
    page = figures.text_alternative(roc, read_labels=True)
    assert "from false-positive 0.6% (0.8%) to false-positive 100.0% (100.0%)" in page, page
    assert "0.005556" not in page
    assert "from false-positive 0.005556 (0.8%)" in figures.text_alternative(roc)  # as a report has it written
