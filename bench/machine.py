"""The machine a benchmark ran on (CPU model and count, memory, Python, OS) and when, for its JSON."""
import os
import platform
import sys
from datetime import datetime, timezone


def _cpu_model(cpuinfo="/proc/cpuinfo"):
    try:
        with open(cpuinfo) as stream:
            for line in stream:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib(meminfo="/proc/meminfo"):
    try:
        with open(meminfo) as stream:
            for line in stream:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / (1 << 20), 1)
    except (OSError, ValueError, IndexError):
        pass
    return None


def describe():
    """``{"cpu", "cpus", "memory_gib", "python", "os"}`` of this machine."""
    return {"cpu": _cpu_model(), "cpus": os.cpu_count(), "memory_gib": _memory_gib(),
            "python": sys.version.split()[0], "os": "%s %s" % (platform.system(), platform.release())}


def stamp():
    """The ``date`` (UTC) and ``machine`` entries every benchmark's JSON starts with."""
    return {"date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": describe()}


def write_result(path, result):
    """Write a benchmark's result as indented JSON to ``path`` (its folder made when missing)."""
    import json

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w") as stream:
        json.dump(result, stream, indent=2)
        stream.write("\n")
