"""Marketing analytics models: the purchase-stage classifier and topic clustering.

  classifier  trained on data/purchase_stage_examples.yaml, scored on the held-out
              data/purchase_stage_holdout.yaml: accuracy and macro-F1, overall and per language
  topics      synthetic paraphrase-like questions from templates (14 known topics, it/en):
              10k embedded with the real multilingual model (embedding, choice of k,
              k-means and keywords timed apart; purity against the known topics), then
              100k random unit vectors of the same dimension to time the clustering itself

`python -m benchmarks.analytics_models` prints the result and writes
analytics_models.json into benchmarks/results.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"

# topic -> (Italian templates, English templates); {p} product, {c} city, {s} size.
TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "shipping_cost": (["quanto costa la spedizione a {c}?", "spese di spedizione per {c}",
                       "la spedizione per {c} è gratis?"],
                      ["how much is shipping to {c}?", "delivery cost to {c}",
                       "is shipping to {c} free?"]),
    "delivery_time": (["in quanti giorni arriva a {c}?", "tempi di consegna per {c}",
                       "se ordino oggi quando arriva a {c}?"],
                      ["how long does delivery to {c} take?", "delivery time to {c}?",
                       "if I order today when does it reach {c}?"]),
    "size": (["che taglia prendo per {p}?", "{p} veste grande o piccolo?",
              "avete {p} in taglia {s}?"],
             ["what size should I get for the {p}?", "does the {p} run large or small?",
              "do you have the {p} in size {s}?"]),
    "material": (["di che materiale è {p}?", "{p} è in vera pelle?", "composizione di {p}"],
                 ["what is the {p} made of?", "is the {p} real leather?",
                  "fabric composition of the {p}"]),
    "payment": (["posso pagare {p} con paypal?", "accettate carta di credito?",
                 "si può pagare a rate?"],
                ["can I pay for the {p} with paypal?", "do you take credit cards?",
                 "can I pay in instalments?"]),
    "discount": (["c'è uno sconto su {p}?", "codice sconto per {p}", "quando iniziano i saldi?"],
                 ["is there a discount on the {p}?", "promo code for the {p}",
                  "when do the sales start?"]),
    "tracking": (["dov'è il mio ordine di {p}?", "tracking del pacco per {c}",
                  "il pacco con {p} non è arrivato"],
                 ["where is my {p} order?", "tracking my parcel to {c}",
                  "my parcel with the {p} hasn't arrived"]),
    "returns": (["come faccio il reso di {p}?", "voglio restituire {p}",
                 "reso gratuito per {p}?"],
                ["how do I return the {p}?", "I want to send back the {p}",
                 "is returning the {p} free?"]),
    "refund": (["quando arriva il rimborso per {p}?", "non ho ricevuto il rimborso",
                "rimborso del reso di {p}"],
               ["when will I get the refund for the {p}?", "I haven't received my refund",
                "refund for the returned {p}"]),
    "damaged": (["{p} è arrivato rotto", "{p} ha un difetto", "{p} si è rovinato subito"],
                ["the {p} arrived broken", "the {p} has a defect", "the {p} got damaged quickly"]),
    "invoice": (["mi serve la fattura per {p}", "fattura con partita iva", "ricevuta dell'ordine"],
                ["I need the invoice for the {p}", "VAT invoice please", "receipt for my order"]),
    "account": (["ho dimenticato la password", "non riesco ad accedere all'account",
                 "come cancello il mio account?"],
                ["I forgot my password", "I can't log into my account",
                 "how do I delete my account?"]),
    "store_hours": (["orari del negozio di {c}", "il negozio di {c} è aperto la domenica?",
                     "a che ora apre il negozio a {c}?"],
                    ["opening hours of the {c} store", "is the {c} shop open on Sunday?",
                     "what time does the {c} store open?"]),
    "jobs": (["cercate personale a {c}?", "dove mando il curriculum?", "posizioni aperte a {c}"],
             ["are you hiring in {c}?", "where do I send my CV?", "open positions in {c}"]),
}
PRODUCTS = ["sciarpa", "borsa", "scarpe", "cappotto", "maglione", "stivali", "foulard",
            "cintura", "scarf", "bag", "shoes", "coat", "sweater", "boots", "belt", "wallet"]
CITIES = ["Milano", "Roma", "Napoli", "Torino", "Bologna", "Firenze", "London", "Paris",
          "Berlin", "Madrid", "Vienna", "Dublin"]
SIZES = ["S", "M", "L", "XL", "38", "40", "42", "44"]
PREFIXES = ["", "", "", "ciao, ", "scusate, ", "hi, ", "hello, ", "buongiorno, ", "hey "]
SUFFIXES = ["", "", "", " grazie", " thanks", "??", " pls", " per favore"]


def synthetic_questions(n: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """`n` questions and their true topic, half Italian, half English."""
    rng = random.Random(seed)
    names = list(TEMPLATES)
    texts, truth = [], []
    for _ in range(n):
        topic = rng.choice(names)
        template = rng.choice(TEMPLATES[topic][rng.random() < 0.5])
        text = template.format(p=rng.choice(PRODUCTS), c=rng.choice(CITIES), s=rng.choice(SIZES))
        texts.append(rng.choice(PREFIXES) + text + rng.choice(SUFFIXES))
        truth.append(topic)
    return texts, truth


def purity(labels: np.ndarray, truth: list[str]) -> float:
    """Share of questions whose cluster's majority topic is their own."""
    hits = 0
    for c in np.unique(labels):
        members = [truth[i] for i in np.flatnonzero(labels == c)]
        hits += max(members.count(t) for t in set(members))
    return round(hits / len(truth), 4)


def bench_classifier() -> dict:
    from analytics.purchase_stage import HOLDOUT, evaluate, load_examples, train_default
    from knowledge.embedders import make_embedder

    embedder = make_embedder("use-multilingual")
    embedder.warm_up()
    started = time.perf_counter()
    classifier = train_default(embedder)
    trained = time.perf_counter() - started
    holdout = load_examples(HOLDOUT)
    report = evaluate(classifier, holdout)
    started = time.perf_counter()
    for example in holdout[:50]:
        classifier.predict([example.text])
    single = (time.perf_counter() - started) / 50
    return {"holdout": report, "train_seconds": round(trained, 2),
            "predict_one_ms": round(single * 1000, 2), "embedder": embedder.name}


def bench_topics(sample: int = 10_000, large: int = 100_000) -> dict:
    from analytics.topics import choose_k, cluster, ctfidf_keywords, kmeans
    from knowledge.embedders import make_embedder

    embedder = make_embedder("use-multilingual")
    embedder.warm_up()
    texts, truth = synthetic_questions(sample)
    t0 = time.perf_counter()
    vectors = embedder.embed_many(texts)
    t1 = time.perf_counter()
    k = choose_k(vectors)
    t2 = time.perf_counter()
    _, labels = kmeans(vectors, k)
    t3 = time.perf_counter()
    keywords = ctfidf_keywords(texts, labels, k)
    t4 = time.perf_counter()
    _, fixed = kmeans(vectors, len(TEMPLATES))
    real = {"questions": sample, "embed_s": round(t1 - t0, 2), "choose_k_s": round(t2 - t1, 2),
            "chosen_k": k, "kmeans_s": round(t3 - t2, 3), "keywords_s": round(t4 - t3, 3),
            "purity_chosen_k": purity(labels, truth),
            f"purity_k{len(TEMPLATES)}": purity(fixed, truth),
            "keywords": [" ".join(words) for words in keywords]}

    rng = np.random.default_rng(0)
    random_vectors = rng.standard_normal((large, vectors.shape[1])).astype(np.float32)
    random_vectors /= np.linalg.norm(random_vectors, axis=1, keepdims=True)
    big_texts, _ = synthetic_questions(large, seed=1)
    timings = {}
    for label, k_arg in (("k_chosen", None), ("k_40", 40)):
        started = time.perf_counter()
        topics = cluster(random_vectors, big_texts, k=k_arg)
        timings[label] = {"k": len(topics), "seconds": round(time.perf_counter() - started, 2)}
    started = time.perf_counter()
    kmeans(random_vectors, 40)
    timings["kmeans_only_k_40_s"] = round(time.perf_counter() - started, 2)
    random_part = {"vectors": large, "dimension": int(vectors.shape[1]), **timings}
    return {"real_embeddings": real, "random_vectors": random_part}


def run() -> dict:
    return {"cores": os.cpu_count(), "classifier": bench_classifier(), "topics": bench_topics()}


if __name__ == "__main__":
    result = run()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "analytics_models.json").write_text(json.dumps(result, indent=2, ensure_ascii=False))
    print(json.dumps(result, indent=2, ensure_ascii=False))
