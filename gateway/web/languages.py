"""Which language a page opens in: the `lang` the link or the switch asked for, else the browser's
Accept-Language (RFC 9110 §12.5.4, by quality), else zh-CN — the network's customers' language."""

LANGUAGES = ("zh-CN", "en")
DEFAULT = "zh-CN"


def _ours(tag: str) -> str | None:
    """Our language for a browser's tag: any English is `en`, any Chinese is `zh-CN`."""
    primary = tag.strip().lower().split("-", 1)[0]
    return {"en": "en", "zh": "zh-CN"}.get(primary)


def _ranked(accept_language: str) -> list[tuple[float, int, str]]:
    ranked = []
    for position, item in enumerate(accept_language.split(",")[:32]):
        tag, _, params = item.partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0 and (language := _ours(tag)):
            ranked.append((-quality, position, language))
    return sorted(ranked)


def negotiate(requested: str | None, accept_language: str | None) -> str:
    if requested in LANGUAGES:
        return requested
    ranked = _ranked(accept_language or "")
    return ranked[0][2] if ranked else DEFAULT
