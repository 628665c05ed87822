"""The tools the agent sees: one per expert, scene-level geometric tools built on them, and camera-relative ones."""

from collections.abc import Sequence

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


def offered_tools(names: Sequence[str] | None = None, *, views: bool = False) -> ToolSet:
    """The tools a model is offered: all of `default_toolset(views=...)`, or only `names`, in that
    order. A compact agent is trained with a few tools; evaluation, export and GRPO must offer it
    the same schemas, so all three select them here. Unknown names are a ValueError naming them."""
    tools = default_toolset(views=views)
    if names is None:
        return tools
    unknown = [name for name in names if name not in tools.tools]
    if unknown:
        raise ValueError(f"unknown tools {unknown} (known: {', '.join(sorted(tools.tools))})")
    return ToolSet([tools.tools[name] for name in names])


__all__ = ["SceneMemoryStore", "Tool", "ToolArgumentError", "ToolContext", "ToolError", "ToolSet", "default_toolset", "offered_tools"]
