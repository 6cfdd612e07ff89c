"""Reply templates: a keyword menu per business type and a default reply.

Pure functions, so the portal can preview exactly what the worker will send.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chalicelib.domain.statuses import TemplateType


@dataclass(frozen=True)
class Topic:
    """One menu entry: the words that select it and the answer."""

    keywords: tuple[str, ...]
    answer: str


@dataclass(frozen=True)
class Template:
    """A business type's greeting, menu and default reply."""

    greeting: str
    topics: tuple[Topic, ...]


TEMPLATES: dict[TemplateType, Template] = {
    TemplateType.RESTAURANT: Template(
        greeting="Hello from {name}! Reply with a number or a word:",
        topics=(
            Topic(
                ("menu", "food", "dishes", "speisekarte"),
                "Our menu: pizza, pasta and salads, made fresh. Ask for today's special.",
            ),
            Topic(
                ("hours", "open", "opening", "time"),
                "We are open Tuesday to Sunday, 12:00-15:00 and 18:00-23:00.",
            ),
            Topic(
                ("book", "booking", "reserve", "reservation", "table"),
                "To book a table, send the day, time and number of guests; we confirm shortly.",
            ),
            Topic(
                ("where", "address", "location", "directions"),
                "You find us in the city centre; tap our profile for the map.",
            ),
        ),
    ),
    TemplateType.SALON: Template(
        greeting="Hi, this is {name}. Reply with a number or a word:",
        topics=(
            Topic(
                ("prices", "price", "cost", "services"),
                "Cut from 25, colour from 45, styling from 20. Ask us for a full price list.",
            ),
            Topic(
                ("appointment", "book", "booking", "slot"),
                "Send your preferred day and time and the service; we reply with a free slot.",
            ),
            Topic(("hours", "open", "opening"), "Open Monday to Saturday, 9:00-19:00."),
            Topic(
                ("cancel", "reschedule"),
                "To cancel or move an appointment, send its date and your name.",
            ),
        ),
    ),
    TemplateType.SHOP: Template(
        greeting="Welcome to {name}! Reply with a number or a word:",
        topics=(
            Topic(
                ("order", "status", "tracking", "delivery"),
                "Send your order number and we look up its status for you.",
            ),
            Topic(
                ("return", "returns", "refund", "exchange"),
                "Returns are free within 30 days; keep the receipt and the original packaging.",
            ),
            Topic(
                ("hours", "open", "opening"), "Our shop is open Monday to Saturday, 10:00-20:00."
            ),
            Topic(
                ("stock", "available", "availability"),
                "Tell us the product name or number and we check availability.",
            ),
        ),
    ),
}


def _words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


def menu(template: Template, name: str) -> str:
    """The greeting and numbered menu, as sent when nothing matched."""
    lines = [template.greeting.format(name=name)]
    for number, topic in enumerate(template.topics, start=1):
        lines.append(f"{number}. {topic.keywords[0].capitalize()}")
    return "\n".join(lines)


def reply(template_type: TemplateType | str | None, business_name: str, text: str) -> str:
    """The answer to an inbound ``text``: the first matching topic, else the menu."""
    template = TEMPLATES.get(TemplateType(template_type) if template_type else TemplateType.SHOP)
    template = template or TEMPLATES[TemplateType.SHOP]
    words = _words(text)
    for number, topic in enumerate(template.topics, start=1):
        if words[:1] == [str(number)] or any(word in topic.keywords for word in words):
            return topic.answer
    return menu(template, business_name)
