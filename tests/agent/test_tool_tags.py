from skill3d_eval.agent.tool_tags import parse_tool_tags


def test_tag_form_calls_are_parsed_in_order():
    text = 'Let me look. <tool_call>{"name": "estimate_depth", "arguments": {"image": 1}}</tool_call>\n<tool_call>{"name": "locate_objects", "arguments": {"category": "sofa"}}</tool_call>'
    calls = parse_tool_tags(text, turn=2)
    assert [(c.id, c.name, c.arguments) for c in calls] == [
        ("tag-2-0", "estimate_depth", {"image": 1}),
        ("tag-2-1", "locate_objects", {"category": "sofa"}),
    ]


def test_broken_tags_are_passed_on_for_an_error_observation_not_guessed():
    (call,) = parse_tool_tags("<tool_call>{depth of image 1}</tool_call>", turn=0)
    assert call.name == "(unparsable tool call)" and call.arguments == "{depth of image 1}"
    (call,) = parse_tool_tags('<tool_call>["estimate_depth"]</tool_call>', turn=0)
    assert call.name == "(unparsable tool call)"


def test_plain_answers_have_no_calls():
    assert parse_tool_tags("2.5", turn=0) == [] and parse_tool_tags(None, turn=0) == []
