import json
from pathlib import Path

import pytest
from sqlalchemy import inspect

from core import get_engine, session_scope
from knowledge import repository as repo
from knowledge.errors import ImportRejected
from knowledge.formats import WRITERS, detect_format
from knowledge.importer import import_file
from knowledge.repository import EntryDraft
from migrations import upgrade
from tests.conftest import DEMO_KB

EXT = {"csv": ".csv", "json": ".json", "yaml": ".yaml", "markdown": ".md", "rasa": ".yml"}


def _import(url, path, **kw):
    with session_scope(url) as s:
        return import_file(Path(path), session=s, **kw)


def _snapshot(url, *, with_meta=True):
    with session_scope(url) as s:
        return {e.key: (tuple(q.text for q in e.questions), e.answer)
                + ((e.language, e.category.value) if with_meta else ())
                for e in repo.list_entries(session=s, limit=10**6)}


def _count(url):
    with session_scope(url) as s:
        return repo.stats(session=s)["entries"]


def _write(tmp_path, name, content):
    p = tmp_path / name
    if isinstance(content, bytes):
        p.write_bytes(content)
    else:
        p.write_text(content, encoding="utf-8")
    return p


SAMPLE = [
    EntryDraft(key="en-ship", language="en", category="pre_purchase", topic="shipping",
               answer="Shipping is free over EUR 59.\n\nBelow that it costs EUR 5.90.",
               questions=("How much is shipping?", "Is delivery free?", "Shipping costs, please")),
    EntryDraft(key="it-ship", language="it", category="pre_purchase", topic="shipping",
               answer="La spedizione è gratuita da 59 €; sotto costa 5,90 €.",
               questions=("Quanto costa la spedizione?", "La consegna è gratis?")),
    EntryDraft(key="en-return", language="en", category="post_purchase", topic="returns",
               answer="You can return items within 30 days, with our prepaid label.",
               questions=("How do I return an item?", "Can I send it back?")),
    EntryDraft(key="en-hours", language="en", category="general", topic="",
               answer="Our customer service answers Monday to Friday, 9 to 18.",
               questions=("When are you open?", "What are your opening hours?")),
]


@pytest.fixture
def sample_url(database_url):
    with session_scope(database_url) as s:
        for d in SAMPLE:
            repo.create_entry(d, session=s)
    return database_url


def _fresh_db(tmp_path, name):
    url = f"sqlite:///{tmp_path / name}"
    upgrade(url)
    return url


@pytest.mark.parametrize("fmt", ["csv", "json", "yaml", "markdown"])
def test_format_round_trip(sample_url, tmp_path, fmt):
    with session_scope(sample_url) as s:
        text = WRITERS[fmt](repo.list_entries(session=s))
    path = _write(tmp_path, "export" + EXT[fmt], text)
    target = _fresh_db(tmp_path, f"rt-{fmt}.db")
    report = _import(target, path)
    assert (report.created, report.updated, report.unchanged) == (len(SAMPLE), 0, 0)
    assert _snapshot(target) == _snapshot(sample_url)
    again = _import(target, path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, len(SAMPLE))
    assert _snapshot(target) == _snapshot(sample_url)


def test_rasa_round_trip_with_language(sample_url, tmp_path):
    with session_scope(sample_url) as s:
        text = WRITERS["rasa"](repo.list_entries(session=s, language="en"))
    path = _write(tmp_path, "nlu.yml", text)
    assert detect_format(path, path.read_bytes()) == "rasa"
    target = _fresh_db(tmp_path, "rasa.db")
    report = _import(target, path, language="en")
    assert report.created == 3
    expected = {k: v[:2] for k, v in _snapshot(sample_url).items() if v[2] == "en"}
    assert _snapshot(target, with_meta=False) == expected
    with session_scope(target) as s:
        assert {e.language for e in repo.list_entries(session=s)} == {"en"}
    assert _import(target, path, language="en").created == 0


@pytest.mark.parametrize("fmt", ["json", "yaml", "markdown"])
def test_demo_kb_round_trips(tmp_path, fmt):
    source = _fresh_db(tmp_path, "demo.db")
    _import(source, DEMO_KB)
    with session_scope(source) as s:
        text = WRITERS[fmt](repo.list_entries(session=s, limit=10**6))
    target = _fresh_db(tmp_path, "t.db")
    assert _import(target, _write(tmp_path, "x" + EXT[fmt], text)).created == 148
    assert _snapshot(target) == _snapshot(source)


def test_demo_kb_csv_round_trip(tmp_path):
    source = _fresh_db(tmp_path, "demo.db")
    _import(source, DEMO_KB)
    with session_scope(source) as s:
        text = WRITERS["csv"](repo.list_entries(session=s, limit=10**6))
    target = _fresh_db(tmp_path, "t.db")
    assert _import(target, _write(tmp_path, "x.csv", text)).created == 148
    assert _snapshot(target) == _snapshot(source)


def test_csv_with_doubled_quotes(database_url, tmp_path):
    # The quotes appear only after the first 4 KiB (the part the reader sniffs).
    rows = "".join(f'en,Question number {i}?,"Answer {i}, with a comma and enough text to push the '
                   f'quotes past the sniffing window of four kilobytes."\n' for i in range(40))
    path = _write(tmp_path, "q.csv", "language,questions,answer\n" + rows
                  + 'en,How do I pick an exchange?,"Choose ""Exchange"", then confirm."\n')
    assert _import(database_url, path).created == 41
    with session_scope(database_url) as s:
        answers = {e.answer for e in repo.list_entries(session=s, limit=100)}
    assert 'Choose "Exchange", then confirm.' in answers


def test_reimport_same_file_changes_nothing(database_url):
    first = _import(database_url, DEMO_KB)
    assert first.created == 148
    with session_scope(database_url) as s:
        version = repo.kb_version(session=s)
    second = _import(database_url, DEMO_KB)
    assert (second.created, second.updated, second.unchanged) == (0, 0, 148)
    with session_scope(database_url) as s:
        assert repo.kb_version(session=s) == version


def test_reimport_with_changed_answer_updates(database_url, tmp_path):
    p = _write(tmp_path, "a.csv", "key,language,questions,answer\nk1,en,Where is my order?,Old.\n")
    _import(database_url, p)
    p.write_text("key,language,questions,answer\nk1,en,Where is my order? | Track my parcel,New.\n")
    report = _import(database_url, p)
    assert (report.created, report.updated) == (0, 1)
    with session_scope(database_url) as s:
        e = repo.get_entry("k1", session=s)
        assert e.answer == "New." and e.version == 2
        assert [q.text for q in e.questions] == ["Where is my order?", "Track my parcel"]
        assert repo.versions_of(e.id, session=s)[0].answer == "Old."


GOOD_ROWS = "".join(f"en,Good question number {i}?,Good answer {i}.\n" for i in range(40))


@pytest.mark.parametrize("content, line", [
    (b"language,questions,answer\nen,q1?,a1\nen,q2?,caf\xe9\n", "line 3"),
    ("language,questions,answer\nen,q1?,a1\nxx,q2?,a2\n", "line 3"),
    ("language,questions,answer\nen,q1?,a1\nen,,a2 without questions\n", "line 3"),
    ("language,questions,answer\n" + GOOD_ROWS + "xx,last?,bad\n", "line 42"),
    ("language,questions,answer\n" + GOOD_ROWS + "en,,no questions\n", "line 42"),
    ("language,questions,answer\n" + GOOD_ROWS + "en,last?,\n", "line 42"),
])
def test_bad_csv_rejected_with_line_numbers_and_nothing_written(database_url, tmp_path,
                                                                content, line):
    path = _write(tmp_path, "bad.csv", content)
    with pytest.raises(ImportRejected) as info:
        _import(database_url, path)
    assert any(p.startswith(line + ":") for p in info.value.problems), info.value.problems
    assert str(path) in str(info.value) and "nothing imported" in str(info.value)
    assert _count(database_url) == 0


def test_bad_csv_lists_every_problem(database_url, tmp_path):
    path = _write(tmp_path, "bad.csv",
                  "language,questions,answer\nen,ok?,fine\nxx,q2?,a2\nen,,a3\nen,q4?,\n")
    with pytest.raises(ImportRejected) as info:
        _import(database_url, path)
    problems = info.value.problems
    assert any(p.startswith("line 3:") and "unknown language 'xx'" in p for p in problems)
    assert any(p.startswith("line 4:") and "no questions" in p for p in problems)
    assert any(p.startswith("line 5:") and "answer is empty" in p for p in problems)
    assert _count(database_url) == 0


def test_csv_missing_columns(database_url, tmp_path):
    path = _write(tmp_path, "bad.csv", "domanda,risposta\nciao?,salve\n")
    with pytest.raises(ImportRejected) as info:
        _import(database_url, path)
    text = " ".join(info.value.problems)
    assert all(part in text for part in ("line 1", "missing column", "answer", "questions"))
    assert _count(database_url) == 0


def test_csv_language_from_option(database_url, tmp_path):
    path = _write(tmp_path, "a.csv", "questions,answer\nDove sei?,A Bologna.\n")
    with pytest.raises(ImportRejected, match="language"):
        _import(database_url, path)
    assert _import(database_url, path, language="it").created == 1
    with session_scope(database_url) as s:
        assert repo.list_entries(session=s)[0].language == "it"


def test_csv_semicolon_and_one_row_per_question(database_url, tmp_path):
    path = _write(tmp_path, "a.csv", "key;language;question;answer\n"
                  "ship;en;How much is shipping?;Free over 59.\n"
                  "ship;en;Delivery cost?;\n"
                  "hours;en;When are you open?;9 to 18.\n")
    assert _import(database_url, path).created == 2
    with session_scope(database_url) as s:
        e = repo.get_entry("ship", session=s)
        assert [q.text for q in e.questions] == ["How much is shipping?", "Delivery cost?"]
        assert e.answer == "Free over 59."


def test_duplicates_inside_one_file_are_merged(database_url, tmp_path):
    path = _write(tmp_path, "dup.csv", "language,questions,answer\n"
                  "en,How much is shipping? | Delivery cost?,Free over 59.\n"
                  "en,how much is SHIPPING | Postage price?,Free over 59.\n"
                  "it,How much is shipping?,Gratis sopra 59.\n")
    report = _import(database_url, path)
    assert report.created == 2
    with session_scope(database_url) as s:
        en = repo.list_entries(session=s, language="en")
        assert len(en) == 1
        assert [q.text for q in en[0].questions] == ["How much is shipping?", "Delivery cost?",
                                                       "Postage price?"]
        assert len(repo.list_entries(session=s, language="it")) == 1


def test_duplicates_with_different_answers_rejected(database_url, tmp_path):
    path = _write(tmp_path, "dup.csv", "language,questions,answer\n"
                  "en,How much is shipping?,Free.\nen,How much is shipping?,Ten euros.\n")
    with pytest.raises(ImportRejected) as info:
        _import(database_url, path)
    assert any("line 3" in p and "line 2" in p for p in info.value.problems)
    assert _count(database_url) == 0


MARKDOWN = """---
language: it
category: pre_purchase
---
# Spedizioni
## Quanto costa la spedizione?
## Quali sono le spese di spedizione?
La spedizione è **gratuita** da 59 €.

Sotto costa 5,90 €.

## Spedite all'estero?
Sì, in tutta l'Unione Europea.

# Pagamenti
## Posso pagare con PayPal?
Sì, accettiamo PayPal.
"""


def test_markdown_faq_page(database_url, tmp_path):
    report = _import(database_url, _write(tmp_path, "faq.md", MARKDOWN))
    assert report.created == 3
    with session_scope(database_url) as s:
        entries = repo.list_entries(session=s)
        assert [[q.text for q in e.questions] for e in entries] == [
            ["Quanto costa la spedizione?", "Quali sono le spese di spedizione?"],
            ["Spedite all'estero?"], ["Posso pagare con PayPal?"]]
        assert entries[0].answer == "La spedizione è **gratuita** da 59 €.\n\nSotto costa 5,90 €."
        assert [e.topic for e in entries] == ["spedizioni", "spedizioni", "pagamenti"]
        assert {(e.language, e.category.value) for e in entries} == {("it", "pre_purchase")}


def test_markdown_problem_lines_count_front_matter(database_url, tmp_path):
    text = "---\nlanguage: en\n---\n# Topic\n\n## Question without answer?\n\n## Other?\nYes.\n"
    with pytest.raises(ImportRejected) as info:
        _import(database_url, _write(tmp_path, "faq.md", text))
    assert any(p.startswith("line 6:") and "answer is empty" in p for p in info.value.problems), \
        info.value.problems


def test_markdown_without_questions(database_url, tmp_path):
    with pytest.raises(ImportRejected, match="no questions found"):
        _import(database_url, _write(tmp_path, "faq.md", "Just a paragraph.\n"), language="en")


def test_markdown_with_crlf_line_endings(database_url, tmp_path):
    _import(database_url, _write(tmp_path, "faq.md", MARKDOWN.replace("\n", "\r\n").encode()))
    with session_scope(database_url) as s:
        entries = repo.list_entries(session=s)
        assert len(entries) == 3 and entries[0].language == "it"


RASA = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hello
    - hi
- intent: faq/shipping_cost
  examples: |
    - How much is shipping?
    - What are the delivery charges?
- intent: faq/opening_hours
  examples: |
    - When are you open?
    - What are your hours?
responses:
  utter_faq/shipping_cost:
  - text: Shipping is free over EUR 59.
  utter_faq/opening_hours:
  - text: Monday to Friday, 9 to 18.
"""


def test_rasa_retrieval_intents(database_url, tmp_path):
    path = _write(tmp_path, "nlu.yml", RASA)
    with pytest.raises(ImportRejected, match="language"):
        _import(database_url, path)
    assert _import(database_url, path, language="en").created == 2
    with session_scope(database_url) as s:
        e = repo.get_entry("shipping_cost", session=s)
        assert [q.text for q in e.questions] == ["How much is shipping?",
                                                 "What are the delivery charges?"]
        assert e.answer == "Shipping is free over EUR 59." and e.language == "en"
        assert repo.get_entry("opening_hours", session=s).answer == "Monday to Friday, 9 to 18."
        assert repo.stats(session=s)["entries"] == 2  # 'greet' is not knowledge


def test_rasa_intent_without_response(database_url, tmp_path):
    path = _write(tmp_path, "nlu.yml",
                  RASA.replace("  utter_faq/opening_hours:\n  - text: Monday to "
                                                     "Friday, 9 to 18.\n", ""))
    with pytest.raises(ImportRejected) as info:
        _import(database_url, path, language="en")
    assert any("faq/opening_hours" in p and p.startswith("line 11:")
               for p in info.value.problems), \
        info.value.problems
    assert _count(database_url) == 0


@pytest.mark.parametrize("content", ['"just a string"', "42", '{"items": []}', "null"])
def test_json_wrong_top_level_type(database_url, tmp_path, content):
    with pytest.raises(ImportRejected, match="expected a list of entries"):
        _import(database_url, _write(tmp_path, "kb.json", content))
    assert _count(database_url) == 0


def test_json_syntax_error_and_entry_numbers(database_url, tmp_path):
    with pytest.raises(ImportRejected) as info:
        _import(database_url, _write(tmp_path, "kb.json", '{"entries": [\n{"a": 1},\n'))
    assert info.value.problems[0].startswith("line ") and "invalid JSON" in info.value.problems[0]
    doc = {"entries": [{"language": "en", "questions": ["q?"], "answer": "a"},
                       {"language": "en", "questions": ["q2?"], "answer": "b", "review_by": "soon"},
                       "not a mapping"]}
    with pytest.raises(ImportRejected) as info:
        _import(database_url, _write(tmp_path, "kb2.json", json.dumps(doc)))
    assert any(p.startswith("entry 2:") and "review_by" in p for p in info.value.problems)
    assert any(p.startswith("entry 3:") for p in info.value.problems)
    assert _count(database_url) == 0


def test_yaml_errors_report_lines(database_url, tmp_path):
    text = ("entries:\n- language: en\n  questions:\n  - a?\n  answer: ok\n"
            "- language: en\n  questions:\n  - b?\n")
    with pytest.raises(ImportRejected) as info:
        _import(database_url, _write(tmp_path, "kb.yaml", text))
    assert any(p.startswith("line 6:") and "answer is empty" in p for p in info.value.problems)
    with pytest.raises(ImportRejected, match="invalid YAML"):
        _import(database_url, _write(tmp_path, "kb2.yaml", "entries: [\n  - {a: 1\n"))
    assert _count(database_url) == 0


def test_oversized_file_rejected(database_url, tmp_path):
    path = _write(tmp_path, "big.csv", "language,questions,answer\n" + GOOD_ROWS)
    with pytest.raises(ImportRejected, match="limit is 100"):
        _import(database_url, path, max_bytes=100)
    assert _count(database_url) == 0


@pytest.mark.parametrize("name", ["empty.csv", "empty.json", "empty.yaml", "empty.md"])
def test_empty_file_rejected(database_url, tmp_path, name):
    with pytest.raises(ImportRejected):
        _import(database_url, _write(tmp_path, name, ""), language="en")
    assert _count(database_url) == 0


def test_header_only_csv_rejected(database_url, tmp_path):
    with pytest.raises(ImportRejected, match="no entries"):
        _import(database_url, _write(tmp_path, "h.csv", "language,questions,answer\n"))


def test_unknown_extension_and_missing_file(database_url, tmp_path):
    with pytest.raises(ImportRejected, match="unknown file type"):
        _import(database_url, _write(tmp_path, "kb.txt", "hello"))
    with pytest.raises(ImportRejected, match="cannot read"):
        _import(database_url, tmp_path / "missing.csv")
    with pytest.raises(ImportRejected, match="unknown format"):
        _import(database_url, _write(tmp_path, "kb.csv", "x"), fmt="xml")


def test_importing_a_directory_is_rejected(database_url, tmp_path):
    folder = tmp_path / "kb.csv"
    folder.mkdir()
    with pytest.raises(ImportRejected):
        _import(database_url, folder)


def test_utf8_bom_accepted(database_url, tmp_path):
    path = _write(tmp_path, "bom.csv",
                  "\ufefflanguage,questions,answer\nen,Hello?,Hi.\n".encode("utf-8"))
    assert _import(database_url, path).created == 1


HOSTILE_ANSWER = "<script>alert('x')</script> '; DROP TABLE kb_entries; -- <b>bold</b>"


def test_hostile_content_stored_verbatim(database_url, tmp_path):
    doc = {"entries": [{"language": "en", "key": "evil'; DELETE FROM kb_questions; --",
                        "questions": ["Robert'); DROP TABLE kb_questions;--",
                                      "<img src=x onerror=alert(1)>?"],
                        "answer": HOSTILE_ANSWER}]}
    _import(database_url, _write(tmp_path, "evil.json", json.dumps(doc)))
    with session_scope(database_url) as s:
        e = repo.get_entry("evil'; DELETE FROM kb_questions; --", session=s)
        assert e.answer == HOSTILE_ANSWER
        assert [q.text for q in e.questions] == ["Robert'); DROP TABLE kb_questions;--",
                                                 "<img src=x onerror=alert(1)>?"]
    tables = set(inspect(get_engine(database_url)).get_table_names())
    assert {"kb_entries", "kb_questions", "kb_entry_versions", "kb_changes"} <= tables
    assert _count(database_url) == 1


def test_csv_export_neutralises_formulas(database_url, tmp_path):
    with session_scope(database_url) as s:
        for i, (q, a) in enumerate([("=1+1?", "=HYPERLINK(\"http://evil\")"), ("+cmd?", "-2+3"),
                                     ("@SUM(A1)?", "@x"), ("Normal?", "Normal answer.")]):
            repo.create_entry(EntryDraft(answer=a, questions=(q,), language="en", key=f"k{i}"),
                              session=s)
        text = WRITERS["csv"](repo.list_entries(session=s))
    import csv
    import io
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        for column, cell in row.items():
            assert not cell.startswith(("=", "+", "-", "@")), (column, cell)
    assert rows[0]["questions"] == "'=1+1?" and rows[0]["answer"] == "'=HYPERLINK(\"http://evil\")"
    assert rows[3]["answer"] == "Normal answer."


def test_import_records_author_and_source(database_url, tmp_path):
    path = _write(tmp_path, "a.csv", "language,questions,answer\nen,Hello?,Hi.\n")
    _import(database_url, path, author="carla")
    with session_scope(database_url) as s:
        e = repo.list_entries(session=s)[0]
        assert e.created_by == "carla" and e.source.value == "imported" and e.source_ref == "a.csv"


def test_demo_kb_contents(database_url):
    report = _import(database_url, DEMO_KB)
    assert report.created == 148 and report.updated == 0
    with session_scope(database_url) as s:
        st = repo.stats(session=s)
        assert st["by_language"].get("it", 0) >= 60 and st["by_language"].get("en", 0) >= 60
        assert set(st["by_category"]) == {"pre_purchase", "post_purchase", "general"}
        entries = repo.list_entries(session=s, limit=1000)
        short = [e.key for e in entries if len(e.questions) < 3]
        assert not short
        assert all(e.answer.strip() for e in entries)
        keys = {e.key for e in entries}
        assert {"en-shipping-cost", "it-shipping-cost"} <= keys


def test_csv_multiline_row_reports_its_first_line(database_url, tmp_path):
    path = _write(tmp_path, "ml.csv", 'language,questions,answer\n'
                  'en,"Where is it?\nWhere can I find it?",Here.\n'
                  'xx,"Bad?\nStill bad?",No.\n')
    with pytest.raises(ImportRejected) as info:
        _import(database_url, path)
    assert any(p.startswith("line 4:") and "unknown language" in p for p in info.value.problems), \
        info.value.problems
