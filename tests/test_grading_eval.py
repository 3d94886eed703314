"""The grading eval's metrics: QWK, band thresholds and the keyword baseline."""

from __future__ import annotations

import pytest

from evals.grading_eval import BANDS, band_for, keyword_baseline, quadratic_weighted_kappa


def test_qwk_is_one_for_agreement_and_penalises_distance() -> None:
    truth = list(BANDS) * 3
    assert quadratic_weighted_kappa(truth, truth) == pytest.approx(1.0)
    near = [BANDS[min(3, BANDS.index(b) + 1)] for b in truth]
    far = [BANDS[3 - BANDS.index(b)] for b in truth]
    assert quadratic_weighted_kappa(truth, far) < 0
    assert quadratic_weighted_kappa(truth, near) > quadratic_weighted_kappa(truth, far)


def test_qwk_matches_a_hand_computed_value() -> None:
    # 2x2 agreement on the two extreme bands with one swap each way: po = 0.5 weighted by distance 3.
    truth = [BANDS[0], BANDS[0], BANDS[3], BANDS[3]]
    pred = [BANDS[0], BANDS[3], BANDS[3], BANDS[0]]
    assert quadratic_weighted_kappa(truth, pred) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("overall", "band"),
    [
        (1.0, BANDS[0]),
        (1.74, BANDS[0]),
        (1.75, BANDS[1]),
        (2.49, BANDS[1]),
        (2.5, BANDS[2]),
        (3.24, BANDS[2]),
        (3.25, BANDS[3]),
        (4.0, BANDS[3]),
    ],
)
def test_band_thresholds_follow_the_contract(overall: float, band: str) -> None:
    assert band_for(overall) == band


def test_keyword_baseline_counts_steps_and_flags_only_applicable_modes() -> None:
    thin = keyword_baseline("We train a model.", "street-view-blurring", "senior")
    assert thin.band == BANDS[0] and "ignores_serving" in thin.failure_modes
    assert "cold_start_ignored" not in thin.failure_modes
    rich = keyword_baseline(
        "Users and DAU and QPS and latency. Label and ranking objective. Data logs and features. "
        "Baseline model and logistic training. Offline metric precision and online A/B. Serving batch "
        "and online cache. Monitor drift and retrain alerts.",
        "news-feed",
        "senior",
    )
    assert rich.band == BANDS[3] and rich.failure_modes == []
