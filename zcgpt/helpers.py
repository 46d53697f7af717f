"""The page backend's side of the tab's helper workers: one arrives, answers, goes quiet or
dies -> the "workers" messages the page shows. zcgpt.shards.Pool does the sharing itself;
zcgpt.app routes the adapter's calls here. `shards`: the running design's shards (None: no run)."""

from .reply import out


def joined(pool, hid, shards):
    """A helper worker is ready (the adapter holds its port): it shares the next steps."""
    pool.add(hid)
    return [note(pool, shards)]


def gone(pool, hid, reason, shards):
    """A helper died, failed to boot or was let go: its shards go to the others."""
    if not pool.drop(hid):
        return []
    return [note(pool, shards, dropped=hid, reason=reason or "it stopped")]


def answered(pool, hid, header, arrays, shards):
    """A helper's answer -> messages for the page (when the answer gets it dropped)."""
    reason = pool.arrive(hid, header, arrays)
    return gone(pool, hid, reason, shards) if reason else []


def overdue(pool, limit, shards):
    """Drop the helpers that owe the step in flight an answer for over `limit` seconds."""
    msgs = []
    for hid in pool.overdue(limit):
        msgs += gone(pool, hid, f"it did not answer for {pool.overdue_limit(limit):.3g} s", shards)
    return msgs


def note(pool, shards, **dropped):
    return out("workers", helpers=len(pool.helpers), working=pool.workers(shards) if shards else None, **dropped)
