"""The `supportbot` command, run as a subprocess the way an operator runs it."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import DEMO_KB

SUPPORTBOT = Path(sys.executable).parent / "supportbot"


def run(var_dir, *args, input=None, env=None):
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(var_dir), "SUPPORTBOT_EMBEDDER": "hashing",
           "SUPPORTBOT_DATABASE_URL": "", "NO_COLOR": "1", **(env or {})}
    command = ([str(SUPPORTBOT)] if SUPPORTBOT.exists()
               else [sys.executable, "-m", "bot.commands.main"])
    return subprocess.run(command + list(args), env=env, cwd=var_dir, capture_output=True,
                          text=True, timeout=120, input=input)


def ok(result):
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def fails(result, *words):
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout, result.stderr
    message = (result.stderr + result.stdout).lower()
    for word in words:
        assert word.lower() in message, message
    return message


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("cli")
    out = ok(run(var_dir, "kb", "import", str(DEMO_KB)))
    assert "148 created, 0 updated, 0 unchanged" in out
    return var_dir


def test_reimport_is_unchanged(demo_dir):
    assert "0 created, 0 updated, 148 unchanged" in ok(run(demo_dir, "kb", "import", str(DEMO_KB)))


def test_list(demo_dir):
    lines = ok(run(demo_dir, "kb", "list", "--limit", "200")).splitlines()
    assert len(lines) == 148
    assert any("en-shipping-cost" in line for line in lines)
    it_lines = ok(run(demo_dir, "kb", "list", "--language", "it", "--limit", "3")).splitlines()
    assert len(it_lines) == 3 and all(" it " in line for line in it_lines)


def test_show(demo_dir):
    out = ok(run(demo_dir, "kb", "show", "en-shipping-cost"))
    assert "en-shipping-cost" in out and "How much is shipping?" in out
    assert "history:" in out and "v1" in out and "imported from demo_kb.yaml" in out


def test_search_json(demo_dir):
    out = ok(run(demo_dir, "kb", "search", "How much is shipping?", "--json"))
    body = json.loads(out)
    assert body["kind"] == "answer" and body["candidates"][0]["key"] == "en-shipping-cost"
    text = ok(run(demo_dir, "kb", "search", "Quanto costa la spedizione?", "--language", "it"))
    assert text.startswith("ANSWER") and "it-shipping-cost" in text


def test_export_csv(demo_dir, tmp_path):
    out = ok(run(demo_dir, "kb", "export", "--format", "csv"))
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 148
    assert {"key", "language", "questions", "answer"} <= set(rows[0])
    target = tmp_path / "kb.json"
    assert "148 entries written" in ok(run(demo_dir, "kb", "export", "--format", "json", "-o",
                                           str(target)))
    assert len(json.loads(target.read_text())["entries"]) == 148


def test_stats(demo_dir):
    stats = json.loads(ok(run(demo_dir, "kb", "stats")))
    assert stats["entries"] == 148 and stats["by_language"]["it"] >= 60


def test_reindex(demo_dir):
    assert "index rebuilt" in ok(run(demo_dir, "kb", "reindex"))


def test_import_nonexistent_file(tmp_path):
    fails(run(tmp_path, "kb", "import", str(tmp_path / "missing.csv")), "error", "missing.csv")


def test_import_invalid_utf8(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_bytes(b"language,questions,answer\nen,q?,a\nen,q2?,caf\xe9\n")
    fails(run(tmp_path, "kb", "import", str(path)), "line 3", "utf-8", "nothing imported")
    stats = json.loads(ok(run(tmp_path, "kb", "stats")))
    assert stats["entries"] == 0


def test_import_bad_rows_lists_problems(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("language,questions,answer\nen,q?,a\nxx,q2?,b\n")
    fails(run(tmp_path, "kb", "import", str(path)), "line 3", "unknown language")


def test_show_unknown(demo_dir):
    fails(run(demo_dir, "kb", "show", "999999"), "999999")
    fails(run(demo_dir, "kb", "show", "no-such-key"), "no-such-key")


@pytest.mark.parametrize("question", ["", "   "])
def test_search_empty(demo_dir, question):
    fails(run(demo_dir, "kb", "search", question), "empty")


def test_search_too_long(demo_dir):
    fails(run(demo_dir, "kb", "search", "a" * 1500), "too long")


def test_export_unknown_format(demo_dir):
    result = run(demo_dir, "kb", "export", "--format", "xml")
    assert "unknown format" in result.stderr
    fails(result, "unknown format")


def test_eval_missing_file(tmp_path):
    fails(run(tmp_path, "eval", "--kb", "missing.jsonl", "--queries", "missing.jsonl"),
          "missing.jsonl")


def test_eval_malformed_file(tmp_path):
    kb = tmp_path / "kb.jsonl"
    kb.write_text('{"text": "a", "label": "x"}\nnot json\n')
    fails(run(tmp_path, "eval", "--kb", str(kb), "--queries", str(kb)), "line 2")


def test_unknown_command(tmp_path):
    fails(run(tmp_path, "kb", "frobnicate"), "frobnicate")


def test_option_out_of_range(tmp_path):
    fails(run(tmp_path, "kb", "list", "--limit", "0"), "limit")


def test_list_unknown_status(demo_dir):
    fails(run(demo_dir, "kb", "list", "--status", "bogus"), "status")


def test_show_huge_number(demo_dir):
    fails(run(demo_dir, "kb", "show", "99999999999999999999999"), "no knowledge-base entry")


def test_import_directory(tmp_path):
    folder = tmp_path / "folder.csv"
    folder.mkdir()
    fails(run(tmp_path, "kb", "import", str(folder)), "folder.csv")


def test_run_without_the_rasa_environment_says_what_to_install(tmp_path):
    """Every port `run` checks before looking for Rasa is a free one, so that a product
    already running on this machine (default ports busy) cannot answer first."""
    from bot.stack import free_port

    result = run(tmp_path, "run", "--port", str(free_port()), "--rasa-port", str(free_port()),
                 env={"SUPPORTBOT_RASA_VENV": str(tmp_path / "missing"),
                      "SUPPORTBOT_INBOUND_SMTP_PORT": str(free_port()),
                      "SUPPORTBOT_SMTP_PORT": str(free_port())})
    fails(result, "rasa environment is missing", "make setup", "python 3.10")


def test_run_on_a_busy_port_fails_clearly(tmp_path):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        fails(run(tmp_path, "run", "--port", str(port)), f"port {port}", "busy")
        fails(run(tmp_path, "run", "--rasa-port", str(port), "--port", "18767"), "--rasa-port")


def test_chat_with_no_bot_running_fails_clearly(tmp_path):
    fails(run(tmp_path, "chat", "--url", "http://127.0.0.1:9", input="ciao\n"), "not reachable",
          "supportbot run")


@pytest.mark.parametrize("args", [["run", "--port", "0"], ["run", "--rasa-port", "70000"],
                                  ["run", "--port", "abc"]])
def test_run_rejects_bad_ports(tmp_path, args):
    fails(run(tmp_path, *args))


def test_chat_shows_a_refused_message_and_goes_on(tmp_path):
    """A message the chat channel refuses (413: too long) is a reply to show, not a dead
    bot; the next message still goes through."""
    import http.server
    import threading

    class Bot(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            if len(body["message"]) > 10:
                status, reply = 413, {"description": "Payload Too Large", "status": 413,
                                      "message": "the message is longer than 10 characters"}
            else:
                status, reply = 200, [{"recipient_id": body["sender"], "text": "Ciao!"}]
            data = json.dumps(reply).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Bot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = run(tmp_path, "chat", "--url", f"http://127.0.0.1:{server.server_port}",
                     input="a very long message indeed\nciao\n")
    finally:
        server.shutdown()
    assert result.returncode == 0, result.stderr
    assert "longer than 10 characters" in result.stdout and "bot: Ciao!" in result.stdout


def tiny_faq(folder: Path) -> Path:
    """A real small FAQ: three answers, one way of asking each."""
    path = folder / "faq.csv"
    path.write_text("question,answer,language\n"
                    "Quanto costa la spedizione?,5 euro,it\n"
                    "Posso fare un reso?,Sì entro 30 giorni,it\n"
                    "Avete un negozio a Bologna?,Sì in centro,it\n", encoding="utf-8")
    return path


def test_calibrating_a_kb_too_small_to_calibrate_says_so(tmp_path):
    ok(run(tmp_path, "kb", "import", str(tiny_faq(tmp_path))))
    fails(run(tmp_path, "kb", "calibrate"), "too small to calibrate", "default thresholds")


def test_calibrate_shows_the_model_expected_rates_and_reliability(tmp_path):
    ok(run(tmp_path, "kb", "import", str(DEMO_KB)))
    out = ok(run(tmp_path, "kb", "calibrate"))
    assert "confidence model version 1: answer when P(right) >=" in out
    assert "assumed: no log yet" in out and "expected:" in out and "budget 2.0%)" in out
    assert "at most" in out
    assert "reliability of P(right) (ECE" in out and "bundled bank" in out
    assert "confidence model version 2" in ok(run(tmp_path, "kb", "calibrate"))


@pytest.mark.parametrize("budget", ["0.5", "0", "lots"])
def test_a_wrong_answer_budget_outside_the_range_is_refused(tmp_path, budget):
    fails(run(tmp_path, "kb", "calibrate", env={"SUPPORTBOT_WRONG_ANSWER_BUDGET": budget}),
          "wrong_answer_budget")


def test_the_product_prepares_a_kb_too_small_to_calibrate(tmp_path):
    """`supportbot run` on a first small FAQ starts, on the default thresholds."""
    from bot.product import prepare
    from core import Settings

    settings = Settings(var_dir=tmp_path, embedder="hashing", index_sync_interval_s=0)
    assistant = prepare(settings, tiny_faq(tmp_path))
    try:
        assert not assistant.kb.is_calibrated() and assistant.kb.thresholds().answer >= 0.9
    finally:
        assistant.kb.close()
