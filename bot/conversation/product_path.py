"""The pieces of the assistant's product path that are not conversation logic: what is
logged of a product question (the contract with the marketing dashboard), the feedback
buttons of a product answer, and which product a ticket carries.

The logged shape: an analytics MESSAGE event whose `data["product"]` is
`{"slug", "attribute" ("" when none was recognised), "answered_by"}`, answered_by being
"catalogue", "note", "kb" or "" (not answered); the event's decision is as for any question.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot.conversation.phrases import say
from catalogue.service import PAGE_PREFIX, ProductAnswer, ProductDesk

log = logging.getLogger(__name__)

# A thumbs button's entry_id entity for a product answer: no KB entry answered it, so the
# entity names the product instead ("product:<slug>"); the confidence model, which learns
# from thumbs on entries, never sees these.
PRODUCT_FEEDBACK = "product:"
ANSWERED_BY = ("catalogue", "note", "kb", "")
MAX_SLUG = 200


def product_data(answer: ProductAnswer, answered_by: str) -> dict:
    # "named": the product was named in the text, not only taken from the page (what a later
    # hand-off needs to tell a product question from a general one, see ticket_product).
    return {"slug": answer.slug, "attribute": answer.attribute, "answered_by": answered_by,
            "named": bool(answer.question.named)}


def ticket_product(slug: str, attribute: str, named: bool, page: str) -> tuple[str, str]:
    """The (slug, attribute) a ticket carries, so the operator's answer is learned for that
    product only (a note), or ("", "") for a question learned into the knowledge base.

    A question asking a product's attribute carries it. One asking no attribute carries it
    only when it names the product on that product's own page ("la borsa è impermeabile?"
    on the bag's page): off the page a noun may name the catalogue's only dress in a
    question about the shop ("can I rent a dress for a wedding?"), whose answer must stay
    general; and a question that only comes from a product page without naming anything
    ("posso pagare a rate?") is the FAQ's."""
    if not slug:
        return "", ""
    if attribute or (named and page.strip() == PAGE_PREFIX + slug):
        return slug, attribute
    return "", ""


def answer_product(answer: ProductAnswer | None, page: str) -> tuple[str, str]:
    if answer is None:
        return "", ""
    return ticket_product(answer.slug, answer.attribute, bool(answer.question.named), page)


def product_of_event(data: object) -> dict | None:
    """The product a logged question was about, if any (the log is ours, but old rows and
    other writers may hold anything)."""
    product = data.get("product") if isinstance(data, dict) else None
    if not isinstance(product, dict) or not isinstance(product.get("slug"), str):
        return None
    attribute = product.get("attribute") if isinstance(product.get("attribute"), str) else ""
    answered_by = product.get("answered_by")
    return {"slug": product["slug"][:MAX_SLUG], "attribute": attribute[:20],
            "answered_by": answered_by if answered_by in ANSWERED_BY else "",
            "named": bool(product.get("named"))}


def last_product_answer(events: list, slug: str) -> dict | None:
    """The latest answer about `slug` among a conversation's logged questions (from the
    catalogue or a note), as the marketing contract logs it; None when there is none."""
    for event in reversed(events):
        asked = product_of_event(event.data)
        if asked and asked["slug"] == slug and asked["answered_by"] in ("catalogue", "note"):
            return {k: asked[k] for k in ("slug", "attribute", "answered_by")}
    return None


def product_feedback_buttons(language: str, slug: str) -> tuple[tuple[str, str], ...]:
    entity = json.dumps({"entry_id": PRODUCT_FEEDBACK + slug}, ensure_ascii=False)
    return ((say(language, "yes"), f"/feedback_helpful{entity}"),
            (say(language, "no"), f"/feedback_unhelpful{entity}"))


def feedback_product(raw: object) -> str:
    """The slug a thumbs button's entity names, or "" when it names none (a KB entry)."""
    if not isinstance(raw, str) or not raw.startswith(PRODUCT_FEEDBACK):
        return ""
    slug = raw[len(PRODUCT_FEEDBACK):]
    return slug if 0 < len(slug) <= MAX_SLUG and slug.isprintable() else ""


def shop_today(timezone: ZoneInfo, now: datetime) -> date:
    """The shop's calendar day: a restock date is "tomorrow" on the shop's clock."""
    return now.astimezone(timezone).date()


def consult(desk: ProductDesk | None, text: str, language: str, page: str,
            today: date) -> ProductAnswer | None:
    """The desk's answer; a failure of the product path (a bad catalogue row, a bug) must
    not cost the customer the FAQ answer, so it is logged and the FAQ path runs."""
    if desk is None:
        return None
    try:
        return desk.consult(text, language, page, today)
    except Exception:
        log.exception("the product path failed; answering from the FAQ")
        return None
