"""Our `tasks/` directory on every lmms-eval TaskManager's search path, `lmms-eval tasks list` included.

lmms-eval 0.7.3 has a plugin point for models only: the entry-point group `lmms_eval.models`,
read when `lmms_eval.models` is imported. `lmms-eval --model skill3d --tasks ...` imports it
before building its TaskManager, so the plugin (`plugin.manifests`) extends the search path
there; `lmms-eval tasks list` never imports it. For that command the interpreter itself has to
take part: `skill3d_eval_tasks.pth` in site-packages (written by `make setup`, or by
`python -m skill3d_eval.lmms.task_search_path` after a plain `pip install`) calls `watch()` at
start-up, which puts one finder on `sys.meta_path` and imports nothing; when `lmms_eval.tasks`
is first imported, the finder extends its TaskManager the same way and steps aside.
"""

from __future__ import annotations

import sys
from importlib.machinery import ModuleSpec, PathFinder
from pathlib import Path
from types import ModuleType

# Imported at every interpreter start-up (through the .pth): only modules Python has loaded by then.

PTH_NAME = "skill3d_eval_tasks.pth"
PTH_LINE = "import skill3d_eval.lmms.task_search_path as search_path; search_path.watch()\n"
TASKS_MODULE = "lmms_eval.tasks"


def include_our_tasks(task_manager: type) -> None:
    """Append our tasks directory to the paths `task_manager.initialize_tasks` indexes (once)."""
    from skill3d_eval.settings import TASKS_DIR

    original = task_manager.initialize_tasks
    if getattr(original, "_skill3d_tasks", False):
        return

    def initialize_tasks(self: object, include_path: str | list[str] | None = None, include_defaults: bool = True) -> object:
        paths = [include_path] if isinstance(include_path, str) else list(include_path or [])
        if str(TASKS_DIR) not in paths:
            paths.append(str(TASKS_DIR))
        return original(self, include_path=paths, include_defaults=include_defaults)

    initialize_tasks._skill3d_tasks = True  # type: ignore[attr-defined]
    task_manager.initialize_tasks = initialize_tasks


class _ThenIncludeOurTasks:
    """The loader of `lmms_eval.tasks`, followed by `include_our_tasks` on the module it ran."""

    def __init__(self, loader: object):
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.loader.exec_module(module)
        include_our_tasks(module.TaskManager)

    def __getattr__(self, name: str) -> object:  # get_source, get_filename, ... for tracebacks and inspect
        return getattr(self.loader, name)


class _TasksModuleFinder:
    def find_spec(self, name: str, path: object, target: ModuleType | None = None) -> ModuleSpec | None:
        if name != TASKS_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenIncludeOurTasks(spec.loader)
        return spec


def watch() -> None:
    """Extend lmms-eval's TaskManager when `lmms_eval.tasks` is imported (now, if it already was)."""
    if TASKS_MODULE in sys.modules:
        include_our_tasks(sys.modules[TASKS_MODULE].TaskManager)
    elif not any(isinstance(finder, _TasksModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, _TasksModuleFinder())


def install_pth(site_packages: Path | None = None) -> Path:
    """Write `skill3d_eval_tasks.pth` into this interpreter's site-packages (or `site_packages`)."""
    import sysconfig

    target = Path(site_packages or sysconfig.get_paths()["purelib"]) / PTH_NAME
    target.write_text(PTH_LINE)
    return target


if __name__ == "__main__":
    print(f"{install_pth()}: `lmms-eval tasks list` now lists skill3d_eval's tasks")
