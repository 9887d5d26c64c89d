"""RunSettings for tests that build a run by hand: the config schema's defaults, overridden by keyword."""
from batch.runner import RunSettings
from clickstream.config import defaults


def run_settings(**values):
    """RunSettings.from_settings over `clickstream run`'s schema defaults: a keyword naming a
    setting overrides it; any other is one of the command's own flags (hour, force, command...)."""
    settings = defaults("run")
    command_values = {name: value for name, value in values.items() if name not in settings}
    settings.update((name, value) for name, value in values.items() if name in settings)
    return RunSettings.from_settings(settings, **command_values)
