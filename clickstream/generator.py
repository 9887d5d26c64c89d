"""Deterministic synthetic clickstream: heavy-tailed users, sessions, product views, cart adds,
purchases and searches, with an optional fraction of malformed lines. Pure: yields text chunks."""
import itertools
import os
import random
from bisect import bisect
from dataclasses import dataclass
from datetime import datetime, timezone

import orjson

from .errors import ConfigError

DEFAULT_START = "2024-12-29T00:00:00Z"
CHUNK_EVENTS = 8192
# Mean events per session; the action mix follows the seeds' e-commerce site.
MEAN_SESSION_EVENTS = 8
_SEARCH_TERMS = ("headphones", "usb cable", "laptop", "кофеварка", "shoes", "phone case", "camera", "наушники")
_ZONES = (("+01:00", 3600), ("-05:00", -18000), ("+05:30", 19800), ("+09:00", 32400))


@dataclass(frozen=True)
class GeneratorSpec:
    """What to generate. Same spec, same bytes."""

    events: int = 100_000
    users: int = 5_000
    products: int = 0  # 0: derived from users
    start: str = DEFAULT_START
    span_hours: float = 24.0
    seed: int = 42
    malformed_fraction: float = 0.0
    offset_fraction: float = 0.0  # share of timestamps written with a non-UTC offset
    zipf_exponent: float = 0.9

    def validate(self):
        if self.events < 0:
            raise ConfigError("--count: %r is negative; expected a count of events >= 0" % self.events)
        if self.users < 1:
            raise ConfigError("--users: %r; expected at least 1 user" % self.users)
        if self.span_hours <= 0:
            raise ConfigError("--span-hours: %r; expected a positive number of hours" % self.span_hours)
        for name, value in (("--malformed", self.malformed_fraction), ("--offset-fraction", self.offset_fraction)):
            if not 0.0 <= value <= 1.0:
                raise ConfigError("%s: %r; expected a fraction between 0 and 1" % (name, value))
        self.start_moment()
        return self

    def start_moment(self):
        try:
            moment = datetime.fromisoformat(self.start)
        except ValueError:
            raise ConfigError("--start: %r is not an ISO-8601 time" % self.start) from None
        if moment.tzinfo is None:
            raise ConfigError("--start: %r has no zone; add Z or an offset" % self.start)
        return moment.astimezone(timezone.utc)


def _heavy_tail_cum_weights(count, exponent):
    return list(itertools.accumulate(1.0 / (rank + 1) ** exponent for rank in range(count)))


class _Clock:
    """Formats whole-second UTC timestamps fast by caching the 'YYYY-MM-DDTHH:' prefix per hour."""

    def __init__(self):
        self._hour = None
        self._prefix = ""

    def text(self, epoch_second, zone=None):
        if zone is not None:
            label, shift = zone
            local = datetime.fromtimestamp(epoch_second + shift, timezone.utc)
            return local.strftime("%Y-%m-%dT%H:%M:%S") + label
        hour, within = divmod(epoch_second, 3600)
        if hour != self._hour:
            self._hour = hour
            self._prefix = datetime.fromtimestamp(hour * 3600, timezone.utc).strftime("%Y-%m-%dT%H:")
        minute, second = divmod(within, 60)
        return "%s%02d:%02dZ" % (self._prefix, minute, second)


def _malformed(rng, line):
    """One of the malformed kinds the event model must reject, derived from a good line."""
    kind = rng.randrange(8)
    if kind == 0:
        return line[: len(line) // 2]  # truncated JSON
    if kind == 1:
        return line[:-1] + ',"note":"\udcff\udcfe"}'  # not UTF-8 (written via surrogateescape)
    if kind == 2:
        return line.replace('"user_id":', '"user":', 1)
    if kind == 3:
        return line.replace('"action":"', '"action":"$', 1)
    if kind == 4:
        return line.replace('"timestamp":"', '"timestamp":"yesterday ', 1)
    if kind == 5:
        return line.replace('Z"', '"', 1) if 'Z"' in line else "[" + line + "]"
    if kind == 6:
        return "[" + line + "]"
    return line.replace('"user_id":"', '"user_id":"" ,"x":"', 1)  # empty user_id


def iter_event_chunks(spec):
    """Yield (user_ids, lines) chunks: parallel lists; lines are JSON text without newline.

    A malformed line's user id is None. Non-UTF-8 bytes are carried as surrogate escapes:
    encode with ``errors="surrogateescape"``.
    """
    spec.validate()
    rng = random.Random(spec.seed)
    start = int(spec.start_moment().timestamp())
    span = int(spec.span_hours * 3600)
    users = ["user-%06d" % number for number in range(spec.users)]
    rng.shuffle(users)  # activity rank is not id order
    user_weights = _heavy_tail_cum_weights(len(users), spec.zipf_exponent)
    product_count = spec.products or max(20, spec.users // 10)
    products = ["p%06d" % number for number in range(product_count)]
    product_weights = _heavy_tail_cum_weights(product_count, spec.zipf_exponent)
    product_total = product_weights[-1]
    user_json = {}
    sessions = max(1, spec.events // MEAN_SESSION_EVENTS)
    session_rate = sessions / span
    clock = _Clock()
    random_ = rng.random
    expovariate = rng.expovariate
    malformed = spec.malformed_fraction
    offsets = spec.offset_fraction

    produced = 0
    session_number = 0
    session_start = float(start)
    chunk_users, chunk_lines = [], []
    while produced < spec.events:
        session_start += expovariate(session_rate)
        if session_start >= start + span:
            session_start = start + (session_start - start) % span
        user = rng.choices(users, cum_weights=user_weights)[0]
        quoted_user = user_json.get(user)
        if quoted_user is None:
            quoted_user = user_json[user] = orjson.dumps(user).decode()
        session_number += 1
        head = '{"user_id":%s,"session_id":"s%08x-%04x",' % (quoted_user, session_number, spec.seed & 0xFFFF)
        length = min(1 + int(expovariate(1.0 / (MEAN_SESSION_EVENTS - 1))), spec.events - produced)
        moment = session_start
        cart = []
        for position in range(length):
            if position:
                moment += 1.0 + expovariate(1 / 45.0)
            second = int(moment)
            zone = _ZONES[int(random_() * len(_ZONES))] if offsets and random_() < offsets else None
            stamp = clock.text(second, zone)
            draw = random_()
            if position == 0:
                body = '"action":"page_view","timestamp":"%s","page":"/"}' % stamp
            elif draw < 0.55:
                product = products[bisect(product_weights, random_() * product_total)]
                body = '"action":"view_product","timestamp":"%s","page":"/product/%s","product_id":"%s"}' % (
                    stamp, product, product)
            elif draw < 0.72:
                product = products[bisect(product_weights, random_() * product_total)]
                cart.append(product)
                body = '"action":"add_to_cart","timestamp":"%s","page":"/product/%s","product_id":"%s"}' % (
                    stamp, product, product)
            elif draw < 0.80 and cart:
                product = cart.pop()
                body = '"action":"purchase","timestamp":"%s","page":"/checkout","product_id":"%s"}' % (
                    stamp, product)
            elif draw < 0.92:
                term = _SEARCH_TERMS[int(random_() * len(_SEARCH_TERMS))]
                body = '"action":"search","timestamp":"%s","page":"/search","query":"%s"}' % (stamp, term)
            else:
                body = '"action":"page_view","timestamp":"%s","page":"/category/%d"}' % (stamp, int(random_() * 40))
            line = head + body
            if malformed and random_() < malformed:
                chunk_users.append(None)
                chunk_lines.append(_malformed(rng, line))
            else:
                chunk_users.append(user)
                chunk_lines.append(line)
        produced += length
        if len(chunk_lines) >= CHUNK_EVENTS:
            yield chunk_users, chunk_lines
            chunk_users, chunk_lines = [], []
    if chunk_lines:
        yield chunk_users, chunk_lines


def encode_lines(lines):
    """A chunk of lines -> bytes, one line each, newline-terminated."""
    if not lines:
        return b""
    return ("\n".join(lines) + "\n").encode("utf-8", "surrogateescape")


def write_events(spec, stream):
    """Write the generated clickstream to a binary stream; return the number of lines written."""
    written = 0
    for _users, lines in iter_event_chunks(spec):
        stream.write(encode_lines(lines))
        written += len(lines)
    return written


def write_events_file(spec, path):
    """``write_events`` into ``path`` atomically: a hidden temp file beside it, then a rename, so a
    reader never sees half a file. Returns the number of lines written."""
    folder, name = os.path.split(os.path.abspath(path))
    temp_path = os.path.join(folder, ".%s.tmp" % name)
    try:
        with open(temp_path, "wb") as stream:
            written = write_events(spec, stream)
        os.replace(temp_path, path)
    finally:
        if os.path.exists(temp_path):
            os.remove(temp_path)
    return written
