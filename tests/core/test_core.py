
import pytest
from sqlalchemy import inspect, text

from core import Settings, dispose_all, get_engine, session_scope
from migrations import upgrade


def test_settings_defaults_and_resolution(tmp_path):
    s = Settings(var_dir=tmp_path, database_url="")
    assert s.resolved_database_url == f"sqlite:///{(tmp_path / 'supportbot.db').resolve()}"
    assert s.resolved_index_dir == tmp_path / "index"
    s2 = Settings(var_dir=tmp_path, database_url="sqlite:///x.db", index_dir=tmp_path / "idx")
    assert s2.resolved_database_url == "sqlite:///x.db"
    assert s2.resolved_index_dir == tmp_path / "idx"


def test_settings_from_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORTBOT_EMBEDDER", "hashing")
    monkeypatch.setenv("SUPPORTBOT_MAX_QUESTION_CHARS", "77")
    s = Settings()
    assert s.var_dir == tmp_path
    assert s.embedder == "hashing"
    assert s.max_question_chars == 77


def test_session_scope_commits_and_rolls_back(tmp_path):
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with session_scope(url) as session:
        session.execute(text("CREATE TABLE t (x INTEGER)"))
        session.execute(text("INSERT INTO t VALUES (1)"))
    with pytest.raises(RuntimeError):
        with session_scope(url) as session:
            session.execute(text("INSERT INTO t VALUES (2)"))
            raise RuntimeError("boom")
    with session_scope(url) as session:
        assert session.execute(text("SELECT x FROM t")).scalars().all() == [1]
    dispose_all()


def test_sqlite_parent_directory_is_created(tmp_path):
    url = f"sqlite:///{tmp_path / 'deep' / 'er' / 'db.sqlite'}"
    upgrade(url)
    assert (tmp_path / "deep" / "er" / "db.sqlite").exists()
    dispose_all()


def test_upgrade_is_idempotent_and_creates_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.db'}"
    upgrade(url)
    upgrade(url)
    tables = set(inspect(get_engine(url)).get_table_names())
    assert {"kb_entries", "kb_questions", "kb_entry_versions", "kb_changes",
            "kb_settings"} <= tables
    dispose_all()


@pytest.mark.parametrize("field, value", [
    ("operators", ["op@shop.example\r\nBcc: attacker@evil.example"]),
    ("operators", ["not an address"]),
    ("mail_from", "Shop <shop@example.com>\nBcc: attacker@evil.example"),
    ("reply_address", "support"),
    ("support_email", "help@shop.example\x00"),
])
def test_mail_addresses_in_settings_are_checked_at_start(tmp_path, field, value):
    """A header-breaking address in the settings would make every operator mail fail;
    it is refused when the product starts, with the setting's name."""
    with pytest.raises(ValueError, match=field):
        Settings(var_dir=tmp_path, **{field: value})


def test_operator_addresses_may_carry_a_name(tmp_path):
    settings = Settings(var_dir=tmp_path, operators=["Marco Rossi <op@shop.example>"])
    assert settings.operators == ["Marco Rossi <op@shop.example>"]
