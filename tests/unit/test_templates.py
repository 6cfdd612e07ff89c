"""What the bot says on its own states no fact about the business: the platform does not know
its hours, prices, address or policies, and must not invent them."""

from __future__ import annotations

import re

from chalicelib.domain import templates
from chalicelib.domain.statuses import TemplateType

WEEKDAYS = "monday|tuesday|wednesday|thursday|friday|saturday|sunday"


def test_no_answer_states_a_time_a_price_a_day_or_a_place() -> None:
    for kind in TemplateType:
        template = templates.TEMPLATES[kind]
        for text in [template.greeting, *(t.answer for t in template.topics)]:
            assert not re.search(r"\d", text), (kind, text)  # hours, prices, days, periods
            assert not re.search(WEEKDAYS, text, re.I), (kind, text)
            assert "centre" not in text and "free within" not in text, (kind, text)


def test_every_topic_is_reached_by_its_number_and_its_words() -> None:
    for kind in TemplateType:
        topics = templates.TEMPLATES[kind].topics
        for number, topic in enumerate(topics, start=1):
            assert templates.reply(kind, "Biz", str(number)) == topic.answer
            assert templates.reply(kind, "Biz", f"Hi, {topic.keywords[0]}?") == topic.answer
        menu = templates.reply(kind, "Biz", "hello there")
        assert menu.startswith(templates.TEMPLATES[kind].greeting.format(name="Biz"))
