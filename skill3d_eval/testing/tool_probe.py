"""Call every tool the agent sees, once, through the real tool layer, and say which ones worked.

A backend that serves but rejects what the tools actually send (a text prompt to a box-only
model, a crop too small, a box at the border) breaks the agent only at run time, one tool at a
time. The probe calls each tool of a `ToolSet` through `ToolSet.call` — argument validation,
the tool's own code, the experts client — on one sample, plus the awkward request shapes the
tools can produce, and records each observation's outcome.

What counts as ok: only an observation with `ok=True`. A rejected expert request
(`failure == "expert_error"`) is the defect the probe exists to find; a tool error such as
"no 'chair' found in any image" counts as a failure too, since the experts' answers could not
support the tool. Random tiny weights find things only when the detector keeps low-scoring boxes,
so tiny detectors are served with `box_threshold` 0 (`TINY_DETECTION_PARAMETERS`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from skill3d_eval.experts import Experts
from skill3d_eval.records import Observation, ObservationFailure, Sample
from skill3d_eval.synth.catalogue import CATEGORIES
from skill3d_eval.tools import ToolContext, ToolSet, default_toolset

# config parameters of a tiny random Grounding DINO export: keep every box, whatever its score
TINY_DETECTION_PARAMETERS = {"box_threshold": "0"}
SMALL_CROP_PX = (5, 3)  # width, height of the smallest crop probed: the size of a distant object


@dataclass(frozen=True)
class ToolProbe:
    """One probing call: which tool, which case of it, what was sent and how it ended."""

    tool: str
    case: str
    arguments: dict[str, Any]
    ok: bool
    failure: ObservationFailure | None
    error: str | None
    seconds: float


def sample_categories(sample: Sample) -> list[str]:
    """spatial_synth categories the sample's question or options name (they are in the scene),
    then the rest of the catalogue, so every multi-object tool gets distinct names."""
    text = " ".join([sample.question, *sample.options]).lower()
    named = [c.name for c in CATEGORIES if re.search(rf"\b{re.escape(c.name)}", text)]
    return named + [c.name for c in CATEGORIES if c.name not in named]


def probe_tools(
    experts: Experts, sample: Sample, *, toolset: ToolSet | None = None, categories: Sequence[str] | None = None
) -> list[ToolProbe]:
    """Every tool of `toolset` (default: `default_toolset()`) called on `sample` with sensible
    arguments — `categories` (default `sample_categories`) name objects, the boxes come from the
    `detect_objects` call — then `super_resolve` of a 5×3 px crop and `estimate_orientation` of a
    box touching the frame's corner. A tool the probe has no arguments for is a `ValueError`:
    a new tool must not go unprobed."""
    toolset = toolset or default_toolset()
    names = list(categories or sample_categories(sample))
    if len(names) < 4:
        raise ValueError(f"probe_tools needs at least 4 distinct categories (plan_route names four objects), got {names}")
    if not sample.frames:
        raise ValueError(f"probe_tools: sample {sample.sample_id} has no frames")
    context = ToolContext(sample, experts)
    height, width = sample.frames[0].shape[:2]
    results: list[ToolProbe] = []

    def call(tool: str, case: str, arguments: dict[str, Any]) -> Observation:
        observation = toolset.call(context, tool, arguments, f"probe-{len(results)}")
        results.append(ToolProbe(tool, case, arguments, observation.ok, observation.failure, observation.error, observation.seconds))
        return observation

    detected = call("detect_objects", "scene categories", {"image": 0, "categories": names[:8]}) if "detect_objects" in toolset.tools else None
    box = _best_box(detected) or [width / 4, height / 4, 3 * width / 4, 3 * height / 4]
    a, b, c, d = names[:4]
    recipes: dict[str, Callable[[], dict[str, Any]]] = {
        "estimate_depth": lambda: {"image": 0, "points": [[width // 2, height // 2], [0, 0], [width - 1, height - 1]]},
        "segment_objects": lambda: {"image": 0, "prompt": a},
        "reconstruct_cameras": dict,
        "estimate_orientation": lambda: {"image": 0, "box": box},
        "super_resolve": lambda: {"image": 0, "box": box},
        "locate_objects": lambda: {"category": a},
        "measure_distance": lambda: {"object_a": a, "object_b": b},
        "measure_room": dict,
        "compare_distances": lambda: {"reference": a, "candidates": [b, c]},
        "first_appearance": lambda: {"categories": [a, b, c]},
        "relative_direction": lambda: {"position": a, "facing": b, "query": c},
        "plan_route": lambda: {"start": a, "facing": b, "waypoint": c, "goal": d},
        "object_depths": lambda: {"image": 0, "categories": [a, b]},
        "camera_motion": lambda: {"from_image": 0, "to_image": len(sample.frames) - 1},
        "relative_quadrant": lambda: {"reference_image": 0, "target_object": a},
        "render_view": lambda: {"azimuth_deg": 30.0, "elevation_deg": 20.0},
    }
    missing = [name for name in toolset.tools if name not in recipes and name != "detect_objects"]
    if missing:
        raise ValueError(f"probe_tools has no arguments for tool(s) {missing}: add a recipe in skill3d_eval/testing/tool_probe.py")
    for name in toolset.tools:
        if name != "detect_objects":
            call(name, "sensible arguments", recipes[name]())
    crop_w, crop_h = SMALL_CROP_PX
    if "super_resolve" in toolset.tools:
        call("super_resolve", f"{crop_w}x{crop_h} px crop", {"image": 0, "box": [width // 2, height // 2, width // 2 + crop_w, height // 2 + crop_h]})
    if "estimate_orientation" in toolset.tools:
        call("estimate_orientation", "box at the frame's corner", {"image": 0, "box": [width - 20, height - 12, width, height]})
    return results


def ok_fraction(results: Sequence[ToolProbe]) -> float:
    """Share of probing calls that produced an observation (1.0: every tool works)."""
    return sum(result.ok for result in results) / len(results) if results else 0.0


def _best_box(detected: Observation | None) -> list[float] | None:
    """The best-scoring detected box of image 0 at least 2 px each way, as the agent reads it from detect_objects."""
    if detected is None or not detected.ok:
        return None
    boxes = [box for entry in detected.content["detections"] for box in entry["boxes"]]
    usable = [box for box in boxes if box["box_xyxy"][2] - box["box_xyxy"][0] >= 2 and box["box_xyxy"][3] - box["box_xyxy"][1] >= 2]
    return max(usable, key=lambda box: box["score"])["box_xyxy"] if usable else None
