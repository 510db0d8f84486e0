"""The privacy audit's verdict in plain words (a pure function of its metrics)."""

from __future__ import annotations


def membership_verdict(m: dict) -> str:
    """The privacy audit's finding in plain words, from its metrics: the strongest attack's AUC with its interval,
    and what an AUC below 0.5 means. Ends with how many members and non-members were scored."""
    return f"{_auc_sentence(m)} ({m['members']} members and {m['non_members']} non-members scored)."


def _auc_sentence(m: dict) -> str:
    auc, low, high = m["max_auc"], m.get("max_auc_ci_low"), m.get("max_auc_ci_high")
    if low is None:  # an audit stored before intervals were recorded
        verdict = ("leaks membership" if auc >= 0.6 else "leaks a little" if auc >= 0.55
                   else "shows no measurable leakage")
        return (f"the strongest attack (**{m['strongest_attack']}**) tells members from non-members with AUC "
                f"{auc:.3f}, so this model **{verdict}**")
    text = (f"the strongest attack (**{m['strongest_attack']}**) tells members from non-members with AUC {auc:.3f} "
            f"(95% interval {low:.3f} to {high:.3f}), ")
    if low > 0.5:
        verdict = "leaks membership" if low >= 0.55 else "leaks a little"
        return text + f"so this model **{verdict}**: the whole interval is above 0.5, which is guessing"
    if high < 0.5:
        return text + ("**below 0.5**: the attack ranks non-members above members more often than chance. That is "
                       "still a signal (an attacker who flips the rule gets AUC "
                       f"{1 - auc:.3f}), so read it as leakage of that size, not as protection")
    below = (" A value under 0.5 is chance plus noise: it does not mean the model protects anyone, only that this "
             "attack found nothing." if auc < 0.5 else "")
    return text + f"so this model **shows no measurable leakage**: the interval includes 0.5 (guessing).{below}"
