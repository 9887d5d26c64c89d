"""Pure watermark math: the event-time hour every topic-partition has moved past, less the
allowed lateness. Hours before the watermark hour are complete; the batch runner reads it."""
from clickstream.events import format_ts
from clickstream.layout import MICROS_PER_HOUR, hour_partition


def topic_watermark(progress, partitions, allowed_lateness_us):
    """The watermark in microseconds (UTC), or None when some partition has no progress yet.

    ``progress`` maps partition -> {"max_event_ts": int or None, "caught_up": bool}: the latest
    event time committed from it and whether it had no lag at its last flush. A caught-up
    partition does not hold the watermark back (an idle partition would stop it forever); when
    all are caught up, the latest event time committed anywhere counts.
    """
    partitions = list(partitions)
    if not partitions or any(partition not in progress for partition in partitions):
        return None
    busy = [progress[p]["max_event_ts"] for p in partitions if not progress[p].get("caught_up")]
    if any(ts is None for ts in busy):
        return None
    if busy:
        position = min(busy)
    else:
        seen = [progress[p]["max_event_ts"] for p in partitions if progress[p]["max_event_ts"] is not None]
        if not seen:
            return None
        position = max(seen)
    return position - allowed_lateness_us


def partition_progress(manifests, idle_positions=()):
    """The progress ``topic_watermark`` takes: {partition: {"max_event_ts", "caught_up", "next_offset"}}.

    ``manifests``: {partition: its newest flush manifest}. ``idle_positions``: {partition: next
    offset} of owned partitions that hold nothing and have read their log to the end; one with no
    manifest yet counts as caught up with no event, so a partition that never had an event does not
    hold the watermark back.
    """
    progress = {partition: {"max_event_ts": manifest.get("max_event_ts"), "caught_up": bool(manifest.get("caught_up")),
                            "next_offset": int(manifest["last_offset"]) + 1}
                for partition, manifest in manifests.items()}
    for partition, next_offset in dict(idle_positions).items():
        if partition not in progress:
            progress[partition] = {"max_event_ts": None, "caught_up": True, "next_offset": next_offset}
    return progress


def complete_before(watermark_ts):
    """Hours strictly before this hour number are complete."""
    return watermark_ts // MICROS_PER_HOUR


def watermark_document(topic, progress, partitions, allowed_lateness_us, previous=None):
    """The JSON document stored at _watermarks/<topic>.json. Never moves backwards from
    ``previous`` (the stored document), so a late-joining partition cannot reopen an hour."""
    watermark = topic_watermark(progress, partitions, allowed_lateness_us)
    if previous and previous.get("watermark_us") is not None:
        if watermark is None or watermark < previous["watermark_us"]:
            watermark = previous["watermark_us"]
    document = {
        "topic": topic,
        "allowed_lateness_seconds": allowed_lateness_us / 1e6,
        "partitions": {str(p): progress.get(p) for p in sorted(partitions)},
        "watermark_us": watermark,
        "watermark": None if watermark is None else format_ts(watermark),
        "complete_before_hour": None if watermark is None else hour_partition(complete_before(watermark)),
    }
    return document


def describe(document):
    """One line for `clickstream ingest --status`."""
    if not document or document.get("watermark") is None:
        return "watermark: none yet (some partition has committed nothing)"
    return "watermark: %s (lateness %gs allowed); hours before %s are complete" % (
        document["watermark"], document["allowed_lateness_seconds"], document["complete_before_hour"])
