"""Kafka -> raw area (HDFS or a local folder), exactly once, partitioned by event-time hour.

Pure core: config, routing, rotation, recovery (names, manifests), watermark, progress.
Adapters, which receive their clients: sinks (file://, hdfs://), writer (the flush protocol),
consumer (the loop), status, producer. run.py builds the clients for the CLI.
"""
