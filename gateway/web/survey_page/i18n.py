"""The page's own words in both languages, and the survey service's validation messages in them."""

from typing import Any

TEXT: dict[str, dict[str, str]] = {
    "zh-CN": {
        "switch_label": "English", "switch_lang": "en", "switch_name": "Switch to English",
        "intro": "感谢您抽出时间。大约需要 3 分钟，您的反馈将直接帮助我们改进服务。",
        "required_note": "标有 * 的问题为必答题。", "required": "必答",
        "question_of": "第 {n} 题，共 {total} 题", "progress": "已完成",
        "submit": "提交问卷", "privacy": "您的回答仅用于改进服务质量，我们将依法保护您的个人信息。",
        "expires": "链接有效期至 {date}",
        "low_rating": "非常不满意", "high_rating": "非常满意",
        "low_nps": "完全不可能", "high_nps": "极有可能",
        "your_answer": "您的回答", "choose_any": "可多选",
        "summary_title": "请检查以下问题", "summary_general": "提交未成功，请检查后重试。",
        "rate_every_row": "请为每一项打分",
        "thanks_title": "提交成功，感谢您的反馈！",
        "thanks_body": "我们已收到您的回答。您的意见对我们非常重要，我们会认真对待每一条反馈。",
        "thanks_followup": "如您的问题尚未解决，我们的客户关系专员将尽快与您联系。",
        "used_title": "您已完成此问卷", "used_body": "每个链接只能提交一次。感谢您的反馈！",
        "expired_title": "链接已过期", "expired_body": "此问卷链接已失效。如需帮助，请联系您的经销店。",
        "unknown_title": "链接无效", "unknown_body": "找不到此问卷，请检查链接是否完整，或联系您的经销店。",
        "unavailable_title": "服务暂时不可用", "unavailable_body": "问卷系统正在维护，请稍后再打开此链接。您的链接仍然有效。",
        "busy_title": "请求过于频繁", "busy_body": "请稍候片刻再试。",
        "page_title_suffix": "客户满意度调查",
    },
    "en": {
        "switch_label": "中文", "switch_lang": "zh-CN", "switch_name": "切换到中文",
        "intro": "Thank you for your time. It takes about 3 minutes, and your feedback directly helps us improve.",
        "required_note": "Questions marked * are required.", "required": "required",
        "question_of": "Question {n} of {total}", "progress": "completed",
        "submit": "Submit", "privacy": "Your answers are used only to improve our service; your personal data is protected by law.",
        "expires": "This link is valid until {date}",
        "low_rating": "Very dissatisfied", "high_rating": "Very satisfied",
        "low_nps": "Not at all likely", "high_nps": "Extremely likely",
        "your_answer": "Your answer", "choose_any": "Choose all that apply",
        "summary_title": "Please check these questions", "summary_general": "Your answers were not sent; please check and try again.",
        "rate_every_row": "Please rate every item",
        "thanks_title": "Thank you for your feedback!",
        "thanks_body": "We have received your answers. Every comment is read and taken seriously.",
        "thanks_followup": "If something is still not right, our customer relations team will contact you shortly.",
        "used_title": "You have already answered this survey", "used_body": "Each link can be used once. Thank you for your feedback!",
        "expired_title": "This link has expired", "expired_body": "This survey link is no longer valid. Please contact your dealer if you need help.",
        "unknown_title": "Link not recognised", "unknown_body": "We cannot find this survey. Please check the link is complete, or contact your dealer.",
        "unavailable_title": "Temporarily unavailable", "unavailable_body": "The survey system is under maintenance. Please open this link again later; it is still valid.",
        "busy_title": "Too many requests", "busy_body": "Please wait a moment and try again.",
        "page_title_suffix": "Customer satisfaction survey",
    },
}

# The survey service's messages (services/survey/validation.py), by how they begin.
MESSAGES: tuple[tuple[str, dict[str, str]], ...] = (
    ("an answer is required", {"zh-CN": "请回答此题", "en": "Please answer this question"}),
    ("expected a whole number", {"zh-CN": "请选择一个分数", "en": "Please choose a score"}),
    ("out of scale", {"zh-CN": "请选择量表内的分数", "en": "Please choose a score on the scale"}),
    ("not one of the options", {"zh-CN": "请从选项中选择", "en": "Please choose one of the options"}),
    ("an option is chosen twice", {"zh-CN": "同一选项只能选一次", "en": "Choose each option once"}),
    ("at most", {"zh-CN": "内容过长，请精简到 4000 字以内", "en": "Please keep your answer under 4000 characters"}),
)


def words(lang: str) -> dict[str, str]:
    return TEXT[lang]


def message(service_message: str, lang: str) -> str:
    for start, translated in MESSAGES:
        if service_message.startswith(start):
            return translated[lang]
    if lang == "en" and service_message:
        return service_message[0].upper() + service_message[1:]
    return "请检查此题的回答" if lang == "zh-CN" else "Please check this answer"


def local(text: Any, lang: str) -> str:
    """A `{zh-CN, en}` text in `lang`, else whichever language it has."""
    if isinstance(text, dict):
        return str(text.get(lang) or next(iter(text.values()), ""))
    return str(text or "")
