"""A survey definition (what a version freezes) and the structural rules it must satisfy.

Pydantic checks each field's shape; `problems()` checks what spans fields: unique codes,
factor references, scales, option lists, and the conditions of `show_if` and `critical`.
"""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictInt, StrictStr, StringConstraints

from shared.contracts import conditions

Kind = Literal["csi", "ssi", "nps", "servqual", "custom"]
QuestionType = Literal["rating", "nps", "single_choice", "multi_choice", "text", "matrix"]
Code = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
LANGUAGES = ("zh-CN", "en")
NPS_SCALE = (0, 10)


def _both_languages(value: dict[str, str]) -> dict[str, str]:
    missing = [language for language in LANGUAGES if not value.get(language, "").strip()]
    if missing:
        raise ValueError(f"give the text in {' and '.join(missing)} too")
    return value


LocalText = Annotated[
    dict[Literal["zh-CN", "en"], Annotated[str, StringConstraints(max_length=2000)]],
    AfterValidator(_both_languages),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Factor(_Strict):
    code: Code
    title: LocalText
    weight: float = Field(gt=0, le=1000)


class Option(_Strict):
    value: StrictStr | StrictInt
    label: LocalText
    # EDER: choosing this option is quality evidence of this kind ("not_fixed": the repair did not
    # fix the problem); the alert it raises carries it to the complaint service's quality signals.
    quality_evidence: Literal["not_fixed"] | None = None


class MatrixRow(_Strict):
    code: Code
    text: LocalText


class Question(_Strict):
    code: Code
    type: QuestionType
    text: LocalText
    scale_min: int | None = None
    scale_max: int | None = None
    options: list[Option] = Field(default_factory=list, max_length=100)
    rows: list[MatrixRow] = Field(default_factory=list, max_length=50)
    factor: Code | None = None
    required: bool = False
    show_if: dict[str, Any] | None = None
    critical: dict[str, Any] | None = None
    # SERVQUAL: an expectation item, or a perception item (the default for rated questions).
    role: Literal["expectation", "perception"] | None = None

    def scale(self) -> tuple[int, int]:
        if self.type == "nps":
            return NPS_SCALE
        assert self.scale_min is not None and self.scale_max is not None
        return self.scale_min, self.scale_max


class AlertRules(_Strict):
    """When a response raises `survey.alert.raised` (DOMAIN.md: a low score must open a case)."""

    index_below: float | None = Field(default=60.0, ge=0, le=100)
    nps_detractor: bool = True
    critical_answers: bool = True


class Definition(_Strict):
    kind: Kind
    title: LocalText
    factors: list[Factor] = Field(default_factory=list, max_length=30)
    questions: list[Question] = Field(min_length=1, max_length=200)
    alert_rules: AlertRules = Field(default_factory=AlertRules)
    expected_seconds: int | None = Field(None, ge=1, le=86400, description=(
        "How long an honest answer takes; a response in under the speeder rule's share of it is flagged. "
        "Null: the service's seconds per question shown (5 by default)"))

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)


def problems(definition: Definition) -> list[dict[str, str]]:
    """Every rule the definition breaks, as `[{field, message}]` (empty when it is sound)."""
    errors: list[dict[str, str]] = []
    factor_codes = [f.code for f in definition.factors]
    for index, code in enumerate(factor_codes):
        if code in factor_codes[:index]:
            errors.append({"field": f"factors.{index}.code", "message": f"factor '{code}' appears twice"})
    refs: dict[str, str] = {}
    for index, question in enumerate(definition.questions):
        field = f"questions.{index}"
        if question.code in refs:
            errors.append({"field": f"{field}.code", "message": f"question '{question.code}' appears twice"})
        errors += [{"field": f"{field}.{name}", "message": message}
                   for name, message in _question_problems(question, set(factor_codes), refs)]
        refs[question.code] = question.type
        for row in question.rows:
            refs[f"{question.code}.{row.code}"] = "rating"
    return errors


def _question_problems(question: Question, factors: set[str], earlier: dict[str, str]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    rated = question.type in ("rating", "matrix")
    if rated and (question.scale_min is None or question.scale_max is None
                  or question.scale_min >= question.scale_max):
        found.append(("scale_max", "a rating needs scale_min < scale_max"))
    if question.type == "nps" and (question.scale_min, question.scale_max) not in ((None, None), NPS_SCALE):
        found.append(("scale_min", "an nps question is always 0-10"))
    if question.type in ("single_choice", "multi_choice"):
        values = [option.value for option in question.options]
        if not values:
            found.append(("options", "a choice question needs options"))
        elif len(set(values)) != len(values):
            found.append(("options", "option values must be unique"))
    elif question.options:
        found.append(("options", f"a {question.type} question has no options"))
    if question.type == "matrix":
        codes = [row.code for row in question.rows]
        if not codes:
            found.append(("rows", "a matrix needs rows"))
        elif len(set(codes)) != len(codes):
            found.append(("rows", "row codes must be unique"))
    elif question.rows:
        found.append(("rows", f"a {question.type} question has no rows"))
    if question.factor is not None:
        if question.factor not in factors:
            found.append(("factor", f"no factor '{question.factor}' in this survey"))
        elif not rated:
            found.append(("factor", "only rating and matrix questions belong to a factor"))
    if question.role is not None and not rated:
        found.append(("role", "only rating and matrix questions have a SERVQUAL role"))
    if question.show_if is not None:
        found += [("show_if", message) for message in conditions.check(question.show_if, earlier)]
    if question.critical is not None:
        found += [("critical", message) for message in _critical_problems(question)]
    if any(option.quality_evidence for option in question.options) and question.critical is None:
        # Evidence travels on the alert a critical answer raises: without one it would reach nobody.
        found.append(("options", "an option that is quality evidence needs the question to be critical"))
    return found


def _critical_problems(question: Question) -> list[str]:
    if question.type == "text":
        return ["a text answer cannot be critical"]
    if "question" in (question.critical or {}):
        return ["'critical' tests the question's own answer: leave out 'question'"]
    own_type = "rating" if question.type == "matrix" else question.type
    return conditions.check({**(question.critical or {}), "question": question.code}, {question.code: own_type})
