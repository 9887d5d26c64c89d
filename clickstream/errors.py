"""The toolkit's one exception hierarchy; messages name the option or field and quote the value."""


class ClickstreamError(Exception):
    """Base of every error the toolkit raises on purpose."""


class ConfigError(ClickstreamError):
    """Bad configuration: raised at start-up, reported in one line."""


class ServiceError(ClickstreamError):
    """A server (MongoDB, Kafka, HDFS) or a subprocess failed; the message says which operation."""
