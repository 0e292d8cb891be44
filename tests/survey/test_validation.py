"""Every way an answer set can be refused, each naming the question in errors[].field."""

from typing import Any

import pytest

from services.survey.definition import Definition, problems
from services.survey.validation import clean_answers
from shared.problems import UnprocessableContent


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


OPTIONS = [{"value": "a", "label": _t("A")}, {"value": "b", "label": _t("B")}, {"value": 3, "label": _t("3")}]
DEFINITION = Definition.model_validate({
    "kind": "custom", "title": _t("t"),
    "questions": [
        {"code": "rate", "type": "rating", "text": _t("r"), "scale_min": 1, "scale_max": 5},
        {"code": "nps", "type": "nps", "text": _t("n")},
        {"code": "one", "type": "single_choice", "text": _t("o"), "options": OPTIONS},
        {"code": "many", "type": "multi_choice", "text": _t("m"), "options": OPTIONS},
        {"code": "free", "type": "text", "text": _t("f")},
        {"code": "grid", "type": "matrix", "text": _t("g"), "scale_min": 1, "scale_max": 5, "required": True,
         "rows": [{"code": "x", "text": _t("x")}, {"code": "y", "text": _t("y")}]},
        {"code": "must", "type": "rating", "text": _t("m"), "scale_min": 1, "scale_max": 5, "required": True},
    ],
})
VALID = {"grid": {"x": 1, "y": 5}, "must": 3}


def _errors(answers: dict[str, Any]) -> list[dict[str, str]]:
    with pytest.raises(UnprocessableContent) as caught:
        clean_answers(DEFINITION, {**VALID, **answers})
    return caught.value.errors or []


@pytest.mark.parametrize(("answers", "field", "message"), [
    ({"rate": "five"}, "answers.rate", "expected a whole number from 1 to 5"),
    ({"rate": True}, "answers.rate", "expected a whole number from 1 to 5"),
    ({"rate": 2.5}, "answers.rate", "expected a whole number from 1 to 5"),
    ({"rate": 6}, "answers.rate", "out of scale: from 1 to 5"),
    ({"rate": 0}, "answers.rate", "out of scale: from 1 to 5"),
    ({"nps": 11}, "answers.nps", "out of scale: from 0 to 10"),
    ({"one": "c"}, "answers.one", "not one of the options"),
    ({"one": "3"}, "answers.one", "not one of the options"),
    ({"many": "a"}, "answers.many", "expected a list of options"),
    ({"many": ["a", "z"]}, "answers.many", "not one of the options"),
    ({"many": ["a", "a"]}, "answers.many", "an option is chosen twice"),
    ({"free": 42}, "answers.free", "expected text"),
    ({"free": "x" * 4001}, "answers.free", "at most 4000 characters"),
    ({"grid": [1, 2]}, "answers.grid", "expected an object of row: rating"),
    ({"grid": {"x": 1, "y": 5, "z": 3}}, "answers.grid.z", "no such row"),
    ({"grid": {"x": 1, "y": 9}}, "answers.grid.y", "out of scale: from 1 to 5"),
    ({"grid": {"x": 1}}, "answers.grid.y", "an answer is required"),
    ({"must": None}, "answers.must", "an answer is required"),
    ({"must": "  "}, "answers.must", "an answer is required"),
    ({"ghost": 1}, "answers.ghost", "no such question in this survey version"),
])
def test_refused(answers: dict[str, Any], field: str, message: str) -> None:
    assert {"field": field, "message": message} in _errors(answers)


def test_every_problem_is_reported_at_once() -> None:
    fields = {error["field"] for error in _errors({"rate": 9, "one": "z", "must": None})}
    assert fields == {"answers.rate", "answers.one", "answers.must"}


def test_valid_answers_are_kept_as_given() -> None:
    answers = {**VALID, "rate": 5, "nps": 0, "one": 3, "many": ["b", "a"], "free": "好", "grid": {"x": 2, "y": None}}
    with pytest.raises(UnprocessableContent):  # y of the required matrix left empty
        clean_answers(DEFINITION, answers)
    answers["grid"] = {"x": 2, "y": 4}
    assert clean_answers(DEFINITION, answers) == answers


def _question(**fields: Any) -> dict[str, Any]:
    return {"code": "q", "type": "rating", "text": _t("q"), "scale_min": 1, "scale_max": 5, **fields}


@pytest.mark.parametrize(("questions", "factors", "field"), [
    ([_question(), _question()], [], "questions.1.code"),
    ([_question(factor="nope")], [], "questions.0.factor"),
    ([_question(type="text", scale_min=None, scale_max=None, factor="f")], ["f"], "questions.0.factor"),
    ([_question(scale_min=5, scale_max=5)], [], "questions.0.scale_max"),
    ([_question(type="single_choice", scale_min=None, scale_max=None)], [], "questions.0.options"),
    ([_question(type="matrix")], [], "questions.0.rows"),
    ([_question(show_if={"question": "later", "equals": 1}), _question(code="later")], [], "questions.0.show_if"),
    ([_question(), _question(code="r", show_if={"question": "q", "like": 1})], [], "questions.1.show_if"),
    ([_question(), _question(code="r", show_if={"question": "q", "in": []})], [], "questions.1.show_if"),
    ([_question(type="text", scale_min=None, scale_max=None),
      _question(code="r", show_if={"question": "q", "gte": 1})], [], "questions.1.show_if"),
    ([_question(critical={"question": "q", "lte": 1})], [], "questions.0.critical"),
    ([_question(type="text", scale_min=None, scale_max=None, critical={"equals": "x"})], [], "questions.0.critical"),
    ([_question(role="expectation", type="nps", scale_min=None, scale_max=None)], [], "questions.0.role"),
    ([_question()], ["f", "f"], "factors.1.code"),
])
def test_definition_problems(questions: list[dict[str, Any]], factors: list[str], field: str) -> None:
    definition = Definition.model_validate({
        "kind": "custom", "title": _t("t"), "questions": questions,
        "factors": [{"code": code, "title": _t(code), "weight": 1} for code in factors],
    })
    assert field in {problem["field"] for problem in problems(definition)}


def test_show_if_may_test_a_matrix_row_and_combine_conditions() -> None:
    definition = Definition.model_validate({"kind": "custom", "title": _t("t"), "questions": [
        {"code": "g", "type": "matrix", "text": _t("g"), "scale_min": 1, "scale_max": 5,
         "rows": [{"code": "x", "text": _t("x")}]},
        {"code": "m", "type": "multi_choice", "text": _t("m"), "options": OPTIONS},
        {"code": "why", "type": "text", "text": _t("w"), "required": True,
         "show_if": {"any": [{"question": "g.x", "lte": 2}, {"all": [{"question": "m", "equals": "a"},
                                                                      {"not": {"question": "m", "in": ["b"]}}]}]}},
    ]})
    assert problems(definition) == []
    assert clean_answers(definition, {"g": {"x": 4}}) == {"g": {"x": 4}}
    with pytest.raises(UnprocessableContent):
        clean_answers(definition, {"g": {"x": 1}})
    with pytest.raises(UnprocessableContent):
        clean_answers(definition, {"m": ["a"]})
    assert clean_answers(definition, {"m": ["a", "b"]}) == {"m": ["a", "b"]}
