"""Reply templates: a keyword menu per business type and a default reply.

Pure functions, so the portal can preview exactly what the worker will send.

The answers state no fact about the business (hours, prices, address, policies): the platform
does not know them, and an invented one is worse than none. Each says what the customer can do
or that the business answers in person. Owner-written answers are not built yet (README,
Limits).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from chalicelib.domain.statuses import TemplateType


@dataclass(frozen=True)
class Attachment:
    """A picture or PDF an answer carries, stored under ``<tenant>/<id>`` (``store.media``);
    its type and size were read from the file itself when it was saved."""

    id: str
    name: str
    type: str  # image/jpeg, image/png or application/pdf
    size: int


@dataclass(frozen=True)
class Topic:
    """One menu entry: the words that select it and the answer."""

    keywords: tuple[str, ...]
    answer: str
    media: Attachment | None = None


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
                "Thanks for asking about our menu: we send it to you in person shortly.",
            ),
            Topic(
                ("hours", "open", "opening", "time"),
                "Thanks for asking: we reply with our opening hours in person shortly.",
            ),
            Topic(
                ("book", "booking", "reserve", "reservation", "table"),
                "To book a table, send the day, time and number of guests; we confirm shortly.",
            ),
            Topic(
                ("where", "address", "location", "directions"),
                "Thanks for asking: we send you our address in person shortly.",
            ),
        ),
    ),
    TemplateType.SALON: Template(
        greeting="Hi, this is {name}. Reply with a number or a word:",
        topics=(
            Topic(
                ("prices", "price", "cost", "services"),
                "Tell us which service you are interested in and we send you its price shortly.",
            ),
            Topic(
                ("appointment", "book", "booking", "slot"),
                "Send your preferred day and time and the service; we reply with a free slot.",
            ),
            Topic(
                ("hours", "open", "opening"),
                "Thanks for asking: we reply with our opening hours in person shortly.",
            ),
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
                "Send your order number and what you would like to return; we reply with how.",
            ),
            Topic(
                ("hours", "open", "opening"),
                "Thanks for asking: we reply with our opening hours in person shortly.",
            ),
            Topic(
                ("stock", "available", "availability"),
                "Tell us the product name or number and we check availability.",
            ),
        ),
    ),
}


def words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return re.findall(r"[a-z0-9]+", folded)


def menu(template: Template, name: str) -> str:
    """The greeting and numbered menu, as sent when nothing matched."""
    lines = [template.greeting.format(name=name)]
    for number, topic in enumerate(template.topics, start=1):
        lines.append(f"{number}. {topic.keywords[0].capitalize()}")
    return "\n".join(lines)


def match(topics: tuple[Topic, ...], text: str) -> Topic | None:
    """The topic ``text`` selects: by its number first, else by one of its words."""
    said = words(text)
    for number, topic in enumerate(topics, start=1):
        if said[:1] == [str(number)] or any(word in topic.keywords for word in said):
            return topic
    return None


def of(template_type: TemplateType | str | None) -> Template:
    """A business type's template (a shop's when none is set)."""
    template = TEMPLATES.get(TemplateType(template_type) if template_type else TemplateType.SHOP)
    return template or TEMPLATES[TemplateType.SHOP]


def reply(template_type: TemplateType | str | None, business_name: str, text: str) -> str:
    """The answer to an inbound ``text``: the first matching topic, else the menu."""
    template = of(template_type)
    topic = match(template.topics, text)
    return topic.answer if topic else menu(template, business_name)
