"""The tools the agent sees: one per expert plus scene-level geometric tools built on them."""

from skill3d_eval.tools.context import ToolContext
from skill3d_eval.tools.errors import ToolArgumentError, ToolError
from skill3d_eval.tools.perception import PERCEPTION_TOOLS
from skill3d_eval.tools.spatial import SPATIAL_TOOLS
from skill3d_eval.tools.spec import Tool, ToolSet


def default_toolset() -> ToolSet:
    return ToolSet([*PERCEPTION_TOOLS, *SPATIAL_TOOLS])


__all__ = ["Tool", "ToolArgumentError", "ToolContext", "ToolError", "ToolSet", "default_toolset"]
