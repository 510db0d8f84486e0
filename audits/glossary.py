"""Plain words for metric keys: what a reviewer reads instead of ``robust_accuracy@0.1`` or
``demographic_parity_difference[sex]``, what it means, and whether it is a rate (shown as a percentage)."""

from __future__ import annotations

#: key -> (label, meaning, rate): ``rate`` metrics are proportions and are shown as percentages
GLOSSARY: dict[str, tuple[str, str, bool]] = {
    "accuracy": ("accuracy", "share of test examples the model gets right", True),
    "accuracy_ci_low": ("accuracy, 95% interval low", "lower end of accuracy's 95% bootstrap interval", True),
    "accuracy_ci_high": ("accuracy, 95% interval high", "upper end of accuracy's 95% bootstrap interval", True),
    "balanced_accuracy": ("balanced accuracy", "mean of the recall of each class: a rare class counts as much as a "
                                               "common one", True),
    "macro_f1": ("macro-F1", "mean F1 score over the classes (0 to 1)", False),
    "majority_baseline_accuracy": ("majority-class baseline", "accuracy of always answering the most frequent "
                                                              "class: what a model must beat", True),
    "recall": ("recall", "share of one class's examples the model finds", True),
    "clean_accuracy": ("accuracy without attack", "accuracy on the same examples before they are attacked", True),
    "robust_accuracy": ("accuracy under attack", "accuracy after the attack moved each input by at most eps", True),
    "success_rate": ("attack success", "share of correctly classified inputs the attack turned wrong", True),
    "certified_accuracy": ("certified accuracy", "share of inputs provably classified correctly within the radius",
                           True),
    "median_certified_radius": ("median certified radius", "over all inputs, 0 where the smoothed model is wrong or "
                                                           "abstains", False),
    "max_anomaly_index": ("backdoor anomaly index", "how far the easiest class to trigger stands out (above 2: a "
                                                    "suspected backdoor)", False),
    "demographic_parity_difference": ("parity gap", "largest difference between groups in how often the model "
                                                    "predicts the favourable outcome", True),
    "demographic_parity_ratio": ("parity ratio", "smallest group selection rate over the largest (the four-fifths "
                                                 "rule wants at least 80%)", True),
    "equalized_odds_difference": ("odds gap", "largest difference between groups in true- or false-positive rate",
                                  True),
    "equalized_odds_ratio": ("odds ratio", "smallest over largest true- or false-positive rate between groups", True),
    "equal_opportunity_difference": ("opportunity gap", "largest difference between groups in true-positive rate",
                                     True),
    "selection_rate": ("selection rate", "share of the group the model gives the favourable outcome", True),
    "base_rate": ("base rate", "share of the group whose true outcome is the favourable one", True),
    "tpr": ("true-positive rate", "share of the group's favourable cases the model finds", True),
    "fpr": ("false-positive rate", "share of the group's unfavourable cases the model calls favourable", True),
    "fnr": ("false-negative rate", "share of the group's favourable cases the model misses", True),
    "calibration_error": ("calibration error", "average gap between the confidence the model claims for the group "
                                               "and how often it is right", True),
    "accuracy_difference": ("accuracy gap", "largest difference in accuracy between groups", True),
    "four_fifths_rule_violated": ("four-fifths rule violated", "one group's selection rate is below 80% of "
                                                               "another's", False),
    "max_auc": ("strongest membership attack (AUC)", "0.5: the attack cannot tell training rows from others; 1: "
                                                     "always can", False),
    "max_auc_ci_low": ("strongest attack AUC, 95% interval low", "lower end of its 95% interval (DeLong)", False),
    "max_auc_ci_high": ("strongest attack AUC, 95% interval high", "upper end of its 95% interval (DeLong)", False),
    "max_advantage": ("largest membership advantage", "the highest true-positive minus false-positive rate of any "
                                                      "attack", True),
    "auc": ("membership AUC", "0.5: the attack cannot tell training rows from others; 1: always can", False),
    "auc_ci_low": ("AUC, 95% interval low", "lower end of the AUC's 95% interval (DeLong)", False),
    "auc_ci_high": ("AUC, 95% interval high", "upper end of the AUC's 95% interval (DeLong)", False),
    "tpr_at_0.1%_fpr": ("members found at 0.1% false alarms", "share of training rows the attack finds while "
                                                              "wrongly flagging 0.1% of others", True),
    "empirical_epsilon_point": ("empirical epsilon (point estimate)", "the privacy loss the attack shows, without "
                                                                       "the margin of its 95% bound", False),
    "lowest_measurable_fpr": ("lowest measurable false-alarm rate", "one over the non-members scored: a "
                                                                    "false-positive rate below it cannot be measured",
                              True),
    "members": ("members scored", "training rows the attack scored", False),
    "non_members": ("non-members scored", "rows the model was not trained on that the attack scored", False),
    "dp_epsilon": ("DP epsilon (accountant)", "the privacy loss DP-SGD training guarantees at most (lower: more "
                                              "private)", False),
    "dp_delta": ("DP delta", "the probability with which the epsilon guarantee may fail", False),
    "tpr_at_1%_fpr": ("members found at 1% false alarms", "share of training rows the attack finds while wrongly "
                                                          "flagging 1% of others", True),
    "advantage": ("membership advantage", "true-positive minus false-positive rate of the best attack threshold",
                  True),
    "empirical_epsilon": ("empirical epsilon (lower bound)", "the privacy loss the attack proves, at least", False),
    "ece": ("calibration error (ECE)", "average gap between the confidence the model claims and how often it is "
                                       "right", False),
    "coverage": ("conformal coverage", "share of test examples whose prediction set holds the true class", True),
    "coverage_gap": ("coverage gap between groups", "largest difference in conformal coverage between groups", True),
    "mean_set_size": ("mean prediction-set size", "classes in a conformal prediction set, on average", False),
    "mean_corruption_error": ("mean corruption error", "errors under corruption relative to the reference model "
                                                       "(below 1: more robust than it)", False),
    "mean_accuracy": ("accuracy under corruption", "mean accuracy over corruptions and severities", True),
    "shift_accuracy": ("accuracy on shifted data", "accuracy on the other dataset", True),
    "sanity_rank_correlation": ("explanation sanity (signed)", "rank correlation with the explanation of a "
                                                               "randomised model: high means it ignores the model",
                                False),
    "sanity_rank_correlation_magnitude": ("explanation sanity (magnitude)", "the same, on absolute attributions",
                                          False),
    "deletion_auc": ("deletion area", "confidence left while the top-ranked features are deleted (lower: more "
                                      "faithful)", False),
    "stability": ("explanation stability", "rank correlation of explanations under small noise (1: stable)", False),
    "recourse_share": ("refused people with recourse", "share of refused people who can turn the decision with a "
                                                       "realistic change", True),
    "extraction_rate": ("training texts extracted", "share of training texts the model completes from their start",
                        True),
    "max_exposure": ("largest canary exposure (bits)", "how much more likely the model finds a planted secret than "
                                                       "chance", False),
    "mia_auc_loss": ("sequence membership AUC", "0.5: training texts cannot be told from others by their loss",
                     False),
    "sentiment_gap": ("sentiment gap between groups", "difference in the sentiment of continuations between group "
                                                      "words", False),
    "profanity_gap": ("profanity gap between groups", "difference in profanity of continuations between group words",
                      False),
    "n": ("examples", "how many examples the number is computed on", False),
    # columns of the audits' tables
    "ci_low": ("95% interval, low", "lower end of the 95% interval of the value before it", False),
    "ci_high": ("95% interval, high", "upper end of the 95% interval of the value before it", False),
    "eps": ("epsilon", "the most the attack may change an input", False),
    "mean_linf": ("mean change (Linf)", "average of the largest change the attack made to any input value", False),
    "mean_l2": ("mean change (L2)", "average length of the whole change the attack made to an input", False),
    "radius": ("radius (L2)", "the distance within which an answer is certified", False),
    "certified_ci_low": ("certified, 95% interval low", "lower end of certified accuracy's 95% interval", True),
    "certified_ci_high": ("certified, 95% interval high", "upper end of certified accuracy's 95% interval", True),
    "empirical_accuracy": ("accuracy under PGD-L2", "accuracy after a PGD-L2 attack within the radius: an upper "
                                                    "bound on what can be certified", True),
    "abstain_rate": ("abstained", "share of inputs the smoothed model declines to answer", True),
    "size_ratio": ("size vs original", "the variant's file size as a share of the trained model's", True),
    "accuracy_delta": ("accuracy change", "the variant's accuracy minus the trained model's", True),
    "flipped": ("answers changed", "test examples the variant answers differently from the trained model", False),
    "flipped_to_wrong": ("changed to wrong", "test examples the trained model got right and the variant gets wrong",
                         False),
    "worst_class": ("worst class", "the class whose accuracy falls most", False),
    "worst_class_delta": ("worst class change", "that class's accuracy change", True),
    "latency_b1_ms": ("latency, 1 input (ms)", "median time to answer one input", False),
    "latency_b256_ms": ("latency, 256 inputs (ms)", "median time to answer a batch of 256 inputs", False),
    "latency_b1_ratio": ("latency, 1 input, vs original", "the variant's time over the trained model's (below 1: "
                                                          "faster)", False),
    "latency_b256_ratio": ("latency, 256 inputs, vs original", "the variant's time over the trained model's (below "
                                                               "1: faster)", False),
    "fairness_gap_delta": ("parity gap change", "the largest change of a parity gap between groups", True),
    "robust_accuracy_transfer": ("accuracy under the original's attack", "accuracy on adversarial examples made "
                                                                         "against the trained model", True),
    "robust_accuracy_delta": ("accuracy under attack, change", "the variant's accuracy under attack minus the "
                                                               "trained model's", True),
    "importance_share": ("share of importance", "share of the model's attribution that goes to this feature", True),
    "precision": ("precision", "share of what was flagged (or predicted positive) that was right", True),
    "clean_rejected": ("clean inputs rejected", "share of clean inputs flagged as triggered", True),
    "triggered_caught": ("triggered inputs caught", "share of triggered inputs flagged", True),
    "reaches": ("trigger success", "share of inputs the recovered trigger sends to this class", True),
}


#: how a metric's ``@`` value reads: ``robust_accuracy@0.1`` is "accuracy under attack at eps 0.1"
AT = {"robust_accuracy": "at eps", "success_rate": "at eps", "certified_accuracy": "within L2 radius",
      "mean_corruption_error": "for"}


def describe(key: str) -> tuple[str, str, bool]:
    """(label, meaning, rate) of a metric key; ``name@x`` and ``name[attr]`` read as the name at x / for attr; a
    key the glossary does not know keeps its own words."""
    stem, at, where = key.partition("@")
    base, bracket, attr = stem.partition("[")
    label, meaning, rate = GLOSSARY.get(base, (base.replace("_", " "), "", False))
    if at:
        label = f"{label} {AT.get(base, 'at')} {where}"
    if bracket:
        label = f"{label} ({attr.rstrip(']')})"
    return label, meaning, rate
