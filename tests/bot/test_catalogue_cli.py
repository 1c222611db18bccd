"""`supportbot catalogue ...`, run as a subprocess the way a shop owner runs it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.bot.test_cli import fails, ok, run

FIXTURES = Path(__file__).resolve().parent.parent / "catalogue" / "fixtures"


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("catalogue-cli")
    out = ok(run(var_dir, "catalogue", "import", str(FIXTURES / "merchant_rss.xml")))
    assert "2 added, 0 changed, 0 removed, 0 unchanged; catalogue version 1" in out
    out = ok(run(var_dir, "catalogue", "import", str(FIXTURES / "merchant.tsv"),
                 "--language", "en"))
    assert "[en]: 2 added" in out and "catalogue version 2" in out
    return var_dir


def test_reimport_changes_nothing(shop):
    out = ok(run(shop, "catalogue", "import", str(FIXTURES / "merchant_rss.xml")))
    assert "0 added, 0 changed, 0 removed, 2 unchanged; catalogue version 2" in out


def test_list_and_show(shop):
    lines = ok(run(shop, "catalogue", "list")).splitlines()
    assert len(lines) == 4
    assert any(line.startswith("borsa-tote-aurora") and " it " in line for line in lines)
    assert len(ok(run(shop, "catalogue", "list", "--language", "it")).splitlines()) == 2
    out = ok(run(shop, "catalogue", "show", "borsa-tote-aurora"))
    assert "Borsa tote Aurora in pelle" in out and "40 x 12 x 31 cm" in out
    assert "AUR-TOTE-CAM" in out and "out of stock, back 2026-12-15" in out
    assert "&amp;" not in out and "<p>" not in out
    fails(run(shop, "catalogue", "show", "no-such-product"), "no product 'no-such-product'")


def test_a_bad_file_lists_its_problems_and_stores_nothing(shop, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,price,availability,language\n"
                   "A,Borsa,49 EUR,in stock,it\nB,Sciarpa,cheap,in stock,it\n"
                   "A,Borsa,49 EUR,someday,it\n", encoding="utf-8")
    message = fails(run(shop, "catalogue", "import", str(bad)), "nothing stored",
                    "line 3: price 'cheap'", "line 4: availability 'someday'")
    assert "line 4: id 'a' is already on line 2" in message  # the message is lower-cased
    assert len(ok(run(shop, "catalogue", "list", "--language", "it")).splitlines()) == 2


def test_encoding_hint_and_option(shop, tmp_path):
    feed = tmp_path / "cp1252.csv"
    feed.write_bytes("id,title,price,availability\nX,Perché,5 EUR,in stock\n".encode("cp1252"))
    fails(run(shop, "catalogue", "import", str(feed), "--language", "it", "--dry-run"),
          "not utf-8 at line 2", "--encoding cp1252")
    out = ok(run(shop, "catalogue", "import", str(feed), "--language", "it", "--dry-run",
                 "--encoding", "cp1252"))
    assert "1 added, 0 changed, 2 removed" in out and "dry run: nothing stored" in out
    assert len(ok(run(shop, "catalogue", "list", "--language", "it")).splitlines()) == 2


def test_notes_are_listed_withdrawn_and_published(shop):
    """An operator's answer learned for one product can be read and taken back from the CLI."""
    from catalogue.notes import add_note
    from core import Settings, session_scope

    url = Settings(var_dir=shop, database_url="").resolved_database_url
    with session_scope(url) as session:
        note = add_note(session=session, slug="borsa-tote-aurora", language="it",
                        attribute="care", question="si lava?", answer="Solo panno umido.")
    out = ok(run(shop, "catalogue", "notes", "borsa-tote-aurora"))
    assert f"#{note.id} [it] care" in out and "Q: si lava?" in out and "A: Solo panno" in out
    assert "Solo panno" not in ok(run(shop, "catalogue", "notes", "sciarpa"))
    assert "now withdrawn" in ok(run(shop, "catalogue", "note", str(note.id), "--withdraw"))
    assert "Solo panno" not in ok(run(shop, "catalogue", "notes", "borsa-tote-aurora"))
    assert "Solo panno" in ok(run(shop, "catalogue", "notes", "borsa-tote-aurora",
                                  "--status", "withdrawn"))
    assert "now published" in ok(run(shop, "catalogue", "note", str(note.id), "--publish"))
    fails(run(shop, "catalogue", "note", "99999", "--publish"), "note 99999 does not exist")
    fails(run(shop, "catalogue", "note", str(note.id)), "--publish or --withdraw")
    fails(run(shop, "catalogue", "notes", "x", "--status", "maybe"), "status must be one of")
