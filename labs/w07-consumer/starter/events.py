"""Parsing and validating one record's value into an account event, as the lab's README defines them.

Validation is complete before anything touches the store: an invalid record becomes a dead letter, never an
exception that kills the consumer loop.
"""

import json

AMOUNT_TYPES = ("credit", "debit")


def _positive_int(value):
    # bool is a subclass of int in Python: `true` is not an amount.
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _text(value):
    return isinstance(value, str) and value != ""


def parse(value):
    """Returns (event, None) for a valid event, or (None, reason) for an invalid record."""
    if value is None:
        return None, "empty value"
    try:
        event = json.loads(value)
    except (UnicodeDecodeError, ValueError):
        return None, "value is not JSON"
    if not isinstance(event, dict):
        return None, "value is not a JSON object"
    for field in ("id", "type", "account"):
        if not _text(event.get(field)):
            return None, f"`{field}` must be a non-empty string"
    kind = event["type"]
    if kind in AMOUNT_TYPES:
        if not _positive_int(event.get("amount")):
            return None, "`amount` must be a positive integer"
    elif kind == "rename":
        if not _text(event.get("name")):
            return None, "`name` must be a non-empty string"
        if not _positive_int(event.get("seq")):
            return None, "`seq` must be a positive integer"
    else:
        return None, f"unknown type {kind!r}"
    return event, None
