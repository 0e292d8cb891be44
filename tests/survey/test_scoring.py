"""Scores against hand-computed examples (KPI.md "Survey scores")."""

import pytest

from services.survey.definition import Definition
from services.survey.scoring import rounded, score
from services.survey.templates import template
from services.survey.validation import clean_answers
from shared.problems import UnprocessableContent


def _t(text: str) -> dict[str, str]:
    return {"zh-CN": text, "en": text}


# Factor a (weight 3): q1, q2 on 1-5. Factor b (weight 1): matrix q3 on 1-10, and q5 on 0-10,
# which is shown (and then required) only when q1 <= 2.
DEFINITION = Definition.model_validate({
    "kind": "custom", "title": _t("t"),
    "factors": [{"code": "a", "title": _t("a"), "weight": 3}, {"code": "b", "title": _t("b"), "weight": 1}],
    "questions": [
        {"code": "q1", "type": "rating", "text": _t("q1"), "scale_min": 1, "scale_max": 5, "factor": "a", "required": True},
        {"code": "q2", "type": "rating", "text": _t("q2"), "scale_min": 1, "scale_max": 5, "factor": "a"},
        {"code": "q3", "type": "matrix", "text": _t("q3"), "scale_min": 1, "scale_max": 10, "factor": "b",
         "rows": [{"code": "r1", "text": _t("r1")}, {"code": "r2", "text": _t("r2")}]},
        {"code": "q4", "type": "nps", "text": _t("q4")},
        {"code": "q5", "type": "rating", "text": _t("q5"), "scale_min": 0, "scale_max": 10, "factor": "b",
         "required": True, "show_if": {"question": "q1", "lte": 2}},
        {"code": "q6", "type": "text", "text": _t("q6")},
    ],
})


def _scores(answers: dict) -> dict:
    return score(DEFINITION, clean_answers(DEFINITION, answers))


class TestScores:
    def test_skipped_optional_question_and_unequal_weights(self) -> None:
        scores = _scores({"q1": 4, "q3": {"r1": 10, "r2": 5}, "q4": 9, "q6": "fine"})
        # a = 75 (q2 skipped); b = mean(100, 44.44) = 72.22; index = (3*75 + 1*72.22) / 4
        assert scores["factors"]["a"] == pytest.approx(75.0)
        assert scores["factors"]["b"] == pytest.approx((100 + 400 / 9) / 2)
        assert scores["index"] == pytest.approx((3 * 75 + (100 + 400 / 9) / 2) / 4)
        assert rounded(scores)["index"] == 74.3
        assert scores["nps_category"] == "promoter"

    def test_show_if_question_counts_when_shown_and_matrix_rows_count_one_each(self) -> None:
        scores = _scores({"q1": 2, "q2": 5, "q3": {"r1": 1}, "q4": 6, "q5": 6})
        # a = mean(25, 100) = 62.5; b = mean(r1 = 0, q5 = 60) = 30; index = (187.5 + 30) / 4 = 54.375
        assert scores["factors"] == {"a": pytest.approx(62.5), "b": pytest.approx(30.0)}
        assert scores["index"] == pytest.approx(54.375)
        assert rounded(scores)["index"] == 54.4
        assert scores["nps_category"] == "detractor"

    def test_show_if_hides_a_required_question(self) -> None:
        answers = clean_answers(DEFINITION, {"q1": 4, "q5": 3})
        assert "q5" not in answers  # hidden: neither required nor scored, its stray answer dropped
        with pytest.raises(UnprocessableContent) as caught:
            clean_answers(DEFINITION, {"q1": 1})
        assert caught.value.errors == [{"field": "answers.q5", "message": "an answer is required"}]

    def test_index_covers_answered_factors_only(self) -> None:
        scores = _scores({"q1": 5})
        assert scores["factors"] == {"a": 100.0}
        assert scores["index"] == 100.0
        assert scores["nps_category"] is None

    @pytest.mark.parametrize(("answer", "category"), [(0, "detractor"), (6, "detractor"), (7, "passive"),
                                                       (8, "passive"), (9, "promoter"), (10, "promoter")])
    def test_nps_categories(self, answer: int, category: str) -> None:
        assert _scores({"q1": 3, "q4": answer})["nps_category"] == category

    def test_no_rating_answered_means_no_index(self) -> None:
        nps = template("nps")
        scores = score(nps, clean_answers(nps, {"nps": 10}))
        assert scores["index"] is None and scores["factors"] == {}


class TestServqual:
    def test_gap_and_css_per_dimension_perception_only_in_factor_score(self) -> None:
        servqual = template("servqual")
        scores = score(servqual, {
            "tangibles_e": {"equipment": 7, "appearance": 6}, "tangibles_p": {"equipment": 5, "appearance": 4},
            "reliability_e": {"promised": 6, "right_first": 6}, "reliability_p": {"promised": 6, "right_first": 7},
        })
        tangibles = scores["servqual"]["dimensions"]["tangibles"]
        assert tangibles["expectation"] == 6.5 and tangibles["perception"] == 4.5
        assert tangibles["gap"] == -2.0
        assert tangibles["css"] == pytest.approx(4.5 / 6.5)
        assert scores["servqual"]["dimensions"]["reliability"]["gap"] == 0.5
        assert scores["servqual"]["gap"] == pytest.approx((-2.0 + 0.5) / 2)  # equal weights
        assert scores["servqual"]["css"] == pytest.approx((4.5 + 6.5) / (6.5 + 6.0))
        # Factor score from perception (1-7): mean(100*4/6, 100*3/6) = 58.33
        assert scores["factors"]["tangibles"] == pytest.approx(175 / 3)
        assert set(scores["servqual"]["dimensions"]) == {"tangibles", "reliability"}


class TestTemplates:
    def test_csi_weights_and_every_factor_answered(self) -> None:
        csi = template("csi")
        assert {f.code: f.weight for f in csi.factors} == {
            "service_quality": 24, "service_facility": 21, "vehicle_pickup": 21, "service_advisor": 18,
            "service_initiation": 17}
        answers = {q.code: {r.code: 10 for r in q.rows} for q in csi.questions if q.type == "matrix"}
        answers["quality"] = {"diagnosis": 1, "fixed_right": 1, "complete": 1}
        answers |= {"fixed_first_time": "yes", "nps": 10}
        scores = score(csi, clean_answers(csi, answers))
        # Quality 0, the rest 100. The published weights sum to 101, and the index divides by their sum.
        assert scores["index"] == pytest.approx(100 * (101 - 24) / 101)

    def test_ssi_weights(self) -> None:
        assert {f.code: f.weight for f in template("ssi").factors} == {
            "delivery": 23, "sales_initiation": 21, "deal": 20, "facility": 19, "salesperson": 17}
        assert any(q.type == "nps" for q in template("ssi").questions)
