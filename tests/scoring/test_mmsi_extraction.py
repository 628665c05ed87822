"""MMSI-Bench's two answer extractions: the official one by default, lmms-eval's widened one by name.

The official function is not installable (it lives in the MMSI-Bench README and in a VLMEvalKit
fork), so `_readme_function` below is its text, copied verbatim from the "Answer Extraction"
section of OpenRobotLab/MMSI-Bench's README.md; ours must agree with it on every reply.
The widened rule is checked against lmms-eval itself in `test_benchmark_scoring.py`.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from skill3d_eval.scoring import ANSWER_EXTRACTION, UnknownAnswerExtraction, extract_mmsi_letter, mmsi_score, score


def _readme_function(pred, gt):  # verbatim from OpenRobotLab/MMSI-Bench README.md, "Answer Extraction"
    pattern_1 = r'``([^`]*)``'
    match = re.search(pattern_1, pred)
    if match:
        pred = match.group(1)

    pattern_2 = r'`([^`]*)`'
    match = re.search(pattern_2, pred)
    if match:
        pred = match.group(1)

    pattern_add = r'\{([^}]*)\}'
    match = re.search(pattern_add, pred)
    if match:
        pred = match.group(1)

    pattern_3 = r'\b[A-D]\b(?!\s[a-zA-Z])'
    match = re.search(pattern_3, pred)
    if match:
        pred = match.group()
    else:
        return None

    answer = gt.lower().replace("\n", " ").strip()
    predict = pred.lower().replace("\n", " ").strip()
    try:
        if answer == predict[0]:
            return 1.0
    except Exception:
        return 0.0
    return 0.0


ROW = {"id": 1, "question_type": "Positional Relationship (Cam.-Obj.)", "answer": "B", "options": ["A: left", "B: right"]}
WIDENED_ROW = {**ROW, ANSWER_EXTRACTION: "widened"}


@pytest.mark.parametrize(
    ("reply", "official", "widened"),
    [
        ("the answer is b", None, "B"),  # lower case: the official rule reads no letter
        ("b", None, "B"),
        ("{b}", None, "B"),
        ("E", None, "E"),  # beyond D
        ("E.", None, "E"),
        ("a chair is behind", None, None),  # an article followed by a word is no answer under either rule
        ("A chair is behind B", "B", "B"),
        ("It is a.", None, "A"),  # a lone lower-case 'a' reads as A only when widened
        ("``D`` or `A`", "D", "D"),  # double backticks first
        ("B looks right but `C`", "C", "C"),  # a letter in backticks beats a bare one
        ("`B` and {C}", "B", "B"),  # backticks narrow the text before braces are looked for
        ("Between A and C I pick {B}", "B", "B"),
        ("\\boxed{B}", "B", "B"),
        ("(C)", "C", "C"),
        ("no letter here", None, None),
        (None, None, None),
    ],
)
def test_the_two_rules_on_known_replies(reply, official, widened):
    assert extract_mmsi_letter(reply) == official
    assert extract_mmsi_letter(reply, "widened") == widened
    assert score(ROW, reply).extracted_answer == official
    assert score(WIDENED_ROW, reply).extracted_answer == widened
    assert score(ROW, reply).value == float(official == "B")
    assert score(WIDENED_ROW, reply).value == float(widened == "B")


def test_the_official_rule_is_the_mmsi_bench_readme_function():
    rng = np.random.default_rng(11)
    forms = (
        "`{letter}`", "``{letter}``", "{{{letter}}}", "{letter}", "{letter}.", "The answer is {letter}", "so {letter} because",
        "{letter} {word}", "I pick `{letter}` not {other}", "({letter})", "option {letter}.", "{other} or ``{letter}``", "none",
    )
    words = ("chair", "is", "lamp", "the")
    for _ in range(1000):
        letter, other, truth = (str(rng.choice(list("ABCDEFabcdef"))) for _ in range(3))
        reply = str(rng.choice(forms)).format(letter=letter, other=other, word=str(rng.choice(words)))
        truth = truth.upper()
        assert mmsi_score(reply, truth) == (_readme_function(reply, truth) or 0.0), reply


def test_a_row_without_the_column_is_scored_officially_and_an_unknown_rule_is_an_error():
    assert score(ROW, "b").value == 0.0 and score({**ROW, ANSWER_EXTRACTION: None}, "b").value == 0.0
    assert score({**ROW, ANSWER_EXTRACTION: "official"}, "b").value == 0.0
    with pytest.raises(UnknownAnswerExtraction, match=r"answer_extraction='lenient' is no MMSI-Bench rule \(known: official, widened\)"):
        score({**ROW, ANSWER_EXTRACTION: "lenient"}, "B")


@pytest.fixture(scope="module")
def mmsi_tasks(tmp_path_factory):
    """Our four MMSI-Bench tasks as lmms-eval builds them (its TaskManager, our YAMLs), each reading
    the fixture benchmark through a local override."""
    from lmms_eval.models import get_model  # noqa: F401  (loads the plugin's entry points, as the CLI does)
    from lmms_eval.tasks import TaskManager, get_task_dict

    from skill3d_eval.data import write_local_task
    from tests.fixtures.build import build_mmsibench

    root = tmp_path_factory.mktemp("mmsi")
    (root / "mmsibench").mkdir()
    source = build_mmsibench(root) / "test.parquet"
    names = ("mmsibench", "mmsibench_widened", "mmsibench_pr", "mmsibench_pr_widened")
    for name in names:
        write_local_task(name, source, root / "overrides")
    ours = TaskManager("ERROR")  # what `--tasks mmsibench_widened` finds without overrides
    return ours, get_task_dict(list(names), TaskManager("ERROR", include_path=str(root / "overrides")))


def test_the_widened_variants_are_lmms_eval_tasks_that_score_by_their_rule(mmsi_tasks):
    from skill3d_eval.settings import TASKS_DIR

    ours, tasks = mmsi_tasks
    for name in ("mmsibench_widened", "mmsibench_pr_widened"):
        assert ours.task_index[name]["yaml_path"].startswith(str(TASKS_DIR / "mmsibench")), name
    for name, task in tasks.items():
        docs = task.dataset["test"]
        assert len(docs) == (4 if "_pr" in name else 5), name  # the positional subset keeps 4 of 5 rows
        assert all(doc["options"] for doc in docs)
        assert task.config.lmms_eval_specific_kwargs["default"]["post_prompt"].endswith("Enclose the option's letter within ``.")
        rule = "widened" if name.endswith("_widened") else "official"
        assert {doc.get(ANSWER_EXTRACTION) or "official" for doc in docs} == {rule}, name
        doc = docs[0]  # answer B
        for reply, official, widened in (("the answer is b", 0.0, 1.0), ("`B`", 1.0, 1.0), ("E", 0.0, 0.0), ("It is b.", 0.0, 1.0)):
            item = task.process_results(doc, [reply])["mmsi_overall"]
            assert item["score"] == (widened if rule == "widened" else official), (name, reply)
            assert item["score"] == score(doc, reply).value  # the row carries its rule to every other scorer
