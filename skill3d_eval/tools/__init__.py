"""The tools the agent sees: one per expert, scene-level geometric tools built on them, and camera-relative ones."""

from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolArgumentError, ToolError
from skill3d_eval.tools.memory import SceneMemoryStore
from skill3d_eval.tools.perception import PERCEPTION_TOOLS, VIEW_TOOLS
from skill3d_eval.tools.spatial import SPATIAL_TOOLS
from skill3d_eval.tools.viewpoint import VIEWPOINT_TOOLS
from skill3d_eval.tools.spec import Tool, ToolSet


def default_toolset(*, views: bool = False) -> ToolSet:
    """`views`: also the tools whose result is mainly a picture (`render_view`), for a model that is sent images."""
    return ToolSet([*PERCEPTION_TOOLS, *SPATIAL_TOOLS, *VIEWPOINT_TOOLS, *(VIEW_TOOLS if views else [])])


__all__ = ["SceneMemoryStore", "Tool", "ToolArgumentError", "ToolContext", "ToolError", "ToolSet", "default_toolset"]
