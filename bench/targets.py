"""Performance targets and how a measured median stands against one (met, or missed and by how much)."""
from dataclasses import dataclass


@dataclass(frozen=True)
class Target:
    """``value <= bound`` (``at_most``) or ``value >= bound``; ``unit`` is how the value is printed:
    ``"x"`` (a ratio such as 0.43x), ``"%"`` (a fraction printed as a percentage), ``"/s"`` (a rate) or ``""``."""

    bound: float
    at_most: bool
    unit: str = "x"

    def show(self, value):
        if self.unit == "%":
            return "%.0f%%" % (100 * value)
        if self.unit == "x":
            return "%.2f×" % value
        if self.unit == "/s":
            return "{:,.0f}/s".format(value)
        return "%.2f" % value

    def text(self):
        return ("≤ " if self.at_most else "≥ ") + self.show(self.bound)

    def met(self, value):
        return value <= self.bound if self.at_most else value >= self.bound

    def verdict(self, value):
        """``"met"``, or ``"**missed** by …"`` with the gap in the figure's unit and relative to the target."""
        if self.met(value):
            return "met"
        gap = abs(value - self.bound)
        if self.unit == "%":
            amount = "%.0f points" % (100 * gap)
        elif self.unit in ("x", "/s"):
            amount = self.show(gap)
        else:
            amount = "%.2f" % gap
        relative = 100 * gap / self.bound
        return "**missed** by %s (%.0f%% %s the target)" % (amount, relative, "over" if self.at_most else "short of")


MR_LOCAL = Target(0.6, at_most=True)  # -r local's time over the plain-Python count's
MR_INLINE = Target(0.8, at_most=True)  # -r inline's time over the plain-Python count's
INGEST = Target(0.8, at_most=False, unit="%")  # the ingest's events/s over the bare consumer loop's
LOADER = Target(0.9, at_most=False, unit="")  # our loader's records/s over a bare bulk_write's
GENERATOR = Target(200_000, at_most=False, unit="/s")  # generator events/s to a file
HISTORY = Target(1.3, at_most=True)  # an hourly run late in a multi-day stream over an early one of the same size
