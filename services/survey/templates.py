"""Survey templates built from DOMAIN.md "Surveys": CSI, SSI, NPS, SERVQUAL, complaint resolution.

CSI and SSI use the published J.D. Power China factor weights, one 1-10 matrix per factor
whose rows are the factor's attributes, and the NPS question both studies ask. SERVQUAL asks
each of its five dimensions twice on a 1-7 scale: what a customer expects of an excellent
dealer (expectation) and what this dealer did (perception).
"""

from typing import Any

from services.survey.definition import Definition

NPS_TEXT = {"zh-CN": "您有多大可能向亲友推荐本经销店？(0-10)",
            "en": "How likely are you to recommend this dealer to a friend or colleague? (0-10)"}


def _t(zh: str, en: str) -> dict[str, str]:
    return {"zh-CN": zh, "en": en}


def _matrix(code: str, factor: str, text: dict[str, str], rows: list[tuple[str, str, str]],
            *, low: int = 1, high: int = 10, **extra: Any) -> dict[str, Any]:
    return {"code": code, "type": "matrix", "text": text, "scale_min": low, "scale_max": high, "factor": factor,
            "required": True, "rows": [{"code": c, "text": _t(zh, en)} for c, zh, en in rows], **extra}


def _closing(detractor_text: dict[str, str]) -> list[dict[str, Any]]:
    """The NPS question, a reason asked of detractors only, and a free comment."""
    return [
        {"code": "nps", "type": "nps", "text": NPS_TEXT, "required": True},
        {"code": "nps_reason", "type": "text", "text": detractor_text, "required": True,
         "show_if": {"question": "nps", "lte": 6}},
        {"code": "comment", "type": "text", "text": _t("其他意见或建议", "Anything else you would like to tell us?")},
    ]


_YES_NO = [{"value": "yes", "label": _t("是", "Yes")}, {"value": "no", "label": _t("否", "No")}]
_RATE_10 = _t("请为以下各项打分 (1=非常不满意, 10=非常满意)", "Please rate each (1 = very dissatisfied, 10 = very satisfied)")


def csi() -> dict[str, Any]:
    return {
        "kind": "csi",
        "title": _t("售后服务满意度调查 (CSI)", "Service satisfaction survey (CSI)"),
        "factors": [
            {"code": "service_quality", "title": _t("服务质量", "Service quality"), "weight": 24},
            {"code": "service_facility", "title": _t("服务设施", "Service facility"), "weight": 21},
            {"code": "vehicle_pickup", "title": _t("交车", "Vehicle pick-up"), "weight": 21},
            {"code": "service_advisor", "title": _t("服务顾问", "Service advisor"), "weight": 18},
            {"code": "service_initiation", "title": _t("服务启动", "Service initiation"), "weight": 17},
        ],
        "questions": [
            _matrix("initiation", "service_initiation", _RATE_10, [
                ("appointment", "预约方便", "Ease of making the appointment"),
                ("greeting", "到店后接待及时", "Promptness of the greeting on arrival")]),
            _matrix("advisor", "service_advisor", _RATE_10, [
                ("courtesy", "礼貌", "Courtesy"), ("honesty", "诚实", "Honesty"),
                ("knowledge", "专业知识", "Knowledge"),
                ("understanding", "理解您的问题", "Understanding of your problem"),
                ("explaining", "解释维修项目", "Explanation of the work to be done")]),
            _matrix("facility", "service_facility", _RATE_10, [
                ("cleanliness", "清洁", "Cleanliness of the dealership"),
                ("comfort", "休息区舒适", "Comfort of the waiting area"),
                ("amenities", "休息区设施", "Amenities of the waiting area")]),
            _matrix("pickup", "vehicle_pickup", _RATE_10, [
                ("on_time", "按时交车", "Vehicle ready when promised"),
                ("explanation", "解释维修内容与费用", "Explanation of the work and charges"),
                ("payment", "结算方便", "Ease of payment"),
                ("cleanliness", "车辆清洁", "Cleanliness of the vehicle")]),
            _matrix("quality", "service_quality", _RATE_10, [
                ("diagnosis", "故障诊断准确", "Problem diagnosed correctly"),
                ("fixed_right", "一次修好", "Fixed right the first time"),
                ("complete", "维修完整", "Work completed as requested")], critical={"lte": 3}),
            {"code": "fixed_first_time", "type": "single_choice", "required": True, "options": [
                _YES_NO[0], {**_YES_NO[1], "quality_evidence": "not_fixed"}],
             "text": _t("您的车辆问题这次是否已彻底解决？", "Was your vehicle's problem fully fixed on this visit?"),
             "critical": {"equals": "no"}},
            *_closing(_t("请告诉我们哪里让您不满意", "Please tell us what disappointed you")),
        ],
    }


def ssi() -> dict[str, Any]:
    return {
        "kind": "ssi",
        "title": _t("销售满意度调查 (SSI)", "Sales satisfaction survey (SSI)"),
        "factors": [
            {"code": "delivery", "title": _t("交车", "Delivery"), "weight": 23},
            {"code": "sales_initiation", "title": _t("销售启动", "Sales initiation"), "weight": 21},
            {"code": "deal", "title": _t("达成交易", "Working out the deal"), "weight": 20},
            {"code": "facility", "title": _t("经销店设施", "Dealer facility"), "weight": 19},
            {"code": "salesperson", "title": _t("销售顾问", "Salesperson"), "weight": 17},
        ],
        "questions": [
            _matrix("initiation", "sales_initiation", _RATE_10, [
                ("contact", "联系经销店方便", "Ease of contacting the dealer"),
                ("greeting", "到店后接待及时", "Promptness of the greeting on arrival")]),
            _matrix("salesperson", "salesperson", _RATE_10, [
                ("courtesy", "礼貌", "Courtesy"), ("knowledge", "产品知识", "Product knowledge"),
                ("honesty", "诚实", "Honesty"), ("responsiveness", "响应及时", "Responsiveness")]),
            _matrix("facility", "facility", _RATE_10, [
                ("comfort", "展厅舒适", "Comfort of the showroom"),
                ("cleanliness", "清洁", "Cleanliness"),
                ("display", "车辆展示", "Display of vehicles")]),
            _matrix("deal", "deal", _RATE_10, [
                ("price", "价格公道", "Fairness of the price"),
                ("paperwork", "手续清楚", "Clarity of the paperwork"),
                ("time", "办理时间", "Time it took to close the deal"),
                ("financing", "金融方案解释", "Explanation of the financing")]),
            _matrix("delivery", "delivery", _RATE_10, [
                ("condition", "交车时车况", "Condition of the vehicle at delivery"),
                ("features", "功能讲解", "Explanation of the vehicle's features"),
                ("on_time", "按承诺时间交车", "Delivered when promised"),
                ("duration", "交车所用时间", "Time the delivery took")]),
            *_closing(_t("请告诉我们哪里让您不满意", "Please tell us what disappointed you")),
        ],
    }


def nps() -> dict[str, Any]:
    return {
        "kind": "nps",
        "title": _t("推荐意愿调查", "Would you recommend us?"),
        "questions": _closing(_t("请告诉我们原因", "Please tell us why")),
    }


_SERVQUAL = [
    ("tangibles", "有形性", "Tangibles", [
        ("equipment", "设备先进", "Modern equipment"),
        ("appearance", "设施与员工仪表整洁", "Clean facilities and neat staff")]),
    ("reliability", "可靠性", "Reliability", [
        ("promised", "按承诺时间完成", "Does what it promises by the time promised"),
        ("right_first", "第一次就做对", "Does the work right the first time")]),
    ("responsiveness", "响应性", "Responsiveness", [
        ("prompt", "服务迅速", "Prompt service"), ("willing", "乐于帮助", "Always willing to help")]),
    ("assurance", "保证性", "Assurance", [
        ("trust", "值得信赖", "Staff instil confidence"), ("knowledge", "专业知识足以解答问题", "Staff can answer questions")]),
    ("empathy", "移情性", "Empathy", [
        ("attention", "给予个别关注", "Individual attention"),
        ("interests", "以客户利益为重", "Has your best interests at heart")]),
]


def servqual() -> dict[str, Any]:
    questions: list[dict[str, Any]] = []
    for code, zh, en, rows in _SERVQUAL:
        for role, zh_role, en_role in (("expectation", "您对优秀经销店的期望", "What you expect of an excellent dealer"),
                                        ("perception", "您对本店的实际感受", "What this dealer did")):
            text = _t(f"{zh} - {zh_role} (1-7)", f"{en} - {en_role} (1-7)")
            questions.append(_matrix(f"{code}_{role[0]}", code, text, rows, low=1, high=7, role=role))
    return {
        "kind": "servqual",
        "title": _t("服务质量差距调查 (SERVQUAL)", "Service quality gap survey (SERVQUAL)"),
        "factors": [{"code": code, "title": _t(zh, en), "weight": 20} for code, zh, en, _ in _SERVQUAL],
        "questions": questions,
        # A gap survey has no NPS question; its perception index is the score to watch.
        "alert_rules": {"index_below": 60.0, "nps_detractor": False, "critical_answers": True},
    }


def resolution() -> dict[str, Any]:
    """The short survey a resolved complaint triggers."""
    return {
        "kind": "custom",
        "title": _t("投诉处理满意度回访", "How did we handle your complaint?"),
        "factors": [{"code": "resolution", "title": _t("投诉处理", "Complaint handling"), "weight": 1}],
        "questions": [
            {"code": "resolved", "type": "single_choice", "required": True, "options": _YES_NO,
             "text": _t("您的问题是否已经解决？", "Has your problem been resolved?"), "critical": {"equals": "no"}},
            {"code": "handling", "type": "rating", "scale_min": 1, "scale_max": 5, "factor": "resolution",
             "required": True, "text": _t("您对处理过程的满意度 (1-5)", "How satisfied are you with how it was handled? (1-5)")},
            *_closing(_t("请告诉我们哪里还可以改进", "Please tell us what we could still do better")),
        ],
    }


TEMPLATES = {"csi": csi, "ssi": ssi, "nps": nps, "servqual": servqual, "resolution": resolution}


def template(name: str) -> Definition:
    return Definition.model_validate(TEMPLATES[name]())
