"""Generate ``evals/tasks.jsonl``, the development set: ten domains x nine structure patterns
= 90 templated tasks, each pattern in three wordings (rotating over the domains), plus twelve
free-form requests written by hand (context, irrelevant details, names that share no words with
the task's phrases).

The sets in ``evals/heldout/`` are not generated here: they were written by someone who had not
seen the prompt pack; they have been retired since (inspected and tuned on, see
``evals/README.md``).

Each task has a natural-language description, the registry the model may use (the domain's
notes, condition, branches, child cadence, merge, handler and distractors, each with its role
and docstring), the score type shown to the model, the reference composition, and tags naming
the features it exercises. Run ``python -m evals.make_dataset`` to regenerate; the output is
deterministic and committed.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evals.domains import DOMAINS

OUT = Path(__file__).with_name("tasks.jsonl")


def _phrase(doc: str) -> str:
    doc = doc.rstrip(".")
    return doc[0].lower() + doc[1:]


def _cap(text: str) -> str:
    return text[0].upper() + text[1:]


class D:
    """A domain with convenient accessors for the templates."""

    def __init__(self, raw: dict[str, Any]) -> None:
        self.raw = raw
        self.steps = list(raw["steps"].items())

    def s(self, i: int) -> str:
        return str(self.steps[i][0])

    def v(self, i: int) -> str:
        return str(self.steps[i][1][0])

    @property
    def cond(self) -> tuple[str, str]:
        name, phrase, _ = self.raw["condition"]
        return name, phrase

    @property
    def yes(self) -> tuple[str, str]:
        return self.raw["if_true"][0], self.raw["if_true"][1]

    @property
    def no(self) -> tuple[str, str]:
        return self.raw["if_false"][0], self.raw["if_false"][1]

    @property
    def child(self) -> tuple[str, str]:
        return self.raw["child"][0], self.raw["child"][1]

    @property
    def merge(self) -> str:
        return str(self.raw["merge"][0])

    @property
    def handler(self) -> tuple[str, str]:
        name, doc = self.raw["handler"]
        return name, _phrase(doc)


def registry(d: D) -> dict[str, list[str]]:
    """Every name of the domain with its role and docstring."""
    raw = d.raw
    out: dict[str, list[str]] = {n: ["note", v[1]] for n, v in raw["steps"].items()}
    out[raw["condition"][0]] = ["condition", raw["condition"][2]]
    out[raw["if_true"][0]] = ["note", raw["if_true"][2]]
    out[raw["if_false"][0]] = ["note", raw["if_false"][2]]
    out[raw["child"][0]] = ["cadence", raw["child"][2]]
    out[raw["merge"][0]] = ["merge", raw["merge"][1]]
    out[raw["handler"][0]] = ["handler", raw["handler"][1]]
    for n, doc in raw["distractors"].items():
        out[n] = ["note", doc]
    return dict(sorted(out.items()))


def _chain(name: str, *calls: str) -> str:
    body = "\n".join(f"    .{c}" for c in calls)
    return f'(\n    Cadence("{name}", score)\n{body}\n)'


def _then(d: D, i: int) -> str:
    return f'then("{d.s(i)}", {d.s(i)})'


Pattern = Callable[[D, int], tuple[str, str, list[str]]]


def p_sequence(d: D, k: int) -> tuple[str, str, list[str]]:
    text = (
        f"First {d.v(0)}, then {d.v(1)}, and then {d.v(2)}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}. After that, {d.v(1)}. Finally, {d.v(2)}."
    )
    return text, _chain("sequence", _then(d, 0), _then(d, 1), _then(d, 2)), ["then"]


def p_sync(d: D, k: int) -> tuple[str, str, list[str]]:
    text = (
        f"{_cap(d.v(0))}. Then {d.v(1)} and {d.v(2)} at the same time. Finally {d.v(3)}."
        if k % 2 == 0
        else f"Start by making sure we {d.v(0)}; next, in parallel, {d.v(1)} and {d.v(2)}; then {d.v(3)}."
    )
    ref = _chain("parallel", _then(d, 0), f'sync("together", [{d.s(1)}, {d.s(2)}])', _then(d, 3))
    return text, ref, ["then", "sync"]


def p_split(d: D, k: int) -> tuple[str, str, list[str]]:
    (c, cp), (y, yp), (n, np_) = d.cond, d.yes, d.no
    text = (
        f"{_cap(d.v(0))}. If {cp}, {yp}; otherwise {np_}. Then {d.v(5)}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}, then decide: when {cp}, {yp}, else {np_}. Afterwards {d.v(5)}."
    )
    ref = _chain("branching", _then(d, 0), f'split("decide", {c}, [{y}], [{n}])', _then(d, 5))
    return text, ref, ["then", "split"]


def p_split_only_true(d: D, k: int) -> tuple[str, str, list[str]]:
    (c, cp), (y, yp) = d.cond, d.yes
    text = (
        f"If {cp}, {yp}; if not, do nothing. After that, {d.v(4)}."
        if k % 2 == 0
        else f"Only when {cp} should we {yp}. Then {d.v(4)}."
    )
    ref = _chain("guarded", f'split("check", {c}, [{y}])', _then(d, 4))
    return text, ref, ["then", "split"]


def p_child(d: D, k: int) -> tuple[str, str, list[str]]:
    (ch, chp), m = d.child, d.merge
    text = (
        f"{_cap(d.v(0))}, then run {chp} as a child cadence and merge its result back with {m}, "
        f"then {d.v(4)}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}. Next run the child cadence {ch} (merge with {m}). Last, {d.v(4)}."
    )
    ref = _chain("with_child", _then(d, 0), f'child("sub", {ch}, {m})', _then(d, 4))
    return text, ref, ["then", "child"]


def p_on_error(d: D, k: int) -> tuple[str, str, list[str]]:
    h, hp = d.handler
    text = (
        f"{_cap(d.v(0))}, {d.v(1)}, then {d.v(3)}. If any step fails, {hp} and stop."
        if k % 2 == 0
        else f"{_cap(d.v(0))}; {d.v(1)}; {d.v(3)}. On an error, {hp}."
    )
    ref = _chain("guarded_run", _then(d, 0), _then(d, 1), _then(d, 3), f"on_error({h})")
    return text, ref, ["then", "on_error", "resilience"]


def p_sync_strategy(d: D, k: int) -> tuple[str, str, list[str]]:
    text = (
        f"{_cap(d.v(1))}, {d.v(2)} and {d.v(3)} in parallel; if they write the same field, the "
        f"last write wins. Then {d.v(4)}."
        if k % 2 == 0
        else f"At the same time {d.v(1)}, {d.v(2)} and {d.v(3)}, resolving conflicts with "
        f"last_write_wins; afterwards {d.v(4)}."
    )
    ref = _chain(
        "fan_out",
        f'sync("fan_out", [{d.s(1)}, {d.s(2)}, {d.s(3)}], "last_write_wins")',
        _then(d, 4),
    )
    return text, ref, ["then", "sync", "resilience"]


def p_interrupt(d: D, k: int) -> tuple[str, str, list[str]]:
    h, hp = d.handler
    text = (
        f"{_cap(d.v(0))}, then {d.v(4)}; that second step may be interrupted. If a step fails, "
        f"{hp} and carry on."
        if k % 2 == 0
        else f"{_cap(d.v(0))}. Then {d.v(4)}, which can be interrupted. Errors: {hp}, then "
        "continue with the next step."
    )
    ref = _chain(
        "interruptible",
        _then(d, 0),
        f'then("{d.s(4)}", {d.s(4)}, can_interrupt=True)',
        f"on_error({h}, stop=False)",
    )
    return text, ref, ["then", "on_error", "resilience"]


def p_complex(d: D, k: int) -> tuple[str, str, list[str]]:
    (c, cp), (y, yp), (n, np_) = d.cond, d.yes, d.no
    h, hp = d.handler
    text = (
        f"{_cap(d.v(0))}. Then {d.v(1)} and {d.v(2)} in parallel. If {cp}, {yp}, otherwise "
        f"{np_}. If anything fails, {hp}."
        if k % 2 == 0
        else f"{_cap(d.v(0))}; next, concurrently, {d.v(1)} and {d.v(2)}; then when {cp}, {yp} "
        f"(else {np_}). Failures: {hp}."
    )
    ref = _chain(
        "full",
        _then(d, 0),
        f'sync("together", [{d.s(1)}, {d.s(2)}])',
        f'split("decide", {c}, [{y}], [{n}])',
        f"on_error({h})",
    )
    return text, ref, ["then", "sync", "split", "on_error", "resilience"]


PATTERNS: list[tuple[str, Pattern]] = [
    ("sequence", p_sequence),
    ("sync", p_sync),
    ("split", p_split),
    ("split_only_true", p_split_only_true),
    ("child", p_child),
    ("on_error", p_on_error),
    ("sync_strategy", p_sync_strategy),
    ("interrupt", p_interrupt),
    ("complex", p_complex),
]


def third_wording(pattern: str, d: D) -> str:
    """A third wording per pattern (the previous session's held-out wording; development data
    since this session, which did look at it)."""
    cp, yp, np_ = d.cond[1], d.yes[1], d.no[1]
    chp, m, hp = d.child[1], d.merge, d.handler[1]
    return {
        "sequence": f"Begin with this: {d.v(0)}. Once that is done, {d.v(1)}. At the end, {d.v(2)}.",
        "sync": f"{_cap(d.v(0))}. Next, {d.v(1)} and {d.v(2)}; these two are independent and "
        f"should run concurrently. Lastly, {d.v(3)}.",
        "split": f"{_cap(d.v(0))}. Depending on whether {cp}: {yp} if so, {np_} if not. To "
        f"finish, {d.v(5)}.",
        "split_only_true": f"In case {cp}, {yp}; skip it otherwise. After that, {d.v(4)}.",
        "child": f"{_cap(d.v(0))}. After that, delegate to {chp}, a child cadence, merging the "
        f"outcome with {m}. To finish, {d.v(4)}.",
        "on_error": f"{_cap(d.v(0))}, {d.v(1)} and {d.v(3)}, in that order. Should anything go "
        f"wrong along the way, {hp}; the run ends there.",
        "sync_strategy": f"Run these three concurrently: {d.v(1)}, {d.v(2)}, {d.v(3)}. When two "
        f"of them set the same field, keep the later write. Afterwards, {d.v(4)}.",
        "interrupt": f"{_cap(d.v(0))}. Then {d.v(4)}; it is fine to cancel this step midway. If "
        f"some step errors out, {hp} and keep going.",
        "complex": f"{_cap(d.v(0))}. Afterwards {d.v(1)} alongside {d.v(2)}. Then, if {cp}, "
        f"{yp}; else {np_}. In case of failure, {hp}.",
    }[pattern]


def _call(d: D, spec: str) -> str:
    """``"then:load_order"`` -> ``then("load_order", load_order)``; other calls verbatim."""
    if spec.startswith("then:"):
        name = spec[5:]
        return f'then("{name}", {name})'
    return spec


#: (domain key, task, reference calls): free-form requests, written by hand.
FREEFORM: list[tuple[str, str, list[str]]] = [
    (
        "orders",
        "Our shop does about two hundred orders a day and most are small. When one comes in we "
        "pull it up from the database first. Before anything ships the fraud model has to look "
        "at it, and while it does that we can already hold the items in the warehouse; the two "
        "don't depend on each other. Then bill the customer.",
        ["then:load_order", 'sync("together", [check_fraud, reserve_stock])', "then:charge_card"],
    ),
    (
        "support",
        "Tickets arrive through the help widget. Figure out what language the customer wrote "
        "in, and then put the ticket in a category. Anything the classifier is unsure about, or "
        "where the customer sounds angry, goes to a person; the rest get the canned response.",
        [
            "then:detect_language",
            "then:classify_ticket",
            'split("decide", needs_human, [assign_agent], [send_auto_reply])',
        ],
    ),
    (
        "rag",
        "A user asks a question in the chat box. Turn their question into a vector, look it up "
        "in the documentation and in the community posts at once, and if we found relevant "
        "material, answer from it; if we did not, tell them we don't know.",
        [
            "then:embed_question",
            'sync("together", [search_docs, search_forum])',
            'split("decide", has_context, [answer_from_context], [say_unknown])',
        ],
    ),
    (
        "onboarding",
        "Someone just signed up on the landing page (marketing wants the numbers by Friday, but "
        "that is not our concern here). Make sure the address they typed is real, set up their "
        "account, and record the sign-up in analytics. If something breaks halfway, undo the "
        "signup.",
        [
            "then:validate_email",
            "then:create_account",
            "then:track_signup",
            "on_error(rollback_signup)",
        ],
    ),
    (
        "etl",
        "Every night at two: pull the sales and the refunds from the shop database (these can "
        "happen side by side), then tidy up the rows and push everything into the warehouse. "
        "The dashboards can wait until the morning.",
        [
            'sync("together", [extract_sales, extract_refunds])',
            "then:clean_rows",
            "then:load_warehouse",
        ],
    ),
    (
        "moderation",
        "A user reported a post. Grab it, then have a look at the text and the picture "
        "together. After that, hand it to the appeals process and fold its verdict back in with "
        "merge_appeal.",
        [
            "then:load_post",
            'sync("together", [scan_text, scan_image])',
            'child("child", appeal_flow, merge_appeal)',
        ],
    ),
    (
        "invoices",
        "Scanned invoices land in a shared inbox. Read the scan, pull the fields out of it, and "
        "figure out which vendor it belongs to. Anything over the spending limit needs someone "
        "to approve it; everything else is approved automatically.",
        [
            "then:ocr_invoice",
            "then:extract_fields",
            "then:match_vendor",
            'split("decide", over_limit, [request_approval], [auto_approve])',
        ],
    ),
    (
        "deploy",
        "On every push we grab the code. Tests and the linter are independent, so run them both "
        "at once. Package the container image. If the push was to main, ship it to production; "
        "otherwise it only gets a preview environment. Should any of it fail, roll back.",
        [
            "then:checkout_code",
            'sync("together", [run_unit_tests, run_lint])',
            "then:build_image",
            'split("decide", is_main_branch, [deploy_production], [deploy_preview])',
            "on_error(rollback_deploy)",
        ],
    ),
    (
        "travel",
        "The traveller writes a message like 'Lisbon in May, two people'. Work out what they "
        "are asking for, then look for flights; that search is slow and the user may cancel "
        "it. If anything goes wrong, apologise and keep going with the rest.",
        [
            "then:parse_request",
            'then("search_flights", search_flights, can_interrupt=True)',
            "on_error(apologise_to_user, stop=False)",
        ],
    ),
    (
        "health",
        "Lab results come in from the analyser. Pull the results and the patient's history "
        "simultaneously; if both write the same field, keep whichever finished last. Then "
        "compare the values against the normal ranges.",
        [
            'sync("together", [fetch_results, fetch_history], "last_write_wins")',
            "then:check_ranges",
        ],
    ),
    (
        "orders",
        "Only orders going abroad need the customs paperwork; domestic ones need nothing extra. "
        "After that, email the confirmation.",
        ['split("decide", is_international, [add_customs_forms])', "then:send_confirmation"],
    ),
    (
        "support",
        "Grab the ticket. The reply should then go through the translation flow, with "
        "merge_translation bringing the translated text back. Finally mark it resolved.",
        [
            "then:fetch_ticket",
            'child("child", translation_flow, merge_translation)',
            "then:close_ticket",
        ],
    ),
]


def _tags(calls: list[str]) -> list[str]:
    tags = {"distractors", "freeform"}
    for call in calls:
        method = call.split(":")[0].split("(")[0]
        tags.add(method)
        if method == "on_error" or "can_interrupt" in call or '"last_write_wins"' in call:
            tags.add("resilience")
    return sorted(tags)


def tasks() -> list[dict[str, Any]]:
    """Every task of the development set, in a stable order."""
    out = []
    for k, raw in enumerate(DOMAINS):
        d = D(raw)
        for pattern, make in PATTERNS:
            wording = k % 3
            text, ref, tags = make(d, wording)
            if wording == 2:
                text = third_wording(pattern, d)
            out.append(
                {
                    "id": f"{raw['key']}-{pattern}",
                    "pattern": pattern,
                    "task": text,
                    "score": raw["score"],
                    "registry": registry(d),
                    "reference": ref,
                    "tags": sorted({*tags, "distractors"}),
                }
            )
    by_key = {raw["key"]: raw for raw in DOMAINS}
    for n, (key, text, calls) in enumerate(FREEFORM, 1):
        d = D(by_key[key])
        ref = _chain("freeform", *(_call(d, c) for c in calls))
        out.append(
            {
                "id": f"free-{n:02d}-{key}",
                "pattern": "freeform",
                "task": text,
                "score": d.raw["score"],
                "registry": registry(d),
                "reference": ref,
                "tags": _tags(calls),
            }
        )
    return out


def main() -> None:
    """Write the development set."""
    rows = tasks()
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"wrote {len(rows)} tasks to {OUT}")


if __name__ == "__main__":
    main()
