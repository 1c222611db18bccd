// Text only: nothing from a question or an answer is ever parsed as HTML.
const out = document.getElementById("out");
function el(tag, text, cls) { const e = document.createElement(tag); if (text) e.textContent = text; if (cls) e.className = cls; return e; }
document.getElementById("ask").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const params = new URLSearchParams({ q: document.getElementById("q").value });
  const lang = document.getElementById("lang").value; if (lang) params.set("language", lang);
  out.replaceChildren(el("p", "…", "meta"));
  const res = await fetch("/api/kb/search?" + params);
  const body = await res.json();
  if (!res.ok) { out.replaceChildren(el("p", typeof body.detail === "string" ? body.detail : "Invalid question.", "decision escalate")); return; }
  const box = el("div", "", "decision " + body.kind);
  const labels = { answer: "Answer", clarify: "Did you mean…", escalate: "Escalate to a person" };
  box.append(el("strong", labels[body.kind]));
  if (body.kind === "answer") box.append(el("p", body.candidates[0].answer));
  const list = el("ul");
  for (const c of body.candidates) list.append(el("li", `${c.score.toFixed(3)} · ${c.matched_question} (${c.key})`));
  box.append(list, el("p", `${body.latency_ms.toFixed(1)} ms · KB version ${body.kb_version}`, "meta"));
  out.replaceChildren(box);
});
