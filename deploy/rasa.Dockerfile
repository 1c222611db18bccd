# The Rasa image: Rasa 3.6 on Python 3.10 (it supports 3.8-3.10 only), the product's Rasa
# project with its boundary (limits, channels, launcher), and the model trained at build time
# from the same files `supportbot run` trains from. One process: deploy/rasa/serve.py.
# Build from the repository root: docker build -f deploy/rasa.Dockerfile .
FROM python:3.10.16-slim-bookworm

# The environment bot.conversation.rasa_runtime gives Rasa (_ENV), with the project here.
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    TF_CPP_MIN_LOG_LEVEL=3 \
    PYTHONWARNINGS=ignore \
    SQLALCHEMY_SILENCE_UBER_WARNING=1 \
    RASA_TELEMETRY_ENABLED=false \
    PYTHONPATH=/opt/rasa-project \
    SUPPORTBOT_RASA_PORT=5005

RUN groupadd --system --gid 10001 rasa \
    && useradd --system --uid 10001 --gid rasa --create-home --home-dir /home/rasa rasa

COPY bot/conversation/rasa_project/requirements.txt /tmp/requirements.txt
RUN pip install --no-cache-dir -r /tmp/requirements.txt && rm /tmp/requirements.txt

WORKDIR /opt/rasa-project
# The whole project: config, domain, data, and the modules Rasa loads from it.
COPY bot/conversation/rasa_project/ ./
COPY deploy/rasa/endpoints.yml deploy/rasa/serve.py ./

# As rasa_runtime.ensure_model trains it (same command, Rasa's cache outside the project),
# under a fixed name: the image holds exactly one model.
RUN RASA_CACHE_DIRECTORY=/tmp/rasa-cache rasa train --config config.yml --domain domain.yml \
        --data data --out /opt/rasa-models --fixed-model-name supportbot \
    && rm -rf /tmp/rasa-cache \
    && test -f /opt/rasa-models/supportbot.tar.gz

USER 10001:10001
EXPOSE 5005
# /status answers 200 only once the model is loaded, as HAProxy's check in bot.cluster_proxy.
HEALTHCHECK --interval=10s --timeout=5s --start-period=120s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/status?token=%s' % (os.environ['SUPPORTBOT_RASA_PORT'], os.environ['SUPPORTBOT_RASA_AUTH_TOKEN']), timeout=4)"]
CMD ["python", "/opt/rasa-project/serve.py"]
