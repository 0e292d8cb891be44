"""A page opens in the browser's language: the asked `lang`, else Accept-Language by quality, else zh-CN."""

import pytest

from gateway.web.languages import negotiate


@pytest.mark.parametrize(("requested", "accept", "expected"), [
    (None, None, "zh-CN"),
    (None, "", "zh-CN"),
    (None, "en-US,en;q=0.9", "en"),
    (None, "en-GB", "en"),
    (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh-CN"),
    (None, "zh-TW", "zh-CN"),
    (None, "fr-FR,de;q=0.9", "zh-CN"),               # neither offered: the network's default
    (None, "fr-FR,en;q=0.5", "en"),                  # the first one we have
    (None, "zh;q=0.3,en;q=0.7", "en"),               # by quality, not by order
    (None, "en;q=0,zh;q=0.1", "zh-CN"),              # q=0 means "not this one"
    (None, "en;q=abc", "zh-CN"),                     # a broken quality counts as not acceptable
    (None, "*", "zh-CN"),
    ("en", "zh-CN", "en"),                           # the link or the switch wins
    ("zh-CN", "en", "zh-CN"),
    ("xx", "en", "en"),                              # an unknown lang is no choice
])
def test_negotiate(requested: str | None, accept: str | None, expected: str) -> None:
    assert negotiate(requested, accept) == expected
