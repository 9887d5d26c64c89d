"""The seed's Hadoop-streaming style, as a baseline: a JSON mapper script, ``sort``, a reducer script."""
