"""`supportbot replay`: the loop replayed through the product's own ticket path."""

import json

import pytest

from bot.replay import ReplayError, Turn, rates, replay
from tests.bot.test_cli import fails, ok, run
from tests.knowledge.test_evaluation import TOPICS


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _kb(tmp_path):
    rows = [{"text": f"question about {w} and {words[(i + 1) % 6]}", "label": label}
            for label, words in TOPICS.items() for i, w in enumerate(words)]
    return _write(tmp_path / "kb.jsonl", rows)


def test_a_question_answered_by_an_operator_is_answered_next_time(tmp_path):
    """Each question is asked twice, word for word: whatever the model, the second time it is
    answered with what the operator taught (a copy of a KB question is always answered)."""
    asked = [f"how do I get a {w} for my order" for w in ("voucher", "refund", "invoice")]
    stream = _write(tmp_path / "stream.jsonl", [
        {"text": t, "label": label}
        for t, label in zip(asked, ("giftcard", "refund", "invoice"), strict=True)
        for _ in range(2)])
    report = replay(_kb(tmp_path), stream, embedder="hashing", seed_share=0.0, work_dir=tmp_path)
    overall = report["overall"]
    assert report["seed"] == {"labels": 0, "questions": 0}
    assert overall["all"]["questions"] == 6 and overall["all"]["wrong"] == 0
    # The first time: no topic known, the operator answers; the second: taught, answered.
    assert overall["unknown"]["questions"] == 3 and overall["unknown"]["resolved"] == 0
    assert overall["known"]["questions"] == 3 and overall["known"]["resolved"] == 1.0
    assert report["learning"]["operator_answers"] == 3
    assert report["learning"]["entries_created"] == 3


def test_a_seeded_faq_answers_its_own_questions_and_oos_goes_to_a_person(tmp_path):
    kb = _kb(tmp_path)
    stream = _write(tmp_path / "stream.jsonl", [
        *[json.loads(line) for line in kb.read_text().splitlines()],
        {"text": "volcano giraffe saxophone nebula", "label": "oos"}])
    report = replay(kb, stream, embedder="hashing", seed_share=1.0, seed_per_label=6,
                    work_dir=tmp_path)
    assert report["seed"] == {"labels": 6, "questions": 36}
    assert report["overall"]["known"]["resolved"] == 1.0  # each one is a KB question
    assert report["overall"]["oos"]["questions"] == 1
    assert report["overall"]["oos"]["wrong"] == 0 and report["overall"]["oos"]["escalated"] == 1
    assert report["learning"]["operator_answers"] == 1
    assert len(report["quarters"]) == 4


def test_rates_count_resolved_over_answerable_and_the_rest_over_all():
    turns = [Turn("known", "right"), Turn("known", "clarify_hit"), Turn("known", "wrong"),
             Turn("unknown", "escalated"), Turn("oos", "clarify_miss"), Turn("oos", "escalated")]
    figures = rates(turns)
    assert figures["resolved"] == 0.5  # 2 of the 4 answerable
    assert figures["wrong"] == round(1 / 6, 4)
    assert figures["escalated"] == 0.5
    assert figures["clarify_offered"] == round(2 / 6, 4) and figures["clarify_hit"] == 0.5


@pytest.mark.parametrize("stream_lines, words", [
    (['{"text": "a", "label": "shipping"}', "", '{"text": "b", "label": "refund"}'],
     ["line 2", "empty line"]),
    (['{"text": "a", "label": "shipping"}', '{"text": "b", "label": "weather"}'],
     ["line 2", "'weather'", "not in the kb file"]),
    (['{"text": "a", "label": "oos"}'], ["no question of the stream"]),
    (['{"text": "a", "label": "shipping"}', "not json"], ["line 2"]),
])
def test_bad_stream_files_are_refused_with_their_line_numbers(tmp_path, stream_lines, words):
    stream = tmp_path / "stream.jsonl"
    stream.write_text("\n".join(stream_lines) + "\n\n")  # trailing blank lines are fine
    with pytest.raises(ReplayError) as info:
        replay(_kb(tmp_path), stream, embedder="hashing", work_dir=tmp_path)
    for word in words:
        assert word in str(info.value).lower()


def test_cli_replay_reports_and_refuses_bad_files(tmp_path):
    kb = _kb(tmp_path)
    stream = _write(tmp_path / "stream.jsonl",
                    [{"text": "question about refund", "label": "refund"},
                                                {"text": "what is a nebula", "label": "oos"}])
    report = json.loads(ok(run(tmp_path, "replay", "--kb", str(kb), "--stream", str(stream),
                               "--json")))
    assert report["stream"] == 2 and set(report["overall"]) == {"all", "known", "unknown", "oos"}
    text = ok(run(tmp_path, "replay", "--kb", str(kb), "--stream", str(stream)))
    assert "quarter 4:" in text and "learning:" in text
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "x", "label": "weather"}\n')
    fails(run(tmp_path, "replay", "--kb", str(kb), "--stream", str(bad)), "line 1", "weather")
