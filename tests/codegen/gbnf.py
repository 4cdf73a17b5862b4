"""A small GBNF recognizer for tests: does a grammar accept a text?

llama.cpp can parse a grammar (``LlamaGrammar.from_string``) but offers no way to ask whether it
accepts a given string, and running a model to find out proves little. This reads the subset
of GBNF our grammars use (literals, character classes, rule references, groups, ``|``, ``?``,
``*``, ``+``, ``{m,n}``) and matches with memoised end positions, which is fast enough for
grammars of a few hundred rules and texts of a few hundred characters.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

_TOKEN = re.compile(
    r'\s*(?:(?P<lit>"(?:[^"\\]|\\.)*")|(?P<cls>\[(?:[^\]\\]|\\.)*\])|(?P<rep>\{\d+,\d+\}|[?*+])'
    r"|(?P<op>[()|])|(?P<ref>[a-zA-Z][a-zA-Z0-9-]*))"
)


def _parse_body(body: str) -> Any:
    tokens = [(m.lastgroup, m.group(m.lastgroup)) for m in _TOKEN.finditer(body) if m.lastgroup]
    pos = 0

    def alt() -> Any:
        nonlocal pos
        options = [seq()]
        while pos < len(tokens) and tokens[pos] == ("op", "|"):
            pos += 1
            options.append(seq())
        return ("alt", options)

    def seq() -> Any:
        nonlocal pos
        items = []
        while pos < len(tokens) and tokens[pos][1] not in ("|", ")"):
            kind, text = tokens[pos]
            pos += 1
            if kind == "lit":
                item: Any = ("lit", json.loads(text))
            elif kind == "cls":
                item = ("cls", re.compile(text))
            elif kind == "ref":
                item = ("ref", text)
            else:  # "("
                item = alt()
                pos += 1  # ")"
            if pos < len(tokens) and tokens[pos][0] == "rep":
                rep = tokens[pos][1]
                pos += 1
                low, high = {"?": (0, 1), "*": (0, 10**6), "+": (1, 10**6)}.get(rep, (0, 0))
                if rep.startswith("{"):
                    low, high = map(int, rep[1:-1].split(","))
                item = ("rep", item, low, high)
            items.append(item)
        return ("seq", items)

    return alt()


def parse(grammar: str) -> dict[str, Any]:
    """The rules of a GBNF grammar (one rule per line, ``#`` comments)."""
    rules = {}
    for line in grammar.splitlines():
        if "::=" in line and not line.startswith("#"):
            name, body = line.split("::=", 1)
            rules[name.strip()] = _parse_body(body)
    return rules


def accepts(grammar: str, text: str) -> bool:
    """Whether the grammar's ``root`` matches all of ``text``."""
    rules = parse(grammar)

    @functools.cache
    def ends_rule(name: str, at: int) -> frozenset[int]:
        return ends(rules[name], at)

    def ends(node: Any, at: int) -> frozenset[int]:
        kind = node[0]
        if kind == "lit":
            return frozenset({at + len(node[1])}) if text.startswith(node[1], at) else frozenset()
        if kind == "cls":
            ok = at < len(text) and node[1].fullmatch(text[at]) is not None
            return frozenset({at + 1}) if ok else frozenset()
        if kind == "ref":
            return ends_rule(node[1], at)
        if kind == "alt":
            return frozenset().union(*(ends(o, at) for o in node[1]))
        if kind == "seq":
            current = frozenset({at})
            for item in node[1]:
                current = frozenset().union(*(ends(item, p) for p in current))
                if not current:
                    break
            return current
        _, item, low, high = node
        out = frozenset({at}) if low == 0 else frozenset()
        current = frozenset({at})
        for count in range(1, high + 1):
            current = frozenset().union(*(ends(item, p) for p in current)) - {at}
            if not current:
                break
            if count >= low:
                out |= current
        return out

    return len(text) in ends_rule("root", 0)
