"""Benchmark corpora: generated raw areas laid out as the ingest writes them, cached by spec.

A corpus is ``<cache>/<key>/raw/dt=YYYY-MM-DD/hour=HH/bench+0+<first>+<last>.jsonl`` (one file
per event-time hour; rejected lines aside under ``raw/_rejected/``). Generating 10M events takes
about a minute, so each spec is built once, under a hidden name, then renamed into place.
"""
import hashlib
import os
import shutil
import tempfile
from dataclasses import asdict, dataclass

from batch.demo import write_raw_area
from clickstream.generator import GeneratorSpec

CACHE_ENV = "CLICKSTREAM_BENCH_CACHE"
CORPUS_VERSION = 1


@dataclass(frozen=True)
class CorpusSpec:
    """``events`` over ``users`` (heavy-tailed), spread over ``hours`` hour partitions: one file each."""

    events: int
    users: int
    hours: int = 4
    seed: int = 11
    malformed: float = 0.001
    offsets: float = 0.1
    zipf: float = 0.9  # 0: uniform users, to get a million distinct ones

    def generator_spec(self):
        return GeneratorSpec(events=self.events, users=self.users, seed=self.seed, span_hours=self.hours,
                             malformed_fraction=self.malformed, offset_fraction=self.offsets,
                             zipf_exponent=self.zipf)

    def key(self):
        text = repr((CORPUS_VERSION, sorted(asdict(self).items())))
        return "%de-%du-%s" % (self.events, self.users, hashlib.sha1(text.encode()).hexdigest()[:10])


def cache_root():
    return os.environ.get(CACHE_ENV) or os.path.join(tempfile.gettempdir(), "clickstream-bench-cache")


def corpus_files(spec, progress=None):
    """The data files of ``spec``'s raw area, generating it on first use."""
    folder = os.path.join(cache_root(), spec.key())
    listing = os.path.join(folder, "files.txt")
    if not os.path.exists(listing):
        os.makedirs(cache_root(), exist_ok=True)
        building = tempfile.mkdtemp(prefix="_" + spec.key() + ".", dir=cache_root())
        try:
            files, _writer = write_raw_area(spec.generator_spec(), os.path.join(building, "raw"), progress)
            with open(os.path.join(building, "files.txt"), "w") as stream:
                stream.writelines(os.path.relpath(path, building) + "\n" for path in files)
            os.replace(building, folder)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
    with open(listing) as stream:
        return [os.path.join(folder, name.strip()) for name in stream if name.strip()]


def raw_root(files):
    """The raw-area root of a corpus's files (``<key>/raw``)."""
    return os.path.dirname(os.path.dirname(os.path.dirname(files[0])))
