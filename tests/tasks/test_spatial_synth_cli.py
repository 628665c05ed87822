"""spatial_synth's four tasks (VSI part, CV-Bench-3D, BLINK and MMSI style) through the CLI.

The scripted model answers every multiple-choice question with option A and every numerical
one with nothing usable, so each expected score follows from the generated rows alone: the
share of questions whose answer is A, and 0 for numbers (kept in the denominator).
"""

from __future__ import annotations

import math

import pyarrow.parquet as pq
import pytest

from skill3d_eval.data import write_local_task
from skill3d_eval.scoring.vsibench import CHOICE_TYPES, TASK_METRICS
from skill3d_eval.synth.generate import generate
from tests.tasks.conftest import images_sent, run_cli

pytestmark = pytest.mark.integration

TASKS = {"spatial_synth": "", "spatial_synth_cv3d": "cv3d_", "spatial_synth_blink": "blink_", "spatial_synth_mmsi": "mmsi_"}


@pytest.fixture(scope="module")
def synth_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("synth_tasks")
    data = generate(root / "spatial_synth", scenes=4, seed=3, frames=8, width=96, height=72, progress=False).out_dir / "data"
    for task, prefix in TASKS.items():
        # The VSI part's rows name videos under the dataset root; the others embed their images.
        video_root = data.parent if task == "spatial_synth" else None
        write_local_task(task, data / f"{prefix}test.parquet", root / "overrides", video_root=video_root)
    tables = {task: pq.read_table(data / f"{prefix}test.parquet").to_pylist() for task, prefix in TASKS.items()}
    replies = {"Options": "A", "Select from the following choices": "(A)", "Select from the following options": "(A)"}

    def reply_for(question_text):
        # VSI multiple choice and MMSI carry 'Options', CV-Bench and BLINK their own wording;
        # anything else is a numerical question.
        return next((reply for marker, reply in replies.items() if marker in question_text), "unsure")

    planned = {}
    for rows in tables.values():
        for row in rows:
            text = row.get("prompt") or row["question"]
            planned[text] = reply_for(text + ("\nOptions" if row.get("options") else ""))
    results, requests = run_cli(list(TASKS), planned, root / "overrides", root)
    return results["results"], tables, requests


def _share_of(rows, key, value):
    return sum(row[key] == value for row in rows) / len(rows)


def test_vsi_part_scores_each_task_from_its_rows(synth_run):
    results, tables, _ = synth_run
    rows = tables["spatial_synth"]
    scores = results["spatial_synth"]
    present = []
    for metric, qtypes in TASK_METRICS.items():
        of_task = [row for row in rows if row["question_type"] in qtypes]
        value = scores[f"{metric},none"]
        if not of_task:
            assert math.isnan(value), metric
            continue
        if qtypes[0] in CHOICE_TYPES:
            per_level = [_share_of([r for r in of_task if r["question_type"] == q], "ground_truth", "A") for q in qtypes if any(r["question_type"] == q for r in of_task)]
            expected = sum(per_level) / len(per_level)
        else:
            expected = 0.0
        assert value == pytest.approx(round(expected, 6), abs=1e-6), metric
        present.append(expected)
    assert scores["spatial_synth_overall,none"] == pytest.approx(round(sum(present) / len(present), 6), abs=1e-6)


def test_vsi_part_hands_the_model_the_scene_video_and_it_samples_the_frames(synth_run):
    """The rows carry no frames: the model samples them from the scene's 8-frame video (all 8
    at any num_frames >= 8), as for VSI-Bench."""
    _, tables, requests = synth_run
    vsi = [r for r in requests if any("of a video of an indoor scene" in part.get("text", "") for part in r["messages"][1]["content"])]
    assert len(vsi) >= len(tables["spatial_synth"])
    assert {images_sent(r) for r in vsi} == {8}


def test_frame_question_subsets_score_with_their_benchmarks_code(synth_run):
    results, tables, _ = synth_run
    assert results["spatial_synth_cv3d"]["cvbench_3d_overall,none"] == pytest.approx(round(_share_of(tables["spatial_synth_cv3d"], "answer", "(A)"), 6))
    assert results["spatial_synth_blink"]["blink_multiview_acc,none"] == pytest.approx(round(_share_of(tables["spatial_synth_blink"], "answer", "(A)"), 6))
    assert results["spatial_synth_mmsi"]["mmsi_overall,none"] == pytest.approx(round(_share_of(tables["spatial_synth_mmsi"], "answer", "A"), 6))
