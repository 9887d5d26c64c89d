"""MRUserActions whose first attempt of map task 0 stops a few events into its file, says so in
``--pause-dir`` (a file named for the attempt, holding its pid) and waits there to be killed:
test_yarn_faults.py SIGKILLs that Python mid-task and checks that YARN's retry gives the exact
answer. Every other attempt runs the job unchanged."""
import os
import time

from mrjob.compat import jobconf_from_env

from mr.mr_user_actions import MRUserActions

PAUSE_AFTER_EVENTS = 50
PAUSE_SECONDS = 300  # then fail the attempt anyway: the test has given up on killing it


class MRKilledUserActions(MRUserActions):
    def configure_args(self):
        super().configure_args()
        self.add_passthru_arg("--pause-dir", help="folder where the attempt to kill announces its pid")

    def iter_event_fields(self, input_path, input_uri):
        attempt = jobconf_from_env("mapreduce.task.attempt.id", "")
        pause = bool(self.options.pause_dir) and attempt.endswith("_m_000000_0")
        for number, fields in enumerate(super().iter_event_fields(input_path, input_uri)):
            if pause and number == PAUSE_AFTER_EVENTS:
                self.wait_to_be_killed(attempt)
            yield fields

    def wait_to_be_killed(self, attempt):
        self.stdout.flush()  # what the combiner spilled so far is out: the retry must not add it twice
        path = os.path.join(self.options.pause_dir, attempt)
        with open(path + ".tmp", "w") as stream:
            stream.write(str(os.getpid()))
        os.rename(path + ".tmp", path)
        deadline = time.monotonic() + PAUSE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(0.2)
        raise RuntimeError("attempt %s was not killed within %d s" % (attempt, PAUSE_SECONDS))


if __name__ == "__main__":
    MRKilledUserActions.run()
