"""How the spatial_synth task itself scores a reply, for tests that must agree with it."""

from types import ModuleType


def task_score(utils: ModuleType, doc: dict, reply: str) -> float:
    return utils.process_results(doc, [reply])["spatial_synth_overall"]["score"]
