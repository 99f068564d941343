"""The event of one committed change, as the lab's README defines it."""

import uuid
from datetime import datetime, timezone


def new_event(kind, note):
    """kind is "note.created", "note.updated" or "note.deleted"; note is the note after the change.

    The id is chosen here, once, when the change is recorded: every resend of this event must carry it.
    """
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "note_id": note["id"],
        "version": note["version"],
        "occurred_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": None
        if kind == "note.deleted"
        else {"title": note["title"], "body": note["body"], "tags": note["tags"]},
    }
