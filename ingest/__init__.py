"""Kafka -> raw area (HDFS or a local folder), exactly once, partitioned by event-time hour.

Pure core: config, routing, rotation, watermark, progress, and recovery's names and manifests.
Adapters, which receive their clients: sinks (file://, hdfs://), writer (the flush protocol),
recovery's recover(), consumer (the loop) with its parts resume, watermark_publisher and reporter,
watermark_store, publish (generated events to Kafka). service.py builds the clients for the CLI.
"""
