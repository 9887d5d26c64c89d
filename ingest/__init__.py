"""Kafka -> HDFS ingest of the raw clickstream (see issue: exactly once, event-time partitions)."""
