# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Inter-rater agreement statistics (pure Python, no numpy needed).

Conventions used by the statistics page and the export:

- Reliability data is a list of units (one per pair); each unit is the list of nominal answers it
  received, one per rater. ``None`` marks a missing answer and is ignored.
- Krippendorff's alpha (nominal) uses every unit with at least two answers. It is ``nan`` when it is
  undefined: fewer than two pairable answers in total, or no variation at all (every answer the same
  category, so expected disagreement is zero).
- Fleiss' kappa needs the same number of raters on every unit; it raises ``ValueError`` otherwise and
  returns ``nan`` when chance agreement is 1 (every answer the same category).
- Per-pair agreement is the share of the most frequent answer (1.0 for a single answer).
"""

from collections import Counter
import math


def _clean(unit):
    return [value for value in unit if value is not None]


def krippendorff_alpha_nominal(units):
    """Return Krippendorff's alpha for nominal data; ``nan`` where it is undefined (see module doc)."""
    coincidence = Counter()   # (c, k) -> o_ck
    for unit in units:
        values = _clean(unit)
        m = len(values)
        if m < 2:
            continue   # an answer without a second rater on the same unit is not pairable
        counts = Counter(values)
        for c, n_c in counts.items():
            for k, n_k in counts.items():
                pairs = n_c * (n_c - 1) if c == k else n_c * n_k
                coincidence[(c, k)] += pairs / (m - 1)
    marginals = Counter()
    for (c, _k), o in coincidence.items():
        marginals[c] += o
    n = sum(marginals.values())
    if n < 2:
        return math.nan
    observed = sum(o for (c, k), o in coincidence.items() if c != k)
    expected = sum(marginals[c] * marginals[k] for c in marginals for k in marginals if c != k)
    if expected == 0:
        return math.nan
    return 1.0 - (n - 1) * observed / expected


def fleiss_kappa(units, categories=None):
    """Return Fleiss' kappa for units that all have the same number (>= 2) of answers."""
    cleaned = [_clean(unit) for unit in units]
    cleaned = [unit for unit in cleaned if unit]
    if not cleaned:
        raise ValueError("Fleiss' kappa needs at least one rated unit")
    raters = {len(unit) for unit in cleaned}
    if len(raters) != 1:
        raise ValueError(f"Fleiss' kappa needs the same number of raters on every unit, got {sorted(raters)}")
    n = raters.pop()
    if n < 2:
        raise ValueError("Fleiss' kappa needs at least 2 raters per unit")
    if categories is None:
        categories = sorted({value for unit in cleaned for value in unit}, key=str)
    table = [[Counter(unit)[c] for c in categories] for unit in cleaned]
    num_units = len(table)
    p_item = [(sum(x * x for x in row) - n) / (n * (n - 1)) for row in table]
    p_bar = sum(p_item) / num_units
    p_cat = [sum(row[j] for row in table) / (num_units * n) for j in range(len(categories))]
    p_e = sum(p * p for p in p_cat)
    if p_e >= 1.0:
        return math.nan
    return (p_bar - p_e) / (1.0 - p_e)


def pair_agreement(answers):
    """Share of the most frequent answer among the non-missing answers; ``nan`` when there are none."""
    values = _clean(answers)
    if not values:
        return math.nan
    return Counter(values).most_common(1)[0][1] / len(values)


def majority(answers):
    """The most frequent answer, or ``None`` when there is no answer or the top answers tie."""
    counts = Counter(_clean(answers)).most_common()
    if not counts or (len(counts) > 1 and counts[0][1] == counts[1][1]):
        return None
    return counts[0][0]
