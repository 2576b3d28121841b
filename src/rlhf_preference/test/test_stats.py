# Copyright 2026 RLHF Robotics contributors. Apache-2.0.
"""Agreement statistics against values computed by hand (the working is in the comments)."""

import math

import pytest

from rlhf_preference.stats import fleiss_kappa, krippendorff_alpha_nominal, majority, pair_agreement


def test_alpha_small_table():
    # units [a,a] [a,b] [b,b]: o_aa = 2, o_ab = o_ba = 1, o_bb = 2; n_a = n_b = 3, n = 6
    # alpha = 1 - (n-1) * (o_ab+o_ba) / (2 n_a n_b) = 1 - 5*2/18 = 4/9
    assert krippendorff_alpha_nominal([['a', 'a'], ['a', 'b'], ['b', 'b']]) == pytest.approx(4 / 9)


def test_alpha_three_raters_with_missing_labels():
    # [a,a,b]: m=3, o_aa += 2/2 = 1, o_ab = o_ba += 2/2 = 1; [b,b,None] -> [b,b]: o_bb += 2;
    # [a,None,None] has a single value: not pairable, dropped.
    # n_a = 1 + 1 = 2, n_b = 1 + 2 = 3, n = 5; alpha = 1 - 4 * 2 / (2*2*3) = 1 - 8/12 = 1/3
    units = [['a', 'a', 'b'], ['b', 'b', None], ['a', None, None]]
    assert krippendorff_alpha_nominal(units) == pytest.approx(1 / 3)


def test_alpha_perfect_agreement_and_degenerate_cases():
    assert krippendorff_alpha_nominal([['a', 'a'], ['b', 'b', 'b']]) == pytest.approx(1.0)
    # every answer the same category: expected disagreement 0, alpha undefined
    assert math.isnan(krippendorff_alpha_nominal([['a', 'a'], ['a', 'a']]))
    # one annotator: nothing pairable
    assert math.isnan(krippendorff_alpha_nominal([['a'], ['b'], ['a']]))
    assert math.isnan(krippendorff_alpha_nominal([]))


def test_alpha_systematic_disagreement_is_negative():
    # [a,b] [a,b]: o_ab = o_ba = 2, n_a = n_b = 2, n = 4; alpha = 1 - 3*4/8 = -0.5
    assert krippendorff_alpha_nominal([['a', 'b'], ['b', 'a']]) == pytest.approx(-0.5)


def test_fleiss_small_table():
    # rows (a,b counts): [2,0] [1,1] [0,2], n = 2: P_i = 1, 0, 1 -> P_bar = 2/3; p = (1/2, 1/2) -> P_e = 1/2
    # kappa = (2/3 - 1/2) / (1 - 1/2) = 1/3
    assert fleiss_kappa([['a', 'a'], ['a', 'b'], ['b', 'b']]) == pytest.approx(1 / 3)


def test_fleiss_three_categories():
    # 2 units x 3 raters: [a,a,a] [a,b,equal]. P_1 = (9-3)/6 = 1, P_2 = (3-3)/6 = 0 -> P_bar = 1/2
    # p_a = 4/6, p_b = 1/6, p_eq = 1/6 -> P_e = (16+1+1)/36 = 1/2 -> kappa = 0
    assert fleiss_kappa([['a', 'a', 'a'], ['a', 'b', 'equal']]) == pytest.approx(0.0)


def test_fleiss_degenerate_cases():
    assert math.isnan(fleiss_kappa([['a', 'a'], ['a', 'a']]))     # all agree on one category
    with pytest.raises(ValueError, match='same number of raters'):
        fleiss_kappa([['a', 'a'], ['a', 'b', 'b']])
    with pytest.raises(ValueError, match='at least 2 raters'):
        fleiss_kappa([['a'], ['b']])
    with pytest.raises(ValueError, match='at least one'):
        fleiss_kappa([[None], []])


def test_pair_agreement_and_majority():
    assert pair_agreement(['a', 'a', 'b', None]) == pytest.approx(2 / 3)
    assert pair_agreement(['b']) == 1.0
    assert math.isnan(pair_agreement([None]))
    assert majority(['a', 'b', 'b']) == 'b'
    assert majority(['a', 'b']) is None
    assert majority([]) is None
