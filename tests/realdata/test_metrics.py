"""Metrics against hand-computed cases, and on real masks of the fixed magnetic-tile split."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from surfsight.errors import InputError
from surfsight.realdata import metrics, splits


def test_pooled_iou_sums_counts_over_images():
    # image 1: TP 2, FP 1, FN 1; image 2: TP 0, FP 0, FN 2 -> 2 / (2 + 1 + 3)
    p1 = np.array([[1, 1, 1, 0]], bool)
    t1 = np.array([[1, 1, 0, 1]], bool)
    p2 = np.zeros((1, 4), bool)
    t2 = np.array([[1, 1, 0, 0]], bool)
    assert metrics.pooled_iou([p1, p2], [t1, t2]) == pytest.approx(2 / 6)
    # per-image mean IoU would be (2/4 + 0) / 2 = 0.25: pooled differs
    assert metrics.pooled_iou([p1, p2], [t1, t2]) != pytest.approx(0.25)


def test_f1_cases():
    t = np.array([1, 1, 0, 0], bool)
    assert metrics.f1(np.array([1, 0, 1, 0], bool), t) == pytest.approx(2 * 1 / (2 * 1 + 1 + 1))
    assert metrics.f1(np.zeros(4, bool), np.zeros(4, bool)) == 1.0        # nothing to find, nothing found
    assert metrics.f1(np.array([0, 0, 0, 1], bool), np.zeros(4, bool)) == 0.0
    assert metrics.f1(np.zeros(4, bool), t) == 0.0
    assert metrics.mean_f1([np.zeros(4, bool), np.array([1, 0, 1, 0], bool)], [np.zeros(4, bool), t]) \
        == pytest.approx((1 + 0.5) / 2)


def test_auroc_hand_computed_with_ties():
    # positives 0.8, 0.4; negatives 0.4, 0.1, 0.6: pairs won: 0.8 beats 3, 0.4 ties 0.4 (1/2), beats 0.1
    # U = 3 + 1.5 = 4.5 out of 6
    assert metrics.auroc([0.8, 0.4, 0.4, 0.1, 0.6], [1, 1, 0, 0, 0]) == pytest.approx(4.5 / 6)
    assert metrics.auroc([3, 2, 1], [1, 0, 0]) == 1.0
    assert metrics.auroc([1, 2, 3], [1, 0, 0]) == 0.0


def test_auroc_refuses_one_class_and_nan():
    with pytest.raises(InputError, match="both classes"):
        metrics.auroc([0.1, 0.2], [0, 0])
    with pytest.raises(InputError, match="finite"):
        metrics.auroc([np.nan, 0.2], [0, 1])
    with pytest.raises(InputError, match="shape"):
        metrics.pooled_iou([np.zeros((2, 2))], [np.zeros((2, 3))])


def test_image_and_pixel_auroc():
    truths = [np.array([[0, 1]], bool), np.zeros((1, 2), bool)]
    maps = [np.array([[0.2, 0.9]]), np.array([[0.3, 0.1]])]
    assert metrics.image_auroc([0.9, 0.3], truths) == 1.0
    # pixels: positive 0.9 against negatives 0.2, 0.3, 0.1 -> 1.0
    assert metrics.pixel_auroc(maps, truths) == 1.0
    report = metrics.segmentation_report(maps, truths)
    assert report["iou"] == 1.0 and report["mean_f1"] == 1.0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.floats(-5, 5), st.booleans()), min_size=2, max_size=30))
def test_auroc_matches_pair_counting(rows):
    scores = np.array([r[0] for r in rows])
    labels = np.array([r[1] for r in rows])
    if labels.all() or not labels.any():
        return
    pos, neg = scores[labels], scores[~labels]
    expected = ((pos[:, None] > neg[None]).sum() + 0.5 * (pos[:, None] == neg[None]).sum()) / (pos.size * neg.size)
    assert metrics.auroc(scores, labels) == pytest.approx(expected)
    # reversing the scores mirrors the AUROC
    assert metrics.auroc(-scores, labels) == pytest.approx(1 - expected)


def _magnetic_tile():
    try:
        return splits.magnetic_tile()
    except InputError as exc:
        pytest.skip(str(exc))


def test_magnetic_tile_split_counts_and_rule():
    split = _magnetic_tile()
    assert len(split["train"]) == 429 and len(split["test"]) == 163
    names = [p.extra["relative"] for p in split["train"]]
    assert "MT_Crack/Imgs/exp1_num_249594.jpg" in names          # the README's worked example: 8 -> train
    assert names == sorted(names)
    assert all(p.mask is not None for p in split["train"] + split["test"])
    chosen = splits.evenly_spread(split["train"], 20)
    assert chosen[0] is split["train"][0] and chosen[-1] is split["train"][428] and len(chosen) == 20
    # the README's rule for the labelled subsets: floor(linspace(0, 428, N))
    assert splits.evenly_spread_index(429, 50)[:4].tolist() == [0, 8, 17, 26]
    assert splits.evenly_spread_index(429, None).tolist() == list(range(429))
    assert splits.evenly_spread_index(429, 1000).tolist() == list(range(429))


def test_metrics_on_real_masks():
    from surfsight.realdata.inputs import load_set

    split = _magnetic_tile()
    pairs = [p for p in split["test"] if p.extra["kind"] in ("Crack", "Free")][:6]
    data = load_set(pairs, (256, 256), splits.MAGNETIC_TILE_THRESHOLD)
    truths = [m[0].numpy() > 0.5 for m in data.masks]
    assert metrics.pooled_iou(truths, truths) == 1.0
    assert metrics.mean_f1(truths, truths) == 1.0
    # a mask dilated by one pixel: every true pixel found, extra pixels are false positives
    from scipy.ndimage import binary_dilation

    grown = [binary_dilation(t) for t in truths]
    tp = sum(int(t.sum()) for t in truths)
    fp = sum(int((g & ~t).sum()) for g, t in zip(grown, truths))
    assert metrics.pooled_iou(grown, truths) == pytest.approx(tp / (tp + fp))
    assert 0 < metrics.pooled_iou(grown, truths) < 1


def test_by_group_counts_each_group_and_agrees_with_the_pooled_iou():
    a = np.zeros((4, 4), bool)
    a[0, :2] = True                            # prediction: two pixels
    t = np.zeros((4, 4), bool)
    t[0, 1:3] = True                           # truth: two pixels, one shared
    good = np.zeros((4, 4), bool)
    alarm = good.copy()
    alarm[3, 3] = True
    rows = metrics.by_group([a, alarm, good], [t, good, good], ["crack", "free", "free"])
    assert rows["crack"] == {"images": 1, "tp": 1, "fp": 1, "fn": 1, "iou": pytest.approx(1 / 3)}
    assert rows["free"] == {"images": 2, "tp": 0, "fp": 1, "fn": 0, "iou": 0.0}
    assert metrics.by_group([good], [good], ["free"])["free"]["iou"] is None
    one = metrics.by_group([a, alarm], [t, good], ["all", "all"])["all"]["iou"]
    assert one == pytest.approx(metrics.pooled_iou([a, alarm], [t, good]))
    with pytest.raises(InputError, match="2 group names for 3"):
        metrics.by_group([a, alarm, good], [t, good, good], ["x", "y"])
