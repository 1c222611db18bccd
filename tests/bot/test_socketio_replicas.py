"""socket.io across Rasa processes (rasa_project/boundary/socketio_queue.py): a customer
connected to one Rasa process gets an operator's answer that another process pushes, as
`RasaChatDelivery` does through the proxy, which routes Rasa's HTTP API to any process.
The product (app, action endpoint, Rasa process A) runs as in the other live tests; a second
Rasa process B shares its tracker file, its action endpoint and Redis. Redis is reached
through a relay the test can cut: a process still answers its own clients while Redis is
away, and the processes share emits again once it is back.

Redis: a database of its own (and so a pub/sub channel of its own, whose name carries the
database number), so runs of other tests never hear these emits."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from bot.conversation.chat_delivery import RasaChatDelivery
from bot.conversation.rasa_runtime import RasaServer
from bot.conversation.rasa_stores import REDIS_URL_ENV, redis_target, store_environment
from bot.conversation.turns import Turn
from bot.stack import Stack, free_port, start_stack
from core import Settings, session_scope
from escalation import Ticket, record_answer
from tests.bot.socketio_client import SocketChat
from tests.bot.test_rasa_serving import rasa_side
from tests.bot.test_rasa_stores import REDIS_URL, TECHNICAL_PROBLEM, TcpRelay, _redis_up
from tests.conftest import DEMO_KB

pytestmark = pytest.mark.rasa

REDIS_DB = 11
GREETING = "Ciao! Sono l'assistente di Bottega Aurora."  # utter_greet, its start
ANSWER = "Sì, i cani sono benvenuti nel negozio di Milano."


def redis_url_via(port: int) -> str:
    """The test server's Redis (credentials kept) through the relay's port, database 11."""
    parts = urlsplit(REDIS_URL)
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = f"{userinfo}@127.0.0.1:{port}" if userinfo else f"127.0.0.1:{port}"
    return urlunsplit((parts.scheme, netloc, f"/{REDIS_DB}", "", ""))


class Replicas:
    def __init__(self, bot: Stack, b: RasaServer, relay: TcpRelay):
        self.bot, self.a, self.b, self.relay = bot, bot.rasa, b, relay

    def answered_ticket(self, conversation: str) -> Ticket:
        """A ticket of the conversation that an operator has just answered."""
        turn = Turn(conversation_id=conversation, text="Posso portare il cane?",
                    channel="socketio", page="", language="it")
        reply = self.bot.assistant.open_ticket(turn, turn.text, reason="", email="",
                                               consent=False, transcript=())
        record_answer(reply.ticket_id, ANSWER, "op@shop.example", via="console",
                      settings=self.bot.settings)
        with session_scope(self.bot.settings.resolved_database_url) as session:
            ticket = session.get(Ticket, reply.ticket_id)
            session.expunge(ticket)
            return ticket

    async def push_from_b(self, conversation: str, action: str = "utter_greet") -> None:
        """A response of the domain executed by process B, as RasaChatDelivery asks."""
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                f"{self.b.url}/conversations/{conversation}/execute",
                params={"output_channel": "latest", "token": self.b.token},
                json={"name": action})
        assert response.status_code == 200, response.text[:500]


@pytest.fixture(scope="module")
def replicas(tmp_path_factory, rasa_model) -> Iterator[Replicas]:
    if not _redis_up():
        pytest.skip(f"socket.io across processes: no Redis at {REDIS_URL} "
                    "(set SUPPORTBOT_TEST_REDIS_URL)")
    target = redis_target(REDIS_URL)
    relay = TcpRelay((target.host, target.port))
    var = tmp_path_factory.mktemp("replicas")
    # No periodic round of unfinished answers: only process B pushes the operator's answer.
    settings = Settings(var_dir=var, database_url=f"sqlite:///{var / 'bot.db'}",
                        embedder="hashing", index_sync_interval_s=0,
                        rasa_model_dir=rasa_model.parent, redis_url=redis_url_via(relay.port),
                        answer_resume_interval_s=3600)
    tracker = var / "rasa-tracker.db"
    bot = start_stack(settings, model=rasa_model, demo_kb=DEMO_KB, tracker_db=tracker)
    # Started once A runs: A has created the tracker table B shares.
    b = RasaServer(bot.settings, model=rasa_model, port=free_port(),
                   action_url=bot.rasa.action_url, log_path=var / "rasa-b.log",
                   tracker_db=tracker)
    try:
        b.start()
        b.wait_ready(timeout=300)
        yield Replicas(bot, b, relay)
    finally:
        b.stop()
        bot.stop()
        relay.cut()


async def _open_chat(rasa: RasaServer) -> tuple[SocketChat, str]:
    chat = await SocketChat.connect(rasa.url)
    assert chat is not None
    return chat, await chat.session(uuid.uuid4().hex)


async def _say(chat: SocketChat, session: str, text: str) -> str:
    await chat.emit("user_uttered", {"message": text, "session_id": session})
    return (await chat.receive("bot_uttered", timeout=30))["text"]


async def _next_text(chat: SocketChat, timeout: float = 15) -> str:
    try:
        return (await chat.receive("bot_uttered", timeout=timeout))["text"]
    except TimeoutError:
        pytest.fail("a message sent by the other Rasa process never reached the client")


def test_an_operator_answer_pushed_by_another_process_reaches_the_chat(replicas):
    async def scenario() -> None:
        chat, session = await _open_chat(replicas.a)
        try:
            assert (await _say(chat, session, "ciao")).startswith(GREETING)
            ticket = replicas.answered_ticket(session)
            assert RasaChatDelivery(replicas.b.url, replicas.b.token)(ticket)
            assert await _next_text(chat) == (
                f"Ecco la risposta del nostro operatore alla tua richiesta n. {ticket.id}:")
            assert await _next_text(chat) == ANSWER
            # Each once: what comes next is the next message B sends.
            await replicas.push_from_b(session)
            assert (await _next_text(chat)).startswith(GREETING)
        finally:
            await chat.close()

    asyncio.run(scenario())


def test_without_redis_a_process_answers_its_own_clients_and_shares_again_after(replicas):
    async def scenario() -> None:
        chat, session = await _open_chat(replicas.a)
        try:
            assert (await _say(chat, session, "ciao")).startswith(GREETING)
            replicas.relay.cut()  # Redis gone for both processes (locks and emits)
            try:
                polite = await _say(chat, session, "ciao")
            finally:
                replicas.relay.resume()
            assert TECHNICAL_PROBLEM in polite
            # Process A subscribes again within seconds (a bounded back-off); pushes made
            # before that are lost, so B pushes until one arrives.
            for _ in range(15):
                await replicas.push_from_b(session)
                try:
                    text = (await chat.receive("bot_uttered", timeout=2))["text"]
                except TimeoutError:
                    continue
                assert text.startswith(GREETING)
                return
            pytest.fail("process A never listened to Redis again after it came back")
        finally:
            await chat.close()

    asyncio.run(scenario())


def test_rasa_gets_the_redis_url_only_when_redis_is_configured(tmp_path):
    url = "redis://:pw@cache.internal:6380/3"
    assert store_environment(Settings(var_dir=tmp_path, redis_url=url), None)[REDIS_URL_ENV] \
        == url
    assert REDIS_URL_ENV not in store_environment(Settings(var_dir=tmp_path), None)


CHANNEL_SIDE = """
import json, os, pickle, sys
from boundary.channels import GuardedSocketIOInput
from boundary.socketio_queue import REDIS_URL_ENV, _decoded

def manager():
    channel = GuardedSocketIOInput.from_credentials({"session_persistence": True})
    async def handler(message): pass
    channel.blueprint(handler)
    return channel.sio.manager

alone = manager()
os.environ[REDIS_URL_ENV] = sys.argv[1]
shared = manager()
print(json.dumps({
    "alone": type(alone).__module__ + "." + type(alone).__name__,
    "shared": type(shared).__name__, "channel": shared.channel,
    "json": _decoded({"type": "message", "channel": shared.channel.encode(),
                      "data": json.dumps({"method": "emit"})}, shared.channel),
    "pickle": _decoded({"type": "message", "channel": shared.channel.encode(),
                        "data": pickle.dumps({"method": "emit"})}, shared.channel),
}))
"""


def test_without_redis_the_channel_keeps_socketios_own_manager_and_reads_json_only():
    found = rasa_side(CHANNEL_SIDE, "redis://127.0.0.1:6379/7")
    assert found["alone"] == "socketio.asyncio_manager.AsyncManager"  # one process, as before
    assert found["shared"] == "ReplicaQueue" and found["channel"] == "supportbot-socketio-7"
    assert found["json"] == {"method": "emit"}
    assert found["pickle"] is None  # never unpickled: a pickle from Redis would run code
