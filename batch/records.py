"""Run records and reconciliation: each `clickstream run` is one JSON document in MongoDB
(``runs``) with every step, its duration, its counts and the invariants checked on them."""
import socket
from datetime import datetime, timezone

RUNS = "runs"


def mr_invariants(counters):
    """Invariants of a job's counters ({group: {name: count}}): every line read was either
    counted as an event or rejected with a reason."""
    own = counters.get("clickstream", {})
    read, valid = own.get("lines read", 0), own.get("events valid", 0)
    rejected = sum(counters.get("clickstream rejected", {}).values())
    return [{"name": "events read = counted + rejected", "ok": read == valid + rejected,
             "detail": "%d = %d + %d" % (read, valid, rejected)}]


def load_invariants(stats, rejected=None):
    """Invariants of a load's stats: every output record was upserted, matched, found already
    applied, or rejected; and none was rejected (the job wrote it, so a reject is a defect, or a
    record outside the batch's partition). ``rejected``: reason -> count, named in the detail."""
    records = stats.get("records", 0)
    accounted = stats["upserted"] + stats["matched"] + stats["already_applied"]
    return [
        {"name": "output records = documents upserted or matched", "ok": records == accounted + stats["rejected"],
         "detail": "%d = %d upserted + %d matched + %d already applied + %d rejected" % (
             records, stats["upserted"], stats["matched"], stats["already_applied"], stats["rejected"])},
        {"name": "no output record rejected", "ok": stats["rejected"] == 0,
         "detail": "%d rejected%s" % (stats["rejected"], "".join(
             ", %s: %d" % item for item in sorted((rejected or {}).items())))},
    ]


def broken(invariants):
    return [invariant for invariant in invariants if not invariant["ok"]]


class RunRecord:
    """The ``runs`` document of one invocation, written at the start and after every step, so a
    run that dies still leaves what it did (its status stays 'running')."""

    def __init__(self, db, run_id, command, pid, now=None):
        self.collection = db[RUNS]
        self.run_id = run_id
        self.document = {"_id": run_id, "command": command, "host": socket.gethostname(), "pid": pid,
                         "started_at": now or datetime.now(timezone.utc), "status": "running", "steps": []}
        self.collection.create_index([("started_at", -1)], name="started_at_desc")
        self.collection.insert_one(self.document)

    def add_step(self, step):
        self.document["steps"].append(step)
        self.collection.update_one({"_id": self.run_id}, {"$push": {"steps": step}})

    def finish(self, status, exit_code, summary, totals=None, now=None):
        finished = now or datetime.now(timezone.utc)
        fields = {"status": status, "exit_code": exit_code, "summary": summary, "finished_at": finished,
                  "seconds": round((finished - self.document["started_at"]).total_seconds(), 3),
                  "totals": totals or {}}
        self.document.update(fields)
        self.collection.update_one({"_id": self.run_id}, {"$set": fields})


def recent_runs(db, limit=20):
    return list(db[RUNS].find({}).sort([("started_at", -1)]).limit(int(limit)))


def run_rows(runs):
    """Run documents -> rows for `clickstream runs` (a run still 'running' may have died: its
    steps say how far it got)."""
    rows = []
    for run in runs:
        steps = run.get("steps", [])
        totals = run.get("totals") or {}
        hours = totals.get("hours") or sorted({step["partition"] for step in steps})
        note = totals.get("failure") or totals.get("waiting") or "; ".join(totals.get("locked") or ())
        rows.append({
            "run_id": run["_id"], "started_at": run["started_at"].strftime("%Y-%m-%dT%H:%M:%SZ"),
            "status": run.get("status"), "exit": run.get("exit_code"), "seconds": run.get("seconds"),
            "hours": len(hours), "first_hour": hours[0] if hours else "",
            "mr": sum(1 for step in steps if step["step"] == "mr" and step["status"] == "ok"),
            "loads": sum(1 for step in steps if step["step"] == "load" and step["status"] == "ok"),
            "events": totals.get("events", 0),
            "upserted": sum(step.get("counts", {}).get("upserted", 0) for step in steps if step["step"] == "load"),
            "broken": sum(len(broken(step.get("invariants", []))) for step in steps),
            "note": note if len(note) <= 100 else note[:97] + "...",
        })
    return rows
