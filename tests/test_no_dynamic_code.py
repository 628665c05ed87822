"""Tool arguments come from a model and are untrusted: nothing may evaluate text as code."""

import ast
from pathlib import Path

from skill3d_eval.settings import REPO_ROOT

FORBIDDEN = {"eval", "exec", "compile", "__import__"}
SOURCES = ["skill3d_eval", "experts_triton", "tasks", "train"]


def test_no_eval_or_exec_in_project_code():
    offenders = []
    for root in SOURCES:
        for path in sorted((REPO_ROOT / root).rglob("*.py")):
            tree = ast.parse(path.read_text(), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FORBIDDEN:
                    offenders.append(f"{path.relative_to(REPO_ROOT)}:{node.lineno} {node.func.id}()")
    assert offenders == []
    assert any(Path(REPO_ROOT / root).is_dir() for root in SOURCES)
