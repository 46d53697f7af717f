"""The page and the worker speak zcgpt/protocol.py's table and nothing else.

The JavaScript is read as text: the kinds it sends (`send({ type: 'x', ... })` or `ask(...)`) and the kinds
its `handlers` objects take must be the table's; Python must send every kind the page handles.
"""

import re

import pytest

from zcgpt.protocol import FROM_HELPER, TO_HELPER, TO_PAGE, TO_WORKER, ProtocolError, check_message

from conftest import ROOT

JS = {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "site" / "js").glob("*.js"))}
PY_SENDERS = [p.read_text(encoding="utf-8") for p in [*sorted((ROOT / "zcgpt").glob("*.py")), ROOT / "site" / "worker.py"]]


def handler_blocks(text):
    """Bodies of `handlers = {...}` and `handlers: {...}` objects (brace-matched)."""
    for m in re.finditer(r"handlers\s*[:=]\s*\{", text):
        depth, i = 1, m.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[i], 0)
            i += 1
        yield text[m.end():i - 1]


def top_level_keys(body):
    """Keys at the object's own level: `name(`, `name:` or `name,` starting a line."""
    keys, depth = set(), 0
    for line in body.splitlines():
        if depth == 0:
            m = re.match(r"\s*(\w+)\s*[(:,]", line)
            if m:
                keys.add(m.group(1))
        depth += line.count("{") - line.count("}")
    return keys


def js_sent():
    return {k for text in JS.values() for k in re.findall(r"(?:send|ask)\(\{\s*type:\s*'(\w+)'", text)}


def js_handled():
    return {k for text in JS.values() for body in handler_blocks(text) for k in top_level_keys(body)}


def test_the_page_sends_only_and_all_of_the_table():
    assert js_sent() == set(TO_WORKER) | set(TO_HELPER)


def test_the_helper_says_only_what_the_page_reads():
    helper = (ROOT / "site" / "helper.py").read_text(encoding="utf-8")
    said = set(re.findall(r'"type": "(\w+)"', helper)) - {"failed"}     # "failed" goes to the leader
    assert said == set(FROM_HELPER)
    assert all(f"msg.type === '{k}'" in JS["workers.js"] for k in FROM_HELPER)


def test_the_page_handles_only_kinds_of_the_table_and_every_one_python_sends():
    handled = js_handled()
    assert handled <= set(TO_PAGE), handled - set(TO_PAGE)
    sent_by_python = {k for text in PY_SENDERS for k in set(TO_PAGE)
                      if re.search(rf'out\("{k}"|"type": "{k}"', text)}
    assert sent_by_python == set(TO_PAGE)
    # every kind Python sends has a handler, except those the page has nothing to do with
    assert set(TO_PAGE) - handled == set(), set(TO_PAGE) - handled


def test_the_parsers_find_what_they_should():
    """The text scans above must be able to fail: they see a known handler and a known send."""
    assert "progress" in top_level_keys(next(handler_blocks(JS["main.js"])))
    assert "inspect" in js_sent()


@pytest.mark.parametrize("msg, words", [
    ({"type": "generate", "n": 1, "temperature": 1, "prefix": "", "seed": 0}, None),
    ({"type": "pause"}, None),
    ({"type": "pause", "by": None}, None),
    ({"type": "generate", "n": 1.5, "temperature": 1, "prefix": "", "seed": 0}, "'n' must be int"),
    ({"type": "generate", "n": 1, "temperature": float("inf"), "prefix": "", "seed": 0}, "finite"),
    ({"type": "stop", "extra": 1}, "unknown field(s) extra"),
    ({"type": "builtin", "name": "x"}, "needs the field 'url'"),
    ({"type": "init", "data": "u", "hash": "#x" * 100}, None),
    ({}, "unknown message type None"),
    ("train", "must be a JSON object, got str"),
])
def test_check_message(msg, words):
    if words is None:
        assert check_message(msg) == msg["type"]
    else:
        with pytest.raises(ProtocolError, match=re.escape(words)):
            check_message(msg)
