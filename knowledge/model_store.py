"""The confidence model as stored in the database's settings, one per embedder. A stored
model is used only when it loads and was made for this embedder and these risk settings;
every process (replicas, `kb calibrate`) reads and writes it here, so they agree."""

from __future__ import annotations

from core import Settings, session_scope
from knowledge import repository as repo
from knowledge.confidence import ConfidenceModel


def model_setting_name(embedder_name: str) -> str:
    return f"confidence:{embedder_name}"


def read_stored(url: str, embedder_name: str) -> dict | None:
    """The stored model's dict as written by `write_stored` (None: there is none)."""
    with session_scope(url) as session:
        return repo.get_setting(model_setting_name(embedder_name), session=session)


def write_stored(url: str, embedder_name: str, model: ConfidenceModel) -> None:
    with session_scope(url) as session:
        repo.put_setting(model_setting_name(embedder_name), model.as_dict(), session=session)


def stored_version(stored: object) -> int:
    return stored.get("version", 0) if isinstance(stored, dict) else 0


def usable_model(stored: object, embedder_name: str,
                 settings: Settings) -> tuple[ConfidenceModel | None, str | None]:
    """(the model, None) when `stored` can be used; (None, why not) when it cannot; (None,
    None) when nothing is stored."""
    if stored is None:
        return None, None
    try:
        model = ConfidenceModel.from_dict(stored)
    except ValueError as exc:
        return None, str(exc)
    if model.embedder != embedder_name:
        return None, f"it was made for the embedder {model.embedder!r}"
    if (model.budget, model.clarify_at) != (settings.wrong_answer_budget,
                                            settings.clarify_confidence):
        return None, "the risk settings have changed"
    return model, None
