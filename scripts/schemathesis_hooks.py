"""Schemathesis hooks for scripts/schemathesis.sh.

JSON Schema cannot say that key events come in press order (down_ms non-decreasing), that a key
goes up after it goes down, or that it is held at most 10 s. For *positive* cases only (schema-
valid data, which the server must accept), the score bodies are put in that order; negative cases
are left exactly as generated. Nothing else is changed.
"""

import schemathesis

MAX_HOLD_MS = 10_000.0


def _fix_events(request):
    typing = request.get("typing") if isinstance(request, dict) else None
    events = typing.get("events") if isinstance(typing, dict) else None
    if not isinstance(events, list):
        return
    numeric = all(
        isinstance(e, dict)
        and all(isinstance(e.get(k), (int, float)) and not isinstance(e.get(k), bool) for k in ("down_ms", "up_ms"))
        for e in events
    )
    if not numeric:
        return
    events.sort(key=lambda e: e["down_ms"])
    for e in events:
        if e["up_ms"] < e["down_ms"] or e["up_ms"] - e["down_ms"] > MAX_HOLD_MS:
            e["up_ms"] = e["down_ms"]


@schemathesis.hook
def map_case(context, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive:
        return case
    path = case.operation.path
    if path == "/v1/score":
        _fix_events(case.body)
    elif path == "/v1/score/batch" and isinstance(case.body, list):
        for item in case.body:
            _fix_events(item)
    return case
