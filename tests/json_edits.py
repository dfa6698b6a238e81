"""Edits of a file's JSON document, for the tests of files that vaetools did not write as they
are (hand-edited, forged, another program's): each entry removed or given a value of the wrong
kind."""

import json

EDITS = {"removed": ..., "null": None, "text": "zz", "negative": -3, "empty list": [], "huge": 10**12, "half": 0.5}


def entries(node, prefix=()):
    """The path of every key of a JSON document, and of each list's first three items."""
    if isinstance(node, dict):
        for k, v in node.items():
            yield prefix + (k,)
            yield from entries(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node[:3]):
            yield prefix + (i,)
            yield from entries(v, prefix + (i,))


def edited(doc: dict, path: tuple, edit: str) -> dict:
    """A copy of ``doc`` with the entry at ``path`` removed or set to ``EDITS[edit]``."""
    out = json.loads(json.dumps(doc))
    parent = out
    for key in path[:-1]:
        parent = parent[key]
    if EDITS[edit] is ...:
        del parent[path[-1]]
    else:
        parent[path[-1]] = EDITS[edit]
    return out
