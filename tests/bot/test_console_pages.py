"""The operator console's knowledge base, quarantine and demo mailbox pages, and the
operator accounts (first-run demo account, `supportbot console-user`)."""

from __future__ import annotations

import mailbox
import re
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
from typer.testing import CliRunner

from bot.console.auth import (
    DEMO_EMAIL,
    DEMO_MARKETING_EMAIL,
    authenticate,
    ensure_demo_account,
    load_accounts,
    users_file,
)
from core import Settings, get_settings, session_scope
from escalation.mail_sink import sink_dir
from knowledge import repository as repo
from tests.bot.console_fixtures import EMAIL, HOSTILE


# -- the knowledge base -------------------------------------------------------------------
def test_drafts_come_first_and_can_be_approved_or_rejected(signed_in, add_entry):
    keep = add_entry("Gift wrapping costs 2 euros.", "Do you wrap gifts?", key="en-wrap",
                     status="draft")
    drop = add_entry("We sell cars.", "Do you sell cars?", key="en-cars", status="draft")
    page = signed_in.client.get("/console/kb").text
    assert page.index("Bozze da approvare") < page.index("en-wrap") < page.index("Cerca per testo")
    assert signed_in.post(f"/console/kb/{keep}/status", status="published", back="list"
                          ).headers["location"] == "/console/kb"
    signed_in.post(f"/console/kb/{drop}/status", status="retired", back="list")
    with session_scope(signed_in.url) as session:
        assert repo.get_entry(keep, session=session).status.value == "published"
        assert repo.get_entry(drop, session=session).status.value == "retired"
        last = repo.versions_of(keep, session=session)[-1]
        assert (last.changed_by, last.reason) == (EMAIL, "approvata dalla console")
    assert signed_in.assistant.kb.search("Do you wrap gifts?").entry.key == "en-wrap"
    assert "Nessuna bozza" in signed_in.client.get("/console/kb").text
    refused = signed_in.post(f"/console/kb/{drop}/status", status="draft")
    assert refused.status_code == 400


def test_editing_an_entry_records_the_operator(signed_in):
    response = signed_in.post(
        "/console/kb/en-ship/edit", answer="Shipping is free over EUR 49.",
        questions="How much does shipping cost?\r\nWhat are the delivery fees?")
    assert response.status_code == 303
    with session_scope(signed_in.url) as session:
        entry = repo.get_entry("en-ship", session=session)
        assert entry.answer == "Shipping is free over EUR 49." and entry.version == 2
        assert [q.text for q in entry.questions] == ["How much does shipping cost?",
                                                      "What are the delivery fees?"]
        last = repo.versions_of(entry.id, session=session)[-1]
        assert (last.changed_by, last.reason) == (EMAIL, "modificata dalla console")
    page = signed_in.client.get(f"/console/kb/{entry.id}").text
    assert "v2" in page and EMAIL in page
    signed_in.post("/console/kb/en-ship/status", status="retired")
    signed_in.post("/console/kb/en-ship/status", status="published")
    with session_scope(signed_in.url) as session:
        assert [v.reason for v in repo.versions_of(entry.id, session=session)][-2:] == [
            "ritirata dalla console", "ripristinata dalla console"]


@pytest.mark.parametrize("answer, questions, message", [
    ("", "How much does shipping cost?", "non può essere vuota"),
    ("Free.", "  \n ", "almeno una domanda"),
    ("a" * 20_001, "How much does shipping cost?", "troppo lungo"),
    ("Free.", "q" * 1001, "Modifica rifiutata"),
])
def test_a_bad_edit_changes_nothing(signed_in, answer, questions, message):
    with session_scope(signed_in.url) as session:
        before = repo.get_entry("en-ship", session=session).answer
    response = signed_in.post("/console/kb/en-ship/edit", answer=answer, questions=questions)
    assert response.status_code == 400 and message in response.text
    with session_scope(signed_in.url) as session:
        entry = repo.get_entry("en-ship", session=session)
        assert (entry.version, entry.answer) == (1, before)


def test_kb_search_by_text_or_key_and_escaping(signed_in, add_entry):
    add_entry(f"Answer with {HOSTILE}", "A 100% wool scarf?", key="en-wool")
    by_text = signed_in.client.get("/console/kb", params={"q": "return an"}).text
    assert "en-return" in by_text and "en-ship" not in by_text
    assert "en-ship" in signed_in.client.get("/console/kb", params={"q": "EN-SHIP"}).text
    percent = signed_in.client.get("/console/kb", params={"q": "%"}).text
    assert "en-wool" in percent and "en-ship" not in percent  # % is a character, not a wildcard
    page = signed_in.client.get("/console/kb/en-wool").text
    assert "<script>alert" not in page and "&lt;script&gt;" in page


# -- mail ---------------------------------------------------------------------------------
def reply(sender: str, subject: str, body: str, **headers) -> bytes:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = sender, "assistenza@bottega-aurora.example", subject
    mail["Message-ID"] = make_msgid(domain="mail.example")
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content(body)
    return mail.as_bytes()


def test_quarantined_and_ignored_mail_is_listed_and_shown_escaped(signed_in):
    ticket_id = signed_in.ticket()
    forged = signed_in.services.on_message(
        reply("Mallory <mallory@evil.example>", f"Re: [#T{ticket_id}] {HOSTILE}",
              f"Yes! {HOSTILE}"))
    ooo = signed_in.services.on_message(
        reply(EMAIL, "Fuori sede", "Torno lunedì.", Auto_Submitted="auto-replied"))
    assert (forged.status, ooo.status) == ("quarantined", "ignored")
    page = signed_in.client.get("/console/quarantine").text
    assert "mittente non autorizzato" in page and "risposta automatica" in page
    assert f'href="/console/tickets/{ticket_id}"' in page and "mallory@evil.example" in page
    assert "<script>alert" not in page
    ignored_only = signed_in.client.get("/console/quarantine?status=ignored").text
    assert "Fuori sede" in ignored_only and "mallory" not in ignored_only
    raw = signed_in.client.get(f"/console/quarantine/{forged.inbound_id}").text
    assert "Yes! &lt;script&gt;" in raw and "<script>alert" not in raw
    assert signed_in.load(ticket_id).status == "open"


def test_the_demo_mailbox_lists_and_shows_mail_escaped(signed_in):
    box = sink_dir(signed_in.settings)
    box.parent.mkdir(parents=True, exist_ok=True)
    mail = reply("bot@shop.example", f"[#T7] {HOSTILE}", f"Body {HOSTILE}")
    mailbox.Maildir(box, create=True).add(mail)
    page = signed_in.client.get("/console/mail").text
    key = re.search(r'href="/console/mail/([^"]+)"', page).group(1)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    message = signed_in.client.get(f"/console/mail/{key}")
    assert message.status_code == 200 and "Body &lt;script&gt;" in message.text
    assert "<script>alert" not in message.text


# -- accounts -----------------------------------------------------------------------------
def test_the_first_run_creates_a_demo_account_once(tmp_path, monkeypatch):
    monkeypatch.delenv("SUPPORTBOT_CONSOLE_USERS", raising=False)
    settings = Settings(var_dir=tmp_path)
    passwords = ensure_demo_account(settings)
    assert passwords and ensure_demo_account(settings) is None
    path = users_file(settings)
    assert path == tmp_path / "console_users.json" and path.stat().st_mode & 0o077 == 0
    assert authenticate(path, DEMO_EMAIL, passwords[DEMO_EMAIL]).role == "operator"
    assert authenticate(path, DEMO_MARKETING_EMAIL,
                        passwords[DEMO_MARKETING_EMAIL]).role == "marketing"
    assert authenticate(path, DEMO_EMAIL, passwords[DEMO_MARKETING_EMAIL]) is None
    for password in passwords.values():
        assert password not in path.read_text()
    assert "$argon2id$" in path.read_text()


def test_the_cli_writes_accounts_to_the_configured_file(tmp_path, monkeypatch, request):
    from bot.commands.main import app

    path = tmp_path / "operators.yaml"
    monkeypatch.setenv("SUPPORTBOT_CONSOLE_USERS", str(path))
    get_settings.cache_clear()  # the CLI reads its settings once: read them with this variable
    request.addfinalizer(get_settings.cache_clear)
    runner = CliRunner()
    result = runner.invoke(app, ["console-user", "Anna@Shop.example", "--role", "operator"],
                           input="s3cret-pass\ns3cret-pass\n")
    assert result.exit_code == 0, result.output
    assert "s3cret-pass" not in result.output
    assert set(load_accounts(path)) == {"anna@shop.example"}
    assert authenticate(path, "anna@shop.example", "s3cret-pass")
    bad_role = runner.invoke(app, ["console-user", "b@shop.example", "--role", "admin"],
                             input="s3cret-pass\ns3cret-pass\n")
    short = runner.invoke(app, ["console-user", "b@shop.example"], input="short\nshort\n")
    assert bad_role.exit_code == short.exit_code == 2
    assert set(load_accounts(path)) == {"anna@shop.example"}
