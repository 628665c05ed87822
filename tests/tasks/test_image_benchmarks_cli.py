"""cvbench_3d, blink_multiview, mmsibench and mmsibench_pr on their fixtures, in one CLI run
(shared with vsi_bench's `--limit 8` check: these fixtures have at most 5 rows, so the limit
leaves them whole)."""

from __future__ import annotations

import math

import pytest

from tests.fixtures.build import BLINK_ROWS, CVBENCH_ROWS, MMSI_ROWS, VSI_ROWS
from tests.tasks.conftest import images_sent, run_cli
from tests.tasks.test_vsi_bench_cli import REPLIES as VSI_REPLIES

pytestmark = pytest.mark.integration

CVBENCH_REPLIES = {
    0: "(A)",  # Depth, truth (A): 1
    1: "A",  # Depth, truth (B): 0
    2: "B is closer",  # Distance, truth (B), extra words: 1
    3: "I think so",  # Distance, truth (A), no letter: leading 'I' is not 'A': 0
    4: "A.",  # Distance, truth (A): 1
}
BLINK_REPLIES = {
    "val_Multi-view_Reasoning_1": "(A)",  # truth (A): 1
    "val_Multi-view_Reasoning_2": "The correct answer is (B).",  # truth (B): 1
    "val_Multi-view_Reasoning_3": "no idea",  # truth (A), no letter: 0
}
MMSI_REPLIES = {
    0: "`B`",  # Cam.-Obj., truth B, in backticks: 1
    1: "{C}",  # Obj.-Obj., truth C, in braces: 1
    2: "Since the chair is behind, A",  # Cam.-Cam., truth A, a bare letter ends the reply: 1
    3: "I would say `B`",  # Cam.-Cam., truth D: 0
    4: "A",  # Motion (Cam.), truth B: 0
}


def _replies():
    replies = {row[4]: CVBENCH_REPLIES[row[0]] for row in CVBENCH_ROWS}
    replies.update({marker: BLINK_REPLIES[idx] for idx, _answer, marker in BLINK_ROWS})
    replies.update({row[2]: MMSI_REPLIES[row[0]] for row in MMSI_ROWS})
    replies.update({row[4]: VSI_REPLIES[row[0]] for row in VSI_ROWS})
    return replies


@pytest.fixture(scope="module")
def image_run(overrides, tmp_path_factory):
    tasks = ["cvbench_3d", "blink_multiview", "mmsibench", "mmsibench_pr", "vsi_bench"]
    return run_cli(tasks, _replies(), overrides, tmp_path_factory.mktemp("image_run"), limit=8)


def test_cvbench_3d_accuracy_per_task_and_official_overall(image_run):
    scores = image_run[0]["results"]["cvbench_3d"]
    assert scores["depth_order_accuracy,none"] == pytest.approx(0.5)
    assert scores["relative_distance_accuracy,none"] == pytest.approx(round(2 / 3, 6))
    # 3D rows only (all Omni3D): the official formula is plain accuracy, 3 of 5.
    assert scores["cvbench_3d_overall,none"] == pytest.approx(0.6)


def test_blink_multiview_accuracy_counts_an_unanswered_sample_as_wrong(image_run):
    assert image_run[0]["results"]["blink_multiview"]["blink_multiview_acc,none"] == pytest.approx(round(2 / 3, 6))
    assert image_run[0]["n-samples"]["blink_multiview"]["effective"] == 3


def test_mmsibench_extraction_and_positional_subset(image_run):
    results = image_run[0]["results"]
    full, positional = results["mmsibench"], results["mmsibench_pr"]
    assert full["mmsi_overall,none"] == pytest.approx(0.6)
    assert full["motion_cam_accuracy,none"] == 0.0
    assert math.isnan(full["msr_accuracy,none"])
    assert positional["mmsi_overall,none"] == pytest.approx(0.75)
    assert positional["positional_relationship_cam_cam_accuracy,none"] == pytest.approx(0.5)
    assert positional["positional_relationship_cam_obj_accuracy,none"] == 1.0
    assert image_run[0]["n-samples"]["mmsibench_pr"]["effective"] == 4


def test_images_of_each_row_reach_the_model(image_run):
    requests = image_run[1]
    # 5 CV-Bench rows (1 image), 3 BLINK rows (2 images), 5 + 4 MMSI rows (2 images), 8 VSI
    # rows (the 6 frames of their video).
    counts = sorted(images_sent(request) for request in requests)
    assert counts == [1] * 5 + [2] * 12 + [6] * 8


def test_vsi_bench_missing_direction_level_under_limit_averages_the_levels_present(image_run):
    # The first 8 rows hold the easy and medium levels but no hard one (lmms-eval's own
    # vsibench raises KeyError here), and no route planning or appearance order.
    scores = image_run[0]["results"]["vsi_bench"]
    assert scores["object_rel_direction_accuracy,none"] == pytest.approx(0.5)
    assert math.isnan(scores["object_rel_direction_hard_accuracy,none"])
    assert math.isnan(scores["route_planning_accuracy,none"])
    # Overall over the 6 tasks present: (1 + 0.9 + 0 + 0.8 + 1 + 0.5) / 6.
    assert scores["vsi_bench_overall,none"] == pytest.approx(0.7)
