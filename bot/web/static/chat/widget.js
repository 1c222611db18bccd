/*
 * supportbot chat widget: a floating launcher and chat panel for Rasa 3.6. Plain JavaScript,
 * no build step. Embed after /vendor/socket.io.min.js (optional) and /static/chat/widget.css:
 *   <script src="/static/chat/widget.js" data-config="/chat/config.json"></script>
 *
 * Protocol
 * - Config: GET data-config -> {rasa_url, socket_path, rest_url, support_email, language, title,
 *   suggestions_url, max_message_chars, ...}.
 * - Language: the page's own (<html lang>) when the widget speaks it, else the browser's.
 * - Greeting: shown in the chat from the start (never sent, never stored); until the customer
 *   writes, up to 3 suggested questions under it: GET suggestions_url?language=&count=3 ->
 *   {language, questions: [string]}. A click sends the question as if typed.
 * - Length: a message over max_message_chars is never cut: Send is disabled and a notice says
 *   why (the server refuses one too, with a message in the customer's language).
 * - socket.io (Rasa's socketio channel, session_persistence: true): on "connect" emit
 *   "session_request" {session_id: stored id | null}; Rasa answers "session_confirm" <id>.
 *   Send "user_uttered" {message, session_id, customData: ctx, metadata: ctx} with
 *   ctx = {language, page, page_url}; receive "bot_uttered" {text, quick_replies | buttons}.
 * - REST fallback (no socket.io, or no session within 4 s): POST rest_url
 *   {sender, message, metadata: ctx} -> [{recipient_id, text?, buttons?, image?}].
 *   Availability probe: GET the REST channel's health route (the folder of rest_url).
 * - End-of-chat rating: the bot's goodbye carries a custom payload {data: {ask_rating: true,
 *   language}} (socket.io emits the `data` object itself, REST wraps it: {custom: {data}}),
 *   asked only when the customer wrote more than the goodbye; closing the panel after the
 *   customer wrote something asks too (GET rating_url
 *   ?conversation_id= -> {rated, asked, language} | 404). POST rating_url {conversation_id, rating,
 *   comment} -> 201 | 409 already rated | 4xx/5xx (the comment stays for another try).
 *   "No thanks" POSTs end_url {conversation_id}: the conversation ended without a rating.
 * Safety: message text is never parsed as HTML; only textContent and createElement.
 * localStorage: supportbot.session (id), supportbot.transcript (last 100), supportbot.open,
 * supportbot.rating ({session, state: asked | sent | dismissed, language}).
 */
(() => {
  "use strict";
  const SCRIPT = document.currentScript || document.querySelector("script[data-config]");
  const KEY = { session: "supportbot.session", transcript: "supportbot.transcript", open: "supportbot.open",
    rating: "supportbot.rating" };
  const MAX_LEN = 1000, MAX_STORED = 100, THROTTLE_MS = 700, CONNECT_TIMEOUT_MS = 4000;
  const REPLY_TIMEOUT_MS = 15000, REST_TIMEOUT_MS = 45000, RETRY_MAX_MS = 60000;
  const MAX_COMMENT = 1000, THANKS_MS = 4000;
  const PAGE_LANG = String(document.documentElement.lang || "").slice(0, 2).toLowerCase();
  const LANG = PAGE_LANG === "it" || PAGE_LANG === "en" ? PAGE_LANG
    : String(navigator.language || "it").toLowerCase().startsWith("en") ? "en" : "it";
  const SUGGESTIONS = 3;
  const T = {
    it: {
      title: "Assistenza", open: "Apri la chat di assistenza", close: "Chiudi la chat", send: "Invia",
      input: "Scrivi un messaggio", placeholder: "Scrivi la tua domanda…", you: "Tu:", bot: "Assistente:",
      typing: "L'assistente sta scrivendo…", feedback: "Ti è stata utile questa risposta?",
      helpful: "Sì, utile", unhelpful: "No, non utile", mail: " Scrivici a ",
      down: "L'assistente è momentaneamente non disponibile.",
      slow: "L'assistente ci sta mettendo più del solito: attendi ancora un momento.",
      greeting: "Ciao! Sono l'assistente virtuale del negozio: rispondo subito alle domande su "
        + "spedizioni, resi, pagamenti e prodotti e, se serve, passo la tua domanda a una persona del nostro team.",
      suggested: "Domande frequenti:",
      tooLong: (max) => `Il messaggio è troppo lungo: puoi inviare al massimo ${max} caratteri. Accorcialo per poterlo inviare.`,
    },
    en: {
      title: "Support", open: "Open the support chat", close: "Close the chat", send: "Send",
      input: "Type a message", placeholder: "Type your question…", you: "You:", bot: "Assistant:",
      typing: "The assistant is typing…", feedback: "Was this answer helpful?",
      helpful: "Yes, helpful", unhelpful: "Not helpful", mail: " Write to us at ",
      down: "The assistant is temporarily unavailable.",
      slow: "The assistant is taking longer than usual: please wait a moment.",
      greeting: "Hi! I'm the shop's virtual assistant: I answer questions about shipping, returns, "
        + "payments and products straight away and, if needed, pass your question on to a person on our team.",
      suggested: "Frequently asked questions:",
      tooLong: (max) => `Your message is too long: you can send at most ${max} characters. Please shorten it to send it.`,
    },
  }[LANG];
  // The rating prompt speaks the conversation's language, which may not be the page's.
  const R = {
    it: {
      ask: "Come valuti questa chat?", scale: "1 = per niente soddisfatto, 5 = molto soddisfatto",
      score: (n) => `Voto ${n} su 5`, comment: "Vuoi aggiungere un commento? (facoltativo)",
      send: "Invia valutazione", skip: "No, grazie", pick: "Scegli un voto da 1 a 5.",
      sending: "Invio in corso…", thanks: "Grazie per la tua valutazione!",
      already: "Questa chat è già stata valutata: grazie!",
      failed: "Non siamo riusciti a inviare la valutazione. Riprova tra poco: il tuo commento è ancora qui.",
    },
    en: {
      ask: "How would you rate this chat?", scale: "1 = not satisfied at all, 5 = very satisfied",
      score: (n) => `Rating ${n} of 5`, comment: "Would you like to add a comment? (optional)",
      send: "Send rating", skip: "No, thanks", pick: "Please choose a rating from 1 to 5.",
      sending: "Sending…", thanks: "Thank you for your rating!",
      already: "This chat has been rated already: thank you!",
      failed: "We couldn't send your rating. Please try again in a moment: your comment is still here.",
    },
  };
  const state = {
    config: null, socket: null, mode: "connecting", connecting: false, retries: 0, retryTimer: 0,
    replyTimer: 0, lastSent: 0, status: "", transcript: [], ui: {},
    rating: { node: null, language: LANG, score: 0, busy: false, parts: {} },
  };

  // ---- helpers --------------------------------------------------------------------------
  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
      if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else node.setAttribute(k, v);
    }
    node.append(...children);
    return node;
  }
  function load(key, fallback) {
    try { const raw = localStorage.getItem(key); return raw === null ? fallback : JSON.parse(raw); } catch { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, typeof value === "string" ? value : JSON.stringify(value)); } catch { /* private mode, quota */ }
  }
  function newId() {
    if (crypto.randomUUID) return crypto.randomUUID();
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }
  function storedSession() {
    try { return localStorage.getItem(KEY.session) || null; } catch { return null; }
  }
  function sessionId(id = storedSession() || newId()) {
    save(KEY.session, id);
    return id;
  }
  function context() {
    return { language: LANG, page: document.body.dataset.page || "", page_url: location.href };
  }

  // Text with line breaks and http(s) links, built without ever parsing HTML.
  function richText(text) {
    const frag = document.createDocumentFragment();
    String(text).split("\n").forEach((line, i) => {
      if (i) frag.append(el("br"));
      let last = 0;
      for (const m of line.matchAll(/https?:\/\/[^\s<>"']+/g)) {
        const url = m[0].replace(/[.,;:!?)\]]+$/, "");
        frag.append(line.slice(last, m.index), link(url) || url);
        last = m.index + url.length;
      }
      frag.append(line.slice(last));
    });
    return frag;
  }
  function link(url, text = url) {
    try {
      const { protocol, href } = new URL(url);
      if (protocol === "mailto:") return el("a", { href, text });
      if (protocol !== "http:" && protocol !== "https:") return null;
      return el("a", { href, target: "_blank", rel: "noopener noreferrer", text });
    } catch { return null; }
  }

  // ---- UI -----------------------------------------------------------------------------------
  function buildUi() {
    const ui = state.ui;
    ui.launcher = el("button", { type: "button", class: "sb-launcher", "data-testid": "chat-launcher", "aria-label": T.open,
      "aria-expanded": "false", "aria-controls": "sb-panel", onclick: () => (ui.panel.hidden ? openPanel() : closePanel()) });
    ui.title = el("h2", { class: "sb-title", id: "sb-title", text: T.title });
    ui.status = el("div", { class: "sb-status", "data-testid": "chat-status", role: "status", hidden: "" });
    ui.messages = el("div", { class: "sb-messages", "data-testid": "chat-messages", role: "log", "aria-live": "polite",
      "aria-relevant": "additions", "aria-labelledby": "sb-title", tabindex: "0" });
    ui.typing = el("div", { class: "sb-typing", "data-testid": "chat-typing", role: "status", hidden: "" },
      el("span", { class: "sb-sr", text: T.typing }), ...[1, 2, 3].map(() => el("span", { "aria-hidden": "true" })));
    ui.panel = el("section", { id: "sb-panel", class: "sb-panel", "data-testid": "chat-panel", role: "dialog",
      "aria-labelledby": "sb-title", hidden: "", onkeydown: (e) => { if (e.key === "Escape") closePanel(); } },
      el("div", { class: "sb-header" }, ui.title, el("button", { type: "button", class: "sb-close", "aria-label": T.close,
        onclick: closePanel })),
      ui.status, ui.messages, ui.typing, buildForm());
    ui.popup = el("div", { class: "sb-rating-pop", "data-testid": "rating-popup", role: "dialog", hidden: "",
      tabindex: "-1", onkeydown: (e) => { if (e.key === "Escape") dismissRating(); } });
    ui.root = el("div", { class: "sb-root", lang: LANG }, ui.panel, ui.popup, ui.launcher);
    document.body.append(ui.root);
    ui.messages.append(buildWelcome());
    state.transcript = loadTranscript();
    state.transcript.forEach(renderMessage);
    const rating = ratingRecord();
    if (rating && rating.state === "asked") askRating("chat", rating.language, false);
    setOpen(load(KEY.open, false) === true, false);
  }
  // The greeting and, until the customer writes, the suggested questions (filled in later).
  function buildWelcome() {
    const ui = state.ui;
    ui.suggestions = el("div", { class: "sb-buttons sb-suggestions", "data-testid": "chat-suggestions", role: "group",
      "aria-labelledby": "sb-suggested", hidden: "" },
      el("p", { id: "sb-suggested", class: "sb-suggested", text: T.suggested }));
    return el("div", { class: "sb-msg sb-msg--bot sb-welcome", "data-testid": "chat-welcome" },
      el("span", { class: "sb-sr", text: T.bot }),
      el("div", { class: "sb-bubble", "data-testid": "chat-greeting", text: T.greeting }), ui.suggestions);
  }
  // No maxlength on the input: it would cut a pasted text silently; an over-long one is kept
  // whole, Send is disabled and the notice says what to do.
  function buildForm() {
    const ui = state.ui;
    ui.input = el("textarea", { id: "sb-input", class: "sb-input", "data-testid": "chat-input", rows: "1",
      placeholder: T.placeholder, "aria-describedby": "sb-counter sb-limit",
      oninput: updateCounter, onkeydown: (e) => { // Enter sends, Shift+Enter is a new line
        if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); submitText(); }
      } });
    ui.counter = el("span", { id: "sb-counter", class: "sb-counter", "data-testid": "chat-counter" });
    ui.limit = el("p", { id: "sb-limit", class: "sb-limit", "data-testid": "chat-limit", role: "status" });
    ui.send = el("button", { type: "submit", class: "sb-send", "data-testid": "chat-send", "aria-label": T.send });
    updateCounter();
    return el("form", { class: "sb-form", onsubmit: (e) => { e.preventDefault(); submitText(); } },
      el("label", { for: "sb-input", class: "sb-sr", text: T.input }), ui.input, ui.send, ui.counter, ui.limit);
  }
  function setOpen(open, focus = true) {
    const { root, panel, launcher, input, messages } = state.ui;
    panel.hidden = !open;
    root.classList.toggle("sb-root--open", open); // on phones the full-screen panel hides the launcher
    launcher.setAttribute("aria-expanded", String(open));
    save(KEY.open, open);
    if (open) messages.scrollTop = messages.scrollHeight;
    if (focus) (open ? input : launcher).focus();
  }
  function openPanel() {
    setOpen(true);
    // A rating prompt shown when the chat closed goes back into the chat.
    if (!state.ui.popup.hidden && state.rating.node) placeRating("chat", false);
    else state.ui.popup.hidden = true;
  }
  function closePanel() {
    setOpen(false);
    offerRating();
  }
  // The server's limit (from the config), counted as it counts: characters, not UTF-16 units.
  function maxLength() {
    const max = state.config && state.config.max_message_chars;
    return Number.isInteger(max) && max > 0 ? max : MAX_LEN;
  }
  function typedLength() {
    return Array.from(state.ui.input.value.trim()).length;
  }
  function tooLong() {
    return typedLength() > maxLength();
  }
  function updateCounter() {
    const { input, counter, limit, send } = state.ui, max = maxLength(), over = tooLong();
    counter.textContent = `${typedLength()}/${max}`;
    counter.classList.toggle("sb-counter--over", over);
    send.disabled = over;
    if (over) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    const notice = over ? T.tooLong(max) : "";
    if (limit.textContent !== notice) limit.textContent = notice;
  }
  // kind: "" (hidden), "down" or "slow"; the support address becomes a mailto link.
  function setStatus(kind) {
    const { status } = state.ui, email = state.config && state.config.support_email;
    state.status = kind;
    status.hidden = !kind;
    status.className = kind ? `sb-status sb-status--${kind}` : "sb-status";
    const mail = kind && typeof email === "string" && /^[^\s@<>"?&]+@[^\s@<>"?&]+$/.test(email) && link(`mailto:${email}`, email);
    status.replaceChildren(...(!kind ? [] : mail ? [T[kind], T.mail, mail] : [T[kind]]));
  }
  function showTyping(on) {
    state.ui.typing.hidden = !on;
    if (on) state.ui.messages.scrollTop = state.ui.messages.scrollHeight;
  }

  // ---- transcript ---------------------------------------------------------------------------
  // A message: {id, from: "bot"|"user", text, buttons: [{title, payload}], image?, disabled?, chosen?}
  function toMessage(m, from) {
    if (!m || typeof m !== "object") return null;
    const buttons = (Array.isArray(m.quick_replies) ? m.quick_replies : Array.isArray(m.buttons) ? m.buttons : [])
      .filter((b) => b && b.payload !== undefined && b.payload !== null)
      .map((b) => ({ title: String(b.title ?? b.payload), payload: String(b.payload) }));
    let image = m.image || (m.attachment && m.attachment.payload && m.attachment.payload.src);
    image = typeof image === "string" && /^https?:\/\//i.test(image) ? image : undefined;
    const text = typeof m.text === "string" ? m.text : "";
    if (!text && !buttons.length && !image) return null;
    return { id: typeof m.id === "string" ? m.id : newId(), from, text, buttons, image, disabled: m.disabled === true,
      chosen: typeof m.chosen === "string" ? m.chosen : undefined };
  }
  function loadTranscript() {
    const stored = load(KEY.transcript, []);
    return (Array.isArray(stored) ? stored : []).map((m) => toMessage(m, m && m.from === "user" ? "user" : "bot"))
      .filter(Boolean).slice(-MAX_STORED);
  }
  function addMessage(msg) {
    state.transcript = [...state.transcript, msg].slice(-MAX_STORED);
    save(KEY.transcript, state.transcript);
    renderMessage(msg);
    const shown = state.ui.messages.querySelectorAll(":scope > [data-msg-id]");
    for (let i = 0; i < shown.length - MAX_STORED; i++) shown[i].remove();
  }
  function removeMessage(msg) {
    state.transcript = state.transcript.filter((m) => m !== msg);
    save(KEY.transcript, state.transcript);
    const node = state.ui.messages.querySelector(`[data-msg-id="${CSS.escape(msg.id)}"]`);
    if (node) node.remove();
  }
  function renderMessage(msg) {
    const who = msg.from === "user" ? "user" : "bot";
    const bubble = el("div", { class: "sb-bubble", "data-testid": "msg-text" }, richText(msg.text));
    if (msg.image) bubble.append(link(msg.image) || "");
    const node = el("div", { class: `sb-msg sb-msg--${who}`, "data-testid": `msg-${who}`, "data-msg-id": msg.id },
      el("span", { class: "sb-sr", text: who === "user" ? T.you : T.bot }), bubble);
    if (msg.buttons.length) node.append(renderButtons(msg));
    state.ui.messages.append(node);
    state.ui.messages.scrollTop = state.ui.messages.scrollHeight;
  }
  function renderButtons(msg) {
    const allFeedback = msg.buttons.every((b) => b.payload.startsWith("/feedback_"));
    const group = el("div", { class: allFeedback ? "sb-buttons sb-buttons--feedback" : "sb-buttons",
      "data-testid": "msg-buttons", role: "group", "aria-label": allFeedback ? T.feedback : msg.text || T.bot });
    for (const b of msg.buttons) {
      const kind = b.payload.startsWith("/feedback_") ? feedbackKind(b) : "";
      const thumb = kind === "up" ? "👍" : "👎", hasThumb = /[👍👎]/u.test(b.title);
      const btn = el("button", { type: "button", class: kind ? `sb-choice sb-feedback sb-feedback--${kind}` : "sb-choice",
        "data-payload": b.payload, text: kind && !hasThumb ? `${thumb} ${b.title}` : b.title,
        "aria-label": kind && hasThumb && b.title.replace(/[\s👍👎\u{1F3FB}-\u{1F3FF}]/gu, "") === ""
          ? T[kind === "up" ? "helpful" : "unhelpful"] : b.title,
        onclick: () => choose(msg, b, group) });
      if (kind) btn.setAttribute("data-feedback", kind);
      group.append(btn);
    }
    markButtons(msg, group);
    return group;
  }
  function feedbackKind(b) {
    return /👎|negat|\bno\b|_no\b|down|bad|not|unhelpful|inutile/u.test(`${b.payload} ${b.title}`.toLowerCase()) ? "down" : "up";
  }
  function markButtons(msg, group) {
    for (const btn of group.querySelectorAll("button")) {
      btn.disabled = msg.disabled;
      if (msg.chosen === undefined) btn.removeAttribute("aria-pressed");
      else btn.setAttribute("aria-pressed", String(btn.dataset.payload === msg.chosen));
    }
  }
  function choose(msg, button, group) {
    if (msg.disabled) return;
    const update = (disabled, chosen) => {
      Object.assign(msg, { disabled, chosen });
      save(KEY.transcript, state.transcript);
      markButtons(msg, group);
    };
    update(true, button.payload);
    state.ui.input.focus(); // the clicked button is disabled now: focus would drop to the page
    throttled(() => deliver(button.payload, button.title, () => update(false, undefined)));
  }
  // A suggested question is sent as if the customer had typed it.
  function suggest(question) {
    const { input, suggestions } = state.ui;
    suggestions.hidden = true; // at once: a second click must not send it twice
    input.focus();
    throttled(() => deliver(question, question, () => { if (!input.value) { input.value = question; updateCounter(); } }));
  }
  async function fetchSuggestions() {
    const url = state.config.suggestions_url;
    if (typeof url !== "string" || state.transcript.some((m) => m.from === "user")) return;
    try {
      const query = new URL(url, location.href);
      query.searchParams.set("language", LANG);
      query.searchParams.set("count", String(SUGGESTIONS));
      const res = await fetch(query, { headers: { Accept: "application/json" } });
      const body = res.ok ? await res.json() : null;
      const questions = body && Array.isArray(body.questions) ? body.questions : [];
      showSuggestions(questions.filter((q) => typeof q === "string" && q).slice(0, SUGGESTIONS));
    } catch { /* the greeting alone still says what to ask */ }
  }
  function showSuggestions(questions) {
    const { suggestions } = state.ui;
    if (!questions.length || state.transcript.some((m) => m.from === "user")) return;
    suggestions.querySelectorAll("button").forEach((b) => b.remove());
    suggestions.append(...questions.map((q) => el("button", { type: "button", class: "sb-choice sb-suggestion",
      "data-testid": "chat-suggestion", text: q, onclick: () => suggest(q) })));
    suggestions.hidden = false;
  }

  // ---- sending --------------------------------------------------------------------------------
  // Spaces sends at least THROTTLE_MS apart; nothing the customer sends is dropped.
  function throttled(send) {
    const now = Date.now(), wait = Math.max(0, state.lastSent + THROTTLE_MS - now);
    state.lastSent = now + wait;
    setTimeout(send, wait);
  }
  function submitText() {
    const { input } = state.ui, text = input.value.trim();
    if (!text || tooLong()) return; // never cut: the notice under the input says why
    input.value = "";
    updateCounter();
    throttled(() => deliver(text, text, () => { if (!input.value) { input.value = text; updateCounter(); } }));
  }
  // Shows the customer's bubble and sends `payload`; if Rasa is unreachable the bubble goes and onFail runs.
  function deliver(payload, display, onFail) {
    const bubble = { id: newId(), from: "user", text: display, buttons: [] };
    state.ui.suggestions.hidden = true; // the customer has asked: the suggestions have done their job
    addMessage(bubble);
    waitForReply();
    if (state.mode === "socket" && state.socket && state.socket.connected) {
      const ctx = context();
      state.socket.emit("user_uttered", { message: payload, session_id: sessionId(), customData: ctx, metadata: ctx });
      return;
    }
    sendRest(payload).then(
      (list) => { list.forEach(onBotMessage); stopWaiting(); },
      () => { removeMessage(bubble); stopWaiting(); onFail(); markDown(); });
  }
  async function sendRest(message) {
    if (!state.config) throw new Error("no config");
    const res = await fetch(state.config.rest_url, {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sessionId(), message, metadata: context() }),
      signal: AbortSignal.timeout ? AbortSignal.timeout(REST_TIMEOUT_MS) : undefined,
    });
    if (!res.ok) throw new Error(`REST ${res.status}`);
    const body = await res.json();
    if (state.mode !== "socket") markUp("rest");
    return Array.isArray(body) ? body : [];
  }
  function waitForReply() {
    showTyping(true);
    clearTimeout(state.replyTimer);
    state.replyTimer = setTimeout(() => { showTyping(false); if (state.status !== "down") setStatus("slow"); }, REPLY_TIMEOUT_MS);
  }
  function stopWaiting() {
    clearTimeout(state.replyTimer);
    showTyping(false);
    if (state.status === "slow") setStatus("");
  }
  function onBotMessage(raw) {
    const custom = customPayload(raw);
    if (custom && custom.ask_rating === true) {
      // Something to rate: the customer wrote more than the goodbye itself.
      if (state.transcript.filter((m) => m.from === "user").length > 1) askRating("chat", custom.language);
      stopWaiting();
    }
    const msg = toMessage(raw && { ...raw, id: undefined, disabled: false, chosen: undefined }, "bot");
    if (!msg) return;
    addMessage(msg);
    stopWaiting();
  }
  // REST wraps a custom payload as {custom: {...}}; socket.io emits Rasa's custom `data` as is.
  function customPayload(raw) {
    if (!raw || typeof raw !== "object") return null;
    let custom = raw.custom !== undefined ? raw.custom : raw;
    if (custom && typeof custom === "object" && custom.data && typeof custom.data === "object") custom = custom.data;
    return custom && typeof custom === "object" ? custom : null;
  }

  // ---- end-of-chat rating -----------------------------------------------------------------------
  function ratingRecord() {
    const record = load(KEY.rating, null), id = storedSession();
    return record && typeof record === "object" && id && record.session === id ? record : null;
  }
  function rememberRating(stage) {
    save(KEY.rating, { session: storedSession(), state: stage, language: state.rating.language });
  }
  function ratingSettled() {
    const record = ratingRecord();
    return !!record && (record.state === "sent" || record.state === "dismissed");
  }
  // Closing the chat asks too, once the customer has written something and the server says
  // the conversation has a question and is not rated yet (maybe from another tab).
  async function offerRating() {
    const id = storedSession(), url = state.config && state.config.rating_url;
    if (!id || typeof url !== "string" || ratingSettled() || !state.transcript.some((m) => m.from === "user")) return;
    try {
      const query = new URL(url, location.href);
      query.searchParams.set("conversation_id", id);
      const res = await fetch(query, { headers: { Accept: "application/json" } });
      const status = res.ok ? await res.json() : null;
      if (!status || storedSession() !== id || !state.ui.panel.hidden) return;
      if (status.rated === true) {
        state.rating.language = status.language === "en" ? "en" : "it";
        rememberRating("sent");
        removeRating();
      } else if (status.asked === true) askRating("popup", status.language);
    } catch { /* no prompt: rating is optional */ }
  }
  function askRating(where, language, focus = true) {
    if (ratingSettled() || !storedSession()) return;
    const r = state.rating, lang = language === "en" || language === "it" ? language : r.language;
    if (!r.node || r.language !== lang) {
      const typed = r.node ? r.parts.comment.value : "";
      if (r.node) r.node.remove();
      r.language = lang;
      r.node = buildRating(R[lang], typed);
    }
    rememberRating("asked");
    placeRating(where, focus);
  }
  function placeRating(where, focus) {
    const { node } = state.rating, { popup, messages } = state.ui;
    if (where === "popup") {
      popup.setAttribute("aria-label", R[state.rating.language].ask);
      popup.replaceChildren(node);
      popup.hidden = false;
      if (focus) popup.focus();
    } else {
      popup.hidden = true;
      messages.append(node);
      messages.scrollTop = messages.scrollHeight;
    }
  }
  function buildRating(t, typed) {
    const r = state.rating, id = newId(), parts = (r.parts = {});
    r.score = 0;
    parts.scores = [1, 2, 3, 4, 5].map((n) => el("button", { type: "button", class: "sb-score",
      "data-testid": `rating-${n}`, "aria-pressed": "false", "aria-label": t.score(n), text: String(n),
      onclick: () => pickScore(n) }));
    parts.comment = el("textarea", { id: `sb-rc-${id}`, class: "sb-rating-comment", "data-testid": "rating-comment",
      rows: "2", maxlength: String(MAX_COMMENT), "aria-describedby": `sb-rn-${id}`, oninput: countComment });
    parts.comment.value = typed;
    parts.counter = el("span", { id: `sb-rn-${id}`, class: "sb-counter", "data-testid": "rating-counter" });
    parts.note = el("p", { class: "sb-rating-note", "data-testid": "rating-note", role: "status" });
    parts.send = el("button", { type: "submit", class: "sb-rating-send", "data-testid": "rating-send", text: t.send });
    countComment();
    return el("form", { class: "sb-rating", "data-testid": "rating", lang: r.language, "aria-labelledby": `sb-rt-${id}`,
      onsubmit: (e) => { e.preventDefault(); sendRating(); } },
      el("fieldset", { class: "sb-rating-scores" }, el("legend", { id: `sb-rt-${id}`, text: t.ask }),
        el("div", { class: "sb-score-row" }, ...parts.scores), el("p", { class: "sb-rating-scale", text: t.scale })),
      el("label", { for: `sb-rc-${id}`, text: t.comment }), parts.comment, parts.counter,
      el("div", { class: "sb-rating-actions" }, parts.send,
        el("button", { type: "button", class: "sb-rating-skip", "data-testid": "rating-skip", text: t.skip,
          onclick: dismissRating })),
      parts.note);
  }
  function countComment() {
    const { comment, counter } = state.rating.parts;
    counter.textContent = `${comment.value.length}/${MAX_COMMENT}`;
  }
  function pickScore(n) {
    const r = state.rating;
    r.score = n;
    r.parts.scores.forEach((b, i) => b.setAttribute("aria-pressed", String(i + 1 === n)));
    r.parts.note.textContent = "";
  }
  async function sendRating() {
    const r = state.rating, t = R[r.language], { note, send, comment, scores } = r.parts;
    if (r.busy) return;
    if (!r.score) { note.textContent = t.pick; scores[0].focus(); return; }
    r.busy = true;
    send.disabled = true;
    note.textContent = t.sending;
    try {
      const res = await fetch(new URL(state.config.rating_url, location.href), {
        method: "POST", headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ conversation_id: storedSession(), rating: r.score, comment: comment.value }),
      });
      if (res.ok || res.status === 409) return finishRating(res.ok ? t.thanks : t.already);
      note.textContent = t.failed;
    } catch { note.textContent = t.failed; } finally { r.busy = false; send.disabled = false; }
  }
  function finishRating(text) {
    const { node } = state.rating, { popup, launcher } = state.ui;
    rememberRating("sent");
    state.rating.node = null;
    node.replaceChildren(el("p", { class: "sb-rating-thanks", "data-testid": "rating-thanks", role: "status", text }));
    if (!popup.hidden) setTimeout(() => {
      if (popup.contains(document.activeElement)) launcher.focus();
      if (popup.contains(node)) popup.hidden = true;
    }, THANKS_MS);
  }
  function dismissRating() {
    const inPopup = !state.ui.popup.hidden, hadFocus = state.rating.node && state.rating.node.contains(document.activeElement);
    rememberRating("dismissed");
    logEnd();
    removeRating();
    if (hadFocus || inPopup) (inPopup ? state.ui.launcher : state.ui.input).focus();
  }
  function logEnd() {  // "no thanks": the conversation ends without a rating (best effort)
    if (!state.config || !state.config.end_url) return;
    fetch(new URL(state.config.end_url, location.href), {
      method: "POST", headers: { "Content-Type": "application/json" }, keepalive: true,
      body: JSON.stringify({ conversation_id: storedSession() }),
    }).catch(() => {});
  }
  function removeRating() {
    if (state.rating.node) state.rating.node.remove();
    state.rating.node = null;
    state.ui.popup.hidden = true;
  }

  // ---- connection -------------------------------------------------------------------------------
  async function connect() {
    if (state.connecting) return;
    state.connecting = true;
    clearTimeout(state.retryTimer);
    state.retryTimer = 0;
    try {
      if (!state.config && !(await loadConfig())) return markDown(true);
      if (typeof window.io === "function" && (await trySocket())) return markUp("socket");
      if (await probeRest()) return markUp("rest");
      markDown(true);
    } finally { state.connecting = false; }
  }
  async function loadConfig() {
    try {
      const res = await fetch(SCRIPT.dataset.config, { headers: { Accept: "application/json" } });
      const config = res.ok ? await res.json() : null;
      if (!config || typeof config.rest_url !== "string") return false;
      state.config = config;
      if (typeof config.title === "string" && config.title) state.ui.title.textContent = config.title;
      updateCounter();
      fetchWaitingAnswers();
      fetchSuggestions();
      return true;
    } catch { return false; }
  }
  // Operators' answers that arrived while this chat was closed (same device, same session).
  async function fetchWaitingAnswers() {
    const id = storedSession();
    if (!id || typeof state.config.answers_url !== "string") return;
    try {
      const url = new URL(state.config.answers_url, location.href);
      url.searchParams.set("session_id", id);
      const res = await fetch(url);
      const list = res.ok ? await res.json() : [];
      if (Array.isArray(list)) list.forEach(onBotMessage);
    } catch { /* best effort: the answer stays on the ticket */ }
  }
  // Resolves true once Rasa confirmed a session over socket.io, false after an error or 4 s.
  function trySocket() {
    return new Promise((resolve) => {
      const { rasa_url: url, socket_path: path } = state.config;
      const socket = window.io(url, { path: path || "/socket.io/", transports: ["websocket", "polling"],
        reconnection: false, timeout: CONNECT_TIMEOUT_MS });
      const timer = setTimeout(() => finish(false), CONNECT_TIMEOUT_MS);
      function finish(ok) {
        clearTimeout(timer);
        if (!ok) { socket.removeAllListeners(); socket.close(); }
        resolve(ok);
      }
      socket.on("connect", () => socket.emit("session_request", { session_id: storedSession() }));
      socket.on("connect_error", () => finish(false));
      socket.on("session_confirm", (data) => {
        const id = typeof data === "string" ? data : data && data.session_id;
        sessionId(id ? String(id) : undefined);
        state.socket = socket;
        finish(true);
      });
      socket.on("bot_uttered", onBotMessage);
      socket.on("disconnect", () => {
        if (state.socket !== socket) return;
        state.socket = null;
        state.mode = "rest";
        scheduleRetry(1000);
      });
    });
  }
  function probeRest() { // GET on the REST channel's health route, e.g. /webhooks/rest/
    return fetch(new URL(".", new URL(state.config.rest_url, location.href))).then((res) => res.ok, () => false);
  }
  function markUp(mode) {
    state.mode = mode;
    state.retries = 0;
    if (state.status === "down") setStatus("");
  }
  // From a failed send, retry only if no connection attempt is running or planned.
  function markDown(fromConnect = false) {
    state.mode = "down";
    setStatus("down");
    if (fromConnect || (!state.connecting && !state.retryTimer)) scheduleRetry();
  }
  function scheduleRetry(delay) {
    clearTimeout(state.retryTimer);
    const backoff = Math.min(RETRY_MAX_MS, 2000 * 2 ** state.retries++) * (0.8 + Math.random() * 0.4);
    state.retryTimer = setTimeout(() => { state.retryTimer = 0; connect(); }, delay || backoff);
  }

  const start = () => { buildUi(); connect(); };
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
