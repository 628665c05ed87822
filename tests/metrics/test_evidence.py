"""Each question type's evidence rule on trajectories whose tool results are known: the right
evidence with the answer it implies counts; the wrong objects, an answer the evidence
contradicts, and a constant answer after an unrelated call do not."""

from __future__ import annotations

import pytest

from skill3d_eval.metrics import EVIDENCE_RULES, compute_run_metrics, evidence_calls, used_tool_evidence
from skill3d_eval.records import Observation, ToolCall, Trajectory, Turn

COUNTING = "These are frames of a video of an indoor scene.\nHow many chair(s) are in this room?\nPlease answer the question using a single word or phrase."
CENTRES = "Measuring between the centers of the two objects, what is the direct distance between the sofa and the tv (in meters)?"
CLOSEST = "Measuring from the closest point of each object, what is the direct distance between the sofa and the tv (in meters)?"
SIZE = "What is the length of the longest dimension (length, width, or height) of the bed, measured in centimeters?"
ROOM = "What is the size of this room (in square meters)? If multiple rooms are shown, estimate the size of the combined space."
REL_DISTANCE = "Measuring from the closest point of each object, which of these objects (lamp, sofa, desk) is the closest to the bed?"
EASY = "If I am standing by the bed and facing the tv, is the lamp to the left or the right of the tv?"
MEDIUM = "If I am standing by the bed and facing the tv, is the lamp to my left, right, or back? An object is to my back if I would have to turn at least 135 degrees in order to face it."
HARD = "If I am standing by the bed and facing the tv, is the lamp to my front-left, front-right, back-left, or back-right? The directions refer to the quadrants of a Cartesian plane (if I am standing at the origin and facing along the positive y-axis)."
ROUTE = (
    "You are a robot beginning at the bed facing the tv. You want to navigate to the sofa. You will perform the following actions "
    "(Note: for each [please fill in], choose either 'turn back,' 'turn left,' or 'turn right.'): 1. [please fill in] 2. Go forward "
    "until the lamp 3. [please fill in] 4. Go forward until the sofa. You have reached the final destination."
)
APPEARANCE = "What will be the first-time appearance order of the following categories in the video: tv, bed, lamp?"
CV_DEPTH = "Note: You only need to respond with A, B without providing any additional information.\nWhich object is closer to the camera taking this photo, the lamp or the chair? Select from the following choices.\n(A) lamp\n(B) chair"
CV_DISTANCE = "Estimate the real-world distances between objects in this image. Which object is closer to the bed, the lamp or the chair? Select from the following choices.\n(A) lamp\n(B) chair"
BLINK = "The first image is from the beginning of the video and the second image is from the end. Is the camera moving left or right when shooting the video?"
QUADRANTS = ["A: front-left", "B: front-right", "C: back-left", "D: back-right"]
CAM_CAM = "The two images are taken in the same room. Taking the camera of the first image as the reference, facing its viewing direction, where is the camera of the second image?"
CAM_OBJ = "The lamp is visible in the first image. Taking the camera of the second image as the reference, facing its viewing direction, where is the lamp?"
OBJ_OBJ = "Standing at the bed and facing the viewing direction of the camera of the first image, where is the lamp?"


def result(call_id: str, name: str, arguments: dict, content: dict, *, ok: bool = True) -> tuple[ToolCall, Observation]:
    observation = Observation(tool_call_id=call_id, name=name, ok=ok, content=content if ok else {}, error=None if ok else "failed", failure=None if ok else "tool_error")
    return ToolCall(id=call_id, name=name, arguments=arguments), observation


def trajectory(task_type: str | None, question: str, answer: str, calls=(), *, options=(), stop_reason: str = "answer") -> Trajectory:
    turns = [Turn(index=i, tool_calls=[c], observations=[o]) for i, (c, o) in enumerate(calls)]
    return Trajectory(task="t", doc_id=0, sample_id="t/test/0", question=question, task_type=task_type, scene=None, policy="llm",
                      options=list(options), turns=turns, answer=answer, stop_reason=stop_reason)


def locate(call_id: str, category: str, *instances: tuple[list[float], list[float]]) -> tuple[ToolCall, Observation]:
    content = {"category": category, "count": len(instances), "instances": [{"center_m": c, "size_m": s, "seen_in_images": [0]} for c, s in instances]}
    return result(call_id, "locate_objects", {"category": category}, content)


def depth(call_id: str, image: int, *samples: tuple[list[float], float, list[float]]) -> tuple[ToolCall, Observation]:
    points = [{"pixel": p, "depth_m": d, "xyz_camera_m": xyz} for p, d, xyz in samples]
    return result(call_id, "estimate_depth", {"image": image, "points": [p for p, _, _ in samples]}, {"image": image, "depth_m": {"min": 0.5, "median": 3.0, "max": 9.0}, "points": points})


def segment(call_id: str, image: int, prompt: str, *boxes: list[float]) -> tuple[ToolCall, Observation]:
    return result(call_id, "segment_objects", {"image": image, "prompt": prompt}, {"image": image, "prompt": prompt, "count": len(boxes), "instances": [{"box_xyxy": b, "score": 0.9, "area_px": 10} for b in boxes]})


def detect(call_id: str, image: int, found: dict[str, list[list[float]]]) -> tuple[ToolCall, Observation]:
    detections = [{"category": c, "count": len(bs), "boxes": [{"box_xyxy": b, "score": 0.9} for b in bs]} for c, bs in found.items()]
    return result(call_id, "detect_objects", {"image": image, "categories": list(found)}, {"image": image, "detections": detections})


def reconstruct(call_id: str, *poses: tuple[list[float], list[float]]) -> tuple[ToolCall, Observation]:
    return result(call_id, "reconstruct_cameras", {}, {"frame": "camera of image 0", "cameras": [{"image": i, "position_m": p, "forward": f} for i, (p, f) in enumerate(poses)]})


def measure(call_id: str, a: str, b: str, centre: float, closest: float) -> tuple[ToolCall, Observation]:
    return result(call_id, "measure_distance", {"object_a": a, "object_b": b},
                  {"object_a": a, "object_b": b, "closest_point_distance_m": closest, "center_distance_m": centre, "center_a_m": [3.0, 0.0, 0.5], "center_b_m": [0.0, 0.0, 0.5]})


def compare(call_id: str, reference: str, closest: dict[str, float], centres: dict[str, float] | None = None) -> tuple[ToolCall, Observation]:
    return result(call_id, "compare_distances", {"reference": reference, "candidates": list(closest)},
                  {"reference": reference, "closest_point_distance_m": closest, "center_distance_m": centres or closest})


def direction(call_id: str, position: str, facing: str, query: str, angle: float) -> tuple[ToolCall, Observation]:
    side = "left" if angle > 0 else "right"
    labels = {"angle_deg": angle, "left_right": side, "left_right_back": "back" if abs(angle) >= 135 else side,
              "quadrant": f"{'front' if abs(angle) < 90 else 'back'}-{side}"}
    return result(call_id, "relative_direction", {"position": position, "facing": facing, "query": query}, labels)


def route(call_id: str, start: str, facing: str, waypoint: str, goal: str, turns: str) -> tuple[ToolCall, Observation]:
    return result(call_id, "plan_route", {"start": start, "facing": facing, "waypoint": waypoint, "goal": goal}, {"first_turn_deg": 80.0, "second_turn_deg": -70.0, "turns": turns})


def appearance(call_id: str, first: dict[str, int]) -> tuple[ToolCall, Observation]:
    return result(call_id, "first_appearance", {"categories": list(first)}, {"first_image": first, "order": sorted(first, key=first.get)})


def object_depths(call_id: str, image: int, centres: dict[str, float]) -> tuple[ToolCall, Observation]:
    return result(call_id, "object_depths", {"image": image, "categories": list(centres)},
                  {"image": image, "center_depth_m": centres, "nearest_depth_m": {k: v - 0.3 for k, v in centres.items()}, "instances_found": dict.fromkeys(centres, 1)})


def motion(call_id: str, right: float, from_image: int = 0, to_image: int = 1) -> tuple[ToolCall, Observation]:
    content = {"from_image": from_image, "to_image": to_image, "right_m": right, "forward_m": 0.1, "up_m": 0.0, "turn_left_deg": 5.0, "direction": "left" if right < 0 else "right"}
    return result(call_id, "camera_motion", {"from_image": from_image, "to_image": to_image}, content)


def quadrant(call_id: str, quadrant_name: str, **arguments) -> tuple[ToolCall, Observation]:
    return result(call_id, "relative_quadrant", arguments, {"angle_deg": 0.0, "quadrant": quadrant_name, "floor_distance_m": 1.0, "instances_found": {}})


UNRELATED = depth("x", 3)  # an arbitrary call: its result holds the number 3 (the image index) and nothing else of use
CHAIRS = locate("c", "chair", ([0.0, 1.0, 0.4], [0.5, 0.5, 0.9]), ([1.0, 1.0, 0.4], [0.5, 0.5, 0.9]))
LAMPS = locate("l", "lamp", ([1.0, 0.0, 0.8], [0.3, 0.3, 1.6]), ([2.0, 0.0, 0.8], [0.3, 0.3, 1.6]), ([3.0, 0.0, 0.8], [0.3, 0.3, 1.6]))
DIRECTION_OPTIONS = {"object_rel_direction_easy": ["A. left", "B. right"], "object_rel_direction_medium": ["A. left", "B. right", "C. back"],
                     "object_rel_direction_hard": ["A. front-left", "B. front-right", "C. back-left", "D. back-right"]}
ROUTE_OPTIONS = ["A. Turn Right, Turn Left", "B. Turn Left, Turn Right", "C. Turn Back, Turn Left", "D. Turn Left, Turn Left"]
ORDER_OPTIONS = ["A. bed, tv, lamp", "B. tv, bed, lamp", "C. lamp, tv, bed", "D. tv, lamp, bed"]
LAMP_BOX, CHAIR_BOX, BED_BOX = [10.0, 10.0, 50.0, 50.0], [60.0, 10.0, 100.0, 50.0], [110.0, 10.0, 150.0, 50.0]


def sampled(image: int, *objects: tuple[str, list[float], float, list[float]]) -> list:
    """Segmentations of the named objects in one image and one depth sample inside each box."""
    calls = [segment(f"s{image}{name}", image, name, box) for name, box, _, _ in objects]
    return [*calls, depth(f"d{image}", image, *[([box[0] + 5, box[1] + 5], d, xyz) for _, box, d, xyz in objects])]


CASES = [
    # (id, task_type, question, options, answer, calls, expected supporting calls)
    ("count: located", "object_counting", COUNTING, [], "2", [UNRELATED, CHAIRS], ["c"]),
    ("count: wrong category", "object_counting", COUNTING, [], "3", [LAMPS], []),
    ("count: contradicted", "object_counting", COUNTING, [], "3", [CHAIRS], []),
    ("count: constant after unrelated call", "object_counting", COUNTING, [], "3", [UNRELATED], []),
    ("count: failed call", "object_counting", COUNTING, [], "2", [result("c", "locate_objects", {"category": "chair"}, {}, ok=False)], []),
    ("count: most seen in one image", "object_counting", COUNTING, [], "2",
     [segment("s0", 0, "chair", LAMP_BOX), segment("s1", 1, "chairs", LAMP_BOX, CHAIR_BOX)], ["s1"]),
    ("count: a per-image count below the most seen", "object_counting", COUNTING, [], "1",
     [segment("s0", 0, "chair", LAMP_BOX), segment("s1", 1, "chair", LAMP_BOX, CHAIR_BOX)], []),
    ("count: detect_objects per category", "object_counting", COUNTING, [], "2", [detect("d", 0, {"lamp": [LAMP_BOX], "chair": [LAMP_BOX, CHAIR_BOX]})], ["d"]),
    ("centres: measured", "object_abs_distance", CENTRES, [], "3.4", [measure("m", "tv", "sofa", 3.412, 2.1)], ["m"]),
    ("centres: within 5%", "object_abs_distance", CENTRES, [], "3.5", [measure("m", "tv", "sofa", 3.412, 2.1)], ["m"]),
    ("centres: more than 5% off", "object_abs_distance", CENTRES, [], "3.6", [measure("m", "tv", "sofa", 3.412, 2.1)], []),
    ("centres: the closest-point value is not what is asked", "object_abs_distance", CENTRES, [], "2.1", [measure("m", "tv", "sofa", 3.412, 2.1)], []),
    ("centres: from two located centres", "object_abs_distance", CENTRES, [], "5", [locate("a", "sofa", ([0.0, 0.0, 0.4], [2, 1, 0.8])), locate("b", "tv", ([3.0, 4.0, 1.0], [1, 0.1, 0.6]))], ["a", "b"]),
    ("centres: a category located twice has no one centre", "object_abs_distance", CENTRES, [], "5",
     [locate("a", "sofa", ([0.0, 0.0, 0.4], [2, 1, 0.8])), locate("b", "tv", ([3.0, 4.0, 1.0], [1, 0.1, 0.6]), ([9.0, 9.0, 1.0], [1, 0.1, 0.6]))], []),
    ("closest: measured", "object_abs_distance", CLOSEST, [], "2.1", [measure("m", "sofa", "tv", 3.412, 2.1)], ["m"]),
    ("closest: compared", "object_abs_distance", CLOSEST, [], "2.1", [compare("m", "tv", {"sofa": 2.1, "bed": 1.0})], ["m"]),
    ("closest: other objects measured", "object_abs_distance", CLOSEST, [], "2.1", [measure("m", "sofa", "bed", 3.412, 2.1)], []),
    ("closest: constant after unrelated call", "object_abs_distance", CLOSEST, [], "3", [UNRELATED], []),
    ("size: the longest side in cm", "object_size_estimation", SIZE, [], "201", [locate("b", "bed", ([0, 0, 0.3], [2.01, 1.6, 0.55]))], ["b"]),
    ("size: metres are not centimetres", "object_size_estimation", SIZE, [], "2", [locate("b", "bed", ([0, 0, 0.3], [2.01, 1.6, 0.55]))], []),
    ("size: another object", "object_size_estimation", SIZE, [], "90", [CHAIRS], []),
    ("room: floor area", "room_size_estimation", ROOM, [], "23.5", [result("r", "measure_room", {}, {"floor_area_m2": 23.482, "extent_m": [5.1, 4.6, 2.7]})], ["r"]),
    ("room: an extent is not the area", "room_size_estimation", ROOM, [], "5.1", [result("r", "measure_room", {}, {"floor_area_m2": 23.482, "extent_m": [5.1, 4.6, 2.7]})], []),
    ("room: constant after unrelated call", "room_size_estimation", ROOM, [], "3", [UNRELATED], []),
    ("rel distance: nearest by closest points", "object_rel_distance", REL_DISTANCE, ["A. lamp", "B. sofa", "C. desk"], "B",
     [compare("c", "bed", {"lamp": 1.5, "sofa": 0.4, "desk": 2.0}, {"lamp": 1.0, "sofa": 2.5, "desk": 3.0})], ["c"]),
    ("rel distance: the centre-nearest is not asked", "object_rel_distance", REL_DISTANCE, ["A. lamp", "B. sofa", "C. desk"], "A",
     [compare("c", "bed", {"lamp": 1.5, "sofa": 0.4, "desk": 2.0}, {"lamp": 1.0, "sofa": 2.5, "desk": 3.0})], []),
    ("rel distance: an option never measured", "object_rel_distance", REL_DISTANCE, ["A. lamp", "B. sofa", "C. desk"], "B",
     [compare("c", "bed", {"lamp": 1.5, "sofa": 0.4})], []),
    ("rel distance: measured pair by pair", "object_rel_distance", REL_DISTANCE, ["A. lamp", "B. sofa", "C. desk"], "C",
     [measure("1", "bed", "lamp", 2.0, 1.5), measure("2", "sofa", "bed", 2.0, 0.9), measure("3", "bed", "desk", 2.0, 0.2)], ["1", "2", "3"]),
    ("rel distance: from another reference", "object_rel_distance", REL_DISTANCE, ["A. lamp", "B. sofa", "C. desk"], "B",
     [compare("c", "tv", {"lamp": 1.5, "sofa": 0.4, "desk": 2.0})], []),
    ("rel distance: constant after unrelated call", "object_rel_distance", REL_DISTANCE, ["A. lamp", "B. sofa", "C. desk"], "A", [UNRELATED], []),
    ("easy: left", "object_rel_direction_easy", EASY, DIRECTION_OPTIONS["object_rel_direction_easy"], "A", [direction("r", "bed", "tv", "lamp", 40.0)], ["r"]),
    ("easy: contradicted", "object_rel_direction_easy", EASY, DIRECTION_OPTIONS["object_rel_direction_easy"], "B", [direction("r", "bed", "tv", "lamp", 40.0)], []),
    ("easy: roles swapped", "object_rel_direction_easy", EASY, DIRECTION_OPTIONS["object_rel_direction_easy"], "A", [direction("r", "tv", "bed", "lamp", 40.0)], []),
    ("medium: back", "object_rel_direction_medium", MEDIUM, DIRECTION_OPTIONS["object_rel_direction_medium"], "C", [direction("r", "bed", "tv", "lamp", -150.0)], ["r"]),
    ("medium: the easy label is not the medium one", "object_rel_direction_medium", MEDIUM, DIRECTION_OPTIONS["object_rel_direction_medium"], "B", [direction("r", "bed", "tv", "lamp", -150.0)], []),
    ("hard: quadrant", "object_rel_direction_hard", HARD, DIRECTION_OPTIONS["object_rel_direction_hard"], "D", [direction("r", "bed", "tv", "lamp", -100.0)], ["r"]),
    ("hard: constant after unrelated call", "object_rel_direction_hard", HARD, DIRECTION_OPTIONS["object_rel_direction_hard"], "A", [UNRELATED], []),
    ("route: planned", "route_planning", ROUTE, ROUTE_OPTIONS, "B", [route("p", "bed", "tv", "lamp", "sofa", "Turn Left, Turn Right")], ["p"]),
    ("route: contradicted", "route_planning", ROUTE, ROUTE_OPTIONS, "A", [route("p", "bed", "tv", "lamp", "sofa", "Turn Left, Turn Right")], []),
    ("route: another waypoint", "route_planning", ROUTE, ROUTE_OPTIONS, "B", [route("p", "bed", "tv", "desk", "sofa", "Turn Left, Turn Right")], []),
    ("order: first appearances", "obj_appearance_order", APPEARANCE, ORDER_OPTIONS, "B", [appearance("f", {"tv": 0, "bed": 2, "lamp": 5})], ["f"]),
    ("order: contradicted", "obj_appearance_order", APPEARANCE, ORDER_OPTIONS, "A", [appearance("f", {"tv": 0, "bed": 2, "lamp": 5})], []),
    ("order: a tie decides nothing", "obj_appearance_order", APPEARANCE, ORDER_OPTIONS, "B", [appearance("f", {"tv": 2, "bed": 2, "lamp": 5})], []),
    ("order: detections from the first image on", "obj_appearance_order", APPEARANCE, ORDER_OPTIONS, "D",
     [detect("0", 0, {"tv": [LAMP_BOX], "bed": [], "lamp": []}), detect("1", 1, {"tv": [LAMP_BOX], "bed": [], "lamp": [CHAIR_BOX]}),
      detect("2", 2, {"tv": [], "bed": [BED_BOX], "lamp": []})], ["0", "1", "2"]),
    ("order: detections that skip an image", "obj_appearance_order", APPEARANCE, ORDER_OPTIONS, "D",
     [detect("0", 0, {"tv": [LAMP_BOX], "bed": [], "lamp": []}), detect("2", 2, {"tv": [], "bed": [BED_BOX], "lamp": [CHAIR_BOX]})], []),
    ("cv depth: nearer object", "Depth", CV_DEPTH, ["lamp", "chair"], "B", sampled(0, ("lamp", LAMP_BOX, 4.0, [0, 0, 4.0]), ("chair", CHAIR_BOX, 2.0, [1, 0, 2.0])), ["s0lamp", "d0", "s0chair"]),
    ("cv depth: contradicted", "Depth", CV_DEPTH, ["lamp", "chair"], "A", sampled(0, ("lamp", LAMP_BOX, 4.0, [0, 0, 4.0]), ("chair", CHAIR_BOX, 2.0, [1, 0, 2.0])), []),
    ("cv depth: depth never sampled inside a box", "Depth", CV_DEPTH, ["lamp", "chair"], "B",
     [segment("s", 0, "lamp", LAMP_BOX), segment("t", 0, "chair", CHAIR_BOX), depth("d", 0, ([200, 100], 2.0, [0, 0, 2.0]))], []),
    ("cv depth: another object sampled", "Depth", CV_DEPTH, ["lamp", "chair"], "B", sampled(0, ("lamp", LAMP_BOX, 4.0, [0, 0, 4.0]), ("bed", CHAIR_BOX, 2.0, [1, 0, 2.0])), []),
    ("cv depth: constant after unrelated call", "Depth", CV_DEPTH, ["lamp", "chair"], "A", [depth("x", 0)], []),
    ("cv depth: centre depths measured", "Depth", CV_DEPTH, ["lamp", "chair"], "B", [object_depths("o", 0, {"lamp": 4.0, "chair": 2.0})], ["o"]),
    ("cv depth: centre depths contradict", "Depth", CV_DEPTH, ["lamp", "chair"], "A", [object_depths("o", 0, {"lamp": 4.0, "chair": 2.0})], []),
    ("cv depth: an option not measured", "Depth", CV_DEPTH, ["lamp", "chair"], "B", [object_depths("o", 0, {"bed": 4.0, "chair": 2.0})], []),
    ("cv distance: from depth samples", "Distance", CV_DISTANCE, ["lamp", "chair"], "A",
     sampled(0, ("bed", BED_BOX, 3.0, [0, 0, 3.0]), ("lamp", LAMP_BOX, 3.5, [0.5, 0, 3.5]), ("chair", CHAIR_BOX, 2.0, [-2, 0, 2.0])), ["s0bed", "d0", "s0lamp", "s0chair"]),
    ("cv distance: measured", "Distance", CV_DISTANCE, ["lamp", "chair"], "B", [compare("c", "bed", {"lamp": 2.0, "chair": 0.5}, {"lamp": 2.0, "chair": 1.5})], ["c"]),
    ("cv distance: contradicted", "Distance", CV_DISTANCE, ["lamp", "chair"], "A", [compare("c", "bed", {"lamp": 2.0, "chair": 0.5}, {"lamp": 2.0, "chair": 1.5})], []),
    ("blink: moving left", "Multi-view_Reasoning", BLINK, ["left", "right"], "A", [reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([-0.6, 0.0, 0.1], [0.2, 0, 1]))], ["r"]),
    ("blink: contradicted", "Multi-view_Reasoning", BLINK, ["left", "right"], "B", [reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([-0.6, 0.0, 0.1], [0.2, 0, 1]))], []),
    ("blink: constant after unrelated call", "Multi-view_Reasoning", BLINK, ["left", "right"], "A", [depth("x", 1)], []),
    ("blink: camera motion", "Multi-view_Reasoning", BLINK, ["left", "right"], "A", [motion("m", -0.6)], ["m"]),
    ("blink: camera motion contradicts", "Multi-view_Reasoning", BLINK, ["left", "right"], "B", [motion("m", -0.6)], []),
    ("blink: camera motion between other images", "Multi-view_Reasoning", BLINK, ["left", "right"], "B", [motion("m", 0.6, 1, 0)], []),
    ("mmsi cam-cam: quadrant", "Positional Relationship (Cam.-Cam.)", CAM_CAM, QUADRANTS, "B", [reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([1.0, 0.1, 2.0], [0, 0, 1]))], ["r"]),
    ("mmsi cam-cam: en dash in the type", "Positional Relationship (Cam.\u2013Cam.)", CAM_CAM, QUADRANTS, "B", [reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([1.0, 0.1, 2.0], [0, 0, 1]))], ["r"]),
    ("mmsi cam-cam: contradicted", "Positional Relationship (Cam.-Cam.)", CAM_CAM, QUADRANTS, "A", [reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([1.0, 0.1, 2.0], [0, 0, 1]))], []),
    ("mmsi cam-cam: relative quadrant", "Positional Relationship (Cam.-Cam.)", CAM_CAM, QUADRANTS, "C", [quadrant("q", "back-left", reference_image=0, target_image=1)], ["q"]),
    ("mmsi cam-cam: relative quadrant of the other camera", "Positional Relationship (Cam.-Cam.)", CAM_CAM, QUADRANTS, "C", [quadrant("q", "back-left", reference_image=1, target_image=0)], []),
    ("mmsi cam-obj: relative quadrant", "Positional Relationship (Cam.-Obj.)", CAM_OBJ, QUADRANTS, "B", [quadrant("q", "front-right", reference_image=1, target_object="lamp")], ["q"]),
    ("mmsi cam-obj: relative quadrant from the first camera", "Positional Relationship (Cam.-Obj.)", CAM_OBJ, QUADRANTS, "B", [quadrant("q", "front-right", reference_image=0, target_object="lamp")], []),
    ("mmsi obj-obj: relative quadrant", "Positional Relationship (Obj.-Obj.)", OBJ_OBJ, QUADRANTS, "D",
     [quadrant("q", "back-right", reference_image=0, standing_at="bed", target_object="lamp")], ["q"]),
    ("mmsi obj-obj: relative quadrant, roles swapped", "Positional Relationship (Obj.-Obj.)", OBJ_OBJ, QUADRANTS, "D",
     [quadrant("q", "back-right", reference_image=0, standing_at="lamp", target_object="bed")], []),
    ("mmsi cam-obj: seen by the second camera", "Positional Relationship (Cam.-Obj.)", CAM_OBJ, QUADRANTS, "A", sampled(1, ("lamp", LAMP_BOX, 3.0, [-1.0, 0, 3.0])), ["s1lamp", "d1"]),
    ("mmsi cam-obj: first image and the second camera's pose", "Positional Relationship (Cam.-Obj.)", CAM_OBJ, QUADRANTS, "D",
     [*sampled(0, ("lamp", LAMP_BOX, 2.0, [-1.0, 0, 2.0])), reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([0.0, 0.0, 4.0], [1.0, 0, 0.0]))], ["s0lamp", "d0", "r"]),
    ("mmsi cam-obj: another object", "Positional Relationship (Cam.-Obj.)", CAM_OBJ, QUADRANTS, "A", sampled(1, ("chair", LAMP_BOX, 3.0, [-1.0, 0, 3.0])), []),
    ("mmsi obj-obj: located", "Positional Relationship (Obj.-Obj.)", OBJ_OBJ, QUADRANTS, "C",
     [locate("b", "bed", ([2.0, 3.0, 0.3], [2, 1.6, 0.6])), locate("l", "lamp", ([1.0, 1.0, 0.8], [0.3, 0.3, 1.6]))], ["b", "l"]),
    ("mmsi obj-obj: roles swapped", "Positional Relationship (Obj.-Obj.)", OBJ_OBJ, QUADRANTS, "B",
     [locate("b", "bed", ([2.0, 3.0, 0.3], [2, 1.6, 0.6])), locate("l", "lamp", ([1.0, 1.0, 0.8], [0.3, 0.3, 1.6]))], []),
    ("mmsi obj-obj: from depth samples", "Positional Relationship (Obj.-Obj.)", OBJ_OBJ, QUADRANTS, "B",
     sampled(0, ("bed", BED_BOX, 2.0, [0.0, 0, 2.0]), ("lamp", LAMP_BOX, 4.0, [1.0, 0, 4.0])), ["s0bed", "d0", "s0lamp"]),
]


@pytest.mark.parametrize(("task_type", "question", "options", "answer", "calls", "expected"), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_evidence_rule(task_type, question, options, answer, calls, expected):
    t = trajectory(task_type, question, answer, calls, options=options)
    assert evidence_calls(t) == expected
    assert used_tool_evidence(t) is bool(expected)


def test_every_rule_is_exercised():
    assert {case[1].replace("\u2013", "-") for case in CASES} == set(EVIDENCE_RULES)


@pytest.mark.parametrize(
    "t",
    [
        trajectory(None, COUNTING, "2", [CHAIRS]),  # no question type: no rule applies
        trajectory("Positional Relationship (Cam.-Reg.)", CAM_CAM, "B", [reconstruct("r", ([0, 0, 0], [0, 0, 1]), ([1.0, 0.1, 2.0], [0, 0, 1]))], options=QUADRANTS),  # no rule defined
        trajectory("object_counting", "How many chairs can you see?", "2", [CHAIRS]),  # not VSI-Bench's wording: the asked category is unknown
        trajectory("object_counting", COUNTING, "", [CHAIRS], stop_reason="max_turns"),
        trajectory("object_counting", COUNTING, "2", [CHAIRS], stop_reason="error"),
    ],
)
def test_no_evidence_without_a_rule_a_readable_question_or_an_answer(t):
    assert evidence_calls(t) == []


def test_a_constant_answer_after_one_arbitrary_call_is_not_effective():
    # The gameable definition this replaces counted every one of these: "3" is the image index of the call.
    constant = [
        trajectory(task_type, question, "A" if options else "3", [UNRELATED], options=options)
        for _, task_type, question, options, *_ in CASES
    ]
    assert compute_run_metrics(constant).effective_tool_usage == 0.0
