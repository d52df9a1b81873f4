"""policy_bench: dataward's in-process decisions vs cedarpy (Cedar) and regopy (Rego).

One command: ``.venv/bin/python bench/policy_bench.py [--quick]``. A seeded, realistic mix of
requests (mostly purpose-bound use and store of low and medium data, some sharing to the card
processor, some card intake, a few forbidden, unknown-role and third-party requests) is decided by
the default dataward policy and by the equivalent Cedar and Rego policies in
``bench/policy_peers/``. All engines must agree on every request before anything is timed.
The table goes between the ``policy_bench`` markers of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path

import cedarpy

from dataward.policy import Policy, load_policy
from dataward.taxonomy import DataClass
from decision_mix import MixRow, Request, make_requests

ROOT = Path(__file__).resolve().parent.parent
PEERS = Path(__file__).resolve().parent / "policy_peers"

# (weight, actions, classes, role, purpose): who typically asks what, and why.
MIX: list[MixRow] = [
    (30, ("use",), ("low", "medium"), "service", "contract"),
    (12, ("store", "create"), ("low", "medium"), "service", "contract"),
    (12, ("use",), ("low", "medium"), "support", "support"),
    (8, ("use", "store"), ("low",), "billing", "billing"),
    (4, ("use", "store"), ("low", "medium"), "sales", "sales"),
    (5, ("use",), ("medium",), "service", "security"),
    (6, ("use", "store", "create"), ("high",), "authentication", "authentication"),
    (4, ("share",), ("special", "low"), "billing", "billing"),
    (3, ("create", "store", "use"), ("special",), "billing", "billing"),
    (3, ("archive", "destroy"), ("low", "medium", "high"), "service", "legal"),
    (2, ("use", "destroy", "store"), ("low", "medium"), "dpm", "data_subject_request"),
    (3, ("use", "store", "share"), ("low", "high", "special"), "support", "sales"),
    (2, ("create", "store", "use", "share"), ("forbidden",), "support", "support"),
    (1, ("use",), ("low",), "intern", "support"),
    (1, ("share",), ("low", "medium"), "sales", "sales"),
]


# --- the engines ---------------------------------------------------------------------------------
def dataward_decide(policy: Policy) -> Callable[[Sequence[Request]], list[bool]]:
    decide = policy.decide

    def run(reqs: Sequence[Request]) -> list[bool]:
        return [
            decide(action=a, category=c, role=r, purpose=p, recipient=x).allowed
            for a, c, r, p, x in reqs
        ]

    return run


def cedar_entities(policy: Policy) -> list[dict[str, object]]:
    ents: list[dict[str, object]] = []
    for cat in policy.taxonomy:
        parents = [{"type": "Class", "id": cat.data_class.value}]
        parents += [
            {"type": "Receives", "id": name}
            for name, proc in policy.processors.items()
            if cat.name in proc.categories
        ]
        ents.append({"uid": {"type": "Category", "id": cat.name}, "attrs": {}, "parents": parents})
    ents += [
        {"uid": {"type": "Class", "id": dc.value}, "attrs": {}, "parents": []} for dc in DataClass
    ]
    ents += [
        {"uid": {"type": "Receives", "id": n}, "attrs": {}, "parents": []}
        for n in policy.processors
    ]
    ents += [{"uid": {"type": "Role", "id": r}, "attrs": {}, "parents": []} for r in policy.roles]
    return ents


def cedar_request(req: Request) -> dict[str, object]:
    a, c, r, p, x = req
    return {
        "principal": f'Role::"{r}"',
        "action": f'Action::"{a}"',
        "resource": f'Category::"{c}"',
        "context": {"purpose": p, "recipient": x or ""},
    }


def cedar_single(policy: Policy) -> Callable[[Sequence[Request]], list[bool]]:
    text = (PEERS / "dataward.cedar").read_text(encoding="utf-8")
    ents = json.dumps(cedar_entities(policy))

    def run(reqs: Sequence[Request]) -> list[bool]:
        return [
            cedarpy.is_authorized(cedar_request(q), text, ents).decision == cedarpy.Decision.Allow
            for q in reqs
        ]

    return run


def cedar_batch(policy: Policy) -> Callable[[Sequence[Request]], list[bool]]:
    text = (PEERS / "dataward.cedar").read_text(encoding="utf-8")
    ents = json.dumps(cedar_entities(policy))

    def run(reqs: Sequence[Request]) -> list[bool]:
        res = cedarpy.is_authorized_batch([cedar_request(q) for q in reqs], text, ents)
        return [r.decision == cedarpy.Decision.Allow for r in res]

    return run


def rego_engine(policy: Policy) -> Callable[[Sequence[Request]], list[bool]] | None:
    try:
        from regopy import Interpreter
    except ImportError:
        return None
    rego = Interpreter()
    rego.add_module("dataward", (PEERS / "dataward.rego").read_text(encoding="utf-8"))
    rego.add_data(
        {
            "classes": {c.name: c.data_class.value for c in policy.taxonomy},
            "processors": {
                n: {"purpose": p.purpose, "categories": sorted(p.categories)}
                for n, p in policy.processors.items()
            },
        }
    )

    def run(reqs: Sequence[Request]) -> list[bool]:
        out = []
        for a, c, r, p, x in reqs:
            rego.set_input(
                {"action": a, "category": c, "role": r, "purpose": p, "recipient": x or ""}
            )
            res = str(rego.query("x = data.dataward.allow"))
            m = re.search(r'"x":\s*(true|false)', res)
            if m is None:
                raise RuntimeError(f"unexpected Rego output: {res[:200]}")
            out.append(m.group(1) == "true")
        return out

    return run


def _regopy_version() -> str:
    try:
        return metadata.version("regopy")
    except metadata.PackageNotFoundError:
        return "not installed"


def rate(
    run: Callable[[Sequence[Request]], list[bool]], reqs: Sequence[Request], repeat: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        run(reqs)
        best = min(best, time.perf_counter() - t0)
    return len(reqs) / best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="fewer requests (a few seconds)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--no-write", action="store_true", help="do not update BENCHMARKS.md")
    args = ap.parse_args(argv)
    n_dw, n_cedar, n_rego = (200_000, 2_000, 200) if args.quick else (1_000_000, 5_000, 500)

    policy = load_policy()
    reqs = make_requests(policy, n_dw, args.seed, MIX)
    engines = {"dataward": dataward_decide(policy), "cedarpy": cedar_single(policy)}
    has_batch = hasattr(cedarpy, "is_authorized_batch")
    if has_batch:
        engines["cedarpy batch"] = cedar_batch(policy)
    rego = rego_engine(policy)
    if rego is not None:
        engines["regopy"] = rego

    # 1. agreement on every distinct request of the mix (and the Rego subset).
    distinct = sorted(set(reqs), key=lambda q: tuple(str(x) for x in q))
    truth = engines["dataward"](distinct)
    for name, run in engines.items():
        got = run(distinct)
        bad = [q for q, a, b in zip(distinct, truth, got, strict=True) if a != b]
        if bad:
            print(
                f"DISAGREEMENT: {name} differs from dataward on {len(bad)} requests, e.g. {bad[:3]}"
            )
            return 1
    allowed = sum(truth)
    full = ""
    if has_batch and not args.quick:
        # every request the policy knows the names of, through Cedar's batch API
        every = [k for k in policy.decision_table() if k[1] in policy.taxonomy]
        want = [policy.decision_table()[k].allowed for k in every]
        got = engines["cedarpy batch"](every)
        bad = [q for q, a, b in zip(every, want, got, strict=True) if a != b]
        if bad:
            print(f"DISAGREEMENT: Cedar differs on {len(bad)} of all requests, e.g. {bad[:3]}")
            return 1
        full = f" Cedar also agrees on all {len(every):,} requests of the decision table."
        print(full.strip())
    print(
        f"all {len(engines)} engines agree on {len(distinct)} distinct requests "
        f"({allowed} allowed, {len(distinct) - allowed} denied)"
    )

    # 2. throughput on the mix.
    sizes = {"dataward": n_dw, "cedarpy": n_cedar, "cedarpy batch": n_cedar, "regopy": n_rego}
    rates = {}
    for name, run in engines.items():
        rates[name] = rate(run, reqs[: sizes[name]], 3 if name == "dataward" else 1)
        print(f"{name:14s} {rates[name]:>14,.0f} decisions/s")

    cmd = "`.venv/bin/python bench/policy_bench.py" + (" --quick`" if args.quick else "`")
    lines = [
        f"Command: {cmd} (seed {args.seed}; Python {platform.python_version()}, "
        f"cedarpy {metadata.version('cedarpy')}, regopy {_regopy_version()}, "
        "one core, in-process).",
        "",
        f"Mix: {n_dw:,} seeded requests (purpose-bound use/store of low and medium data, secrets "
        "by the login service, card intake and sharing to the card processor, some forbidden, "
        "unknown-role and third-party requests); "
        f"{len(distinct)} distinct requests, on which all engines agree "
        f"({allowed} allowed). Peers: `bench/policy_peers/dataward.cedar`, "
        "`bench/policy_peers/dataward.rego`." + full,
        "",
        "| engine | requests timed | decisions/s | dataward is x faster |",
        "|---|---:|---:|---:|",
    ]
    for name, r in rates.items():
        ratio = rates["dataward"] / r
        lines.append(f"| {name} | {sizes[name]:,} | {r:,.0f} | {ratio:,.1f} |")
    lines.append("")
    lines.append(
        "dataward: `Policy.decide(...)`, one dict lookup in the precompiled table. cedarpy: "
        "`is_authorized` per request (parses policies and entities each call)"
        + (
            "; `cedarpy batch`: `is_authorized_batch` over all requests at once, its best case"
            if has_batch
            else ""
        )
        + ". regopy: one `set_input` + `query` per request on a loaded interpreter."
    )
    table = "\n".join(lines)
    print(table)
    if not args.no_write:
        md = ROOT / "BENCHMARKS.md"
        text = md.read_text(encoding="utf-8")
        start, end = "<!-- policy_bench:start -->", "<!-- policy_bench:end -->"
        head, rest = text.split(start, 1)
        _, tail = rest.split(end, 1)
        md.write_text(f"{head}{start}\n## policy_bench\n\n{table}\n{end}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
