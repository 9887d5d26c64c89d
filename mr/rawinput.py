"""Reading raw-area files inside a map task: plain or gzip, line by line, bytes."""
import gzip


def open_raw(path):
    """Open a raw input file for binary line iteration, decompressing .gz files."""
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb", buffering=1 << 20)
