"""The condition language's Python home passes the shared vectors; the survey page's script
passes the same file in conditions.test.mjs (node --test, run by `make test`)."""

import json
from pathlib import Path
from typing import Any

import pytest

from shared.contracts.conditions import evaluate, visible_codes

VECTORS = json.loads((Path(__file__).parent / "condition_vectors.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("vector", VECTORS["evaluate"], ids=lambda vector: vector["name"])
def test_a_condition_holds_exactly_when_the_vector_says(vector: dict[str, Any]) -> None:
    assert evaluate(vector["condition"], vector["answers"]) is vector["expected"]


@pytest.mark.parametrize("vector", VECTORS["visible"], ids=lambda vector: vector["name"])
def test_the_questions_shown_are_those_the_vector_lists(vector: dict[str, Any]) -> None:
    assert visible_codes(vector["questions"], vector["answers"]) == set(vector["expected"])
