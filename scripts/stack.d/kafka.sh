# Kafka for scripts/stack: one Apache Kafka node in KRaft mode (broker + controller in one
# JVM), jars from Maven Central (scripts/stack.d/kafka/pom.xml), PLAINTEXT on
# 127.0.0.1:$KAFKA_PORT, controller on 127.0.0.1:$KAFKA_CONTROLLER_PORT.
#
# Version: Kafka 4.3.1. The 4.x line is wanted and kafka-python 3.0.12 (the project's client)
# was tested against a 4.3.1 broker: produce (acks=all, gzip), consume with a group and
# manual commit, committed() read-back, two consumers in one group rebalancing (partitions
# split, then all taken over when one leaves), admin create/list/delete topics. It all
# works, KIP-896's removal of old protocol versions notwithstanding. 4.3.1 rather than
# 4.4.0: Maven Central serves kafka_2.13 4.4.0 but not kafka-tools 4.4.0 (the console
# tools and TopicCommand), and the broker and the tools must share one version.
#
# Sourced by scripts/stack after common.sh. Files: the pom, server.properties.in and the
# log4j2 configs beside this file in kafka/; jars in $STACK_CACHE/kafka/lib; the generated
# server.properties and the data in $STACK_SCRATCH/kafka. scripts/kafka-tool runs Kafka's
# own CLI classes over the same jars.

KAFKA_VERSION=4.3.1
KAFKA_HEAP_OPTS="${CLICKSTREAM_STACK_KAFKA_HEAP:--Xms256m -Xmx512m}"

_kafka_lib() { echo "$STACK_CACHE/kafka/lib"; }
_kafka_home() { echo "$STACK_SCRATCH/kafka"; }
_kafka_java() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then echo "$JAVA_HOME/bin/java"; else echo java; fi
}

# _kafka_cluster_id: a random 16-byte id in Kafka's form (URL-safe base64, no padding). It may begin
# with "-", so it is passed as --cluster-id=ID, never as a separate argument.
_kafka_cluster_id() {
  head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

# _kafka_write_config: $STACK_SCRATCH/kafka/server.properties from the template.
_kafka_write_config() {
  local home
  home="$(_kafka_home)"
  mkdir -p "$home/data" || return 1
  sed -e "s|@HOST@|$STACK_HOST|g" -e "s|@PORT@|$KAFKA_PORT|g" \
      -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" -e "s|@DATA_DIR@|$home/data|g" \
      "$STACK_DIR/kafka/server.properties.in" >"$home/server.properties.tmp" &&
    mv "$home/server.properties.tmp" "$home/server.properties"
}

# _kafka_format: format the KRaft storage once per data folder (static voter set, so no
# --standalone / --initial-controllers needed).
_kafka_format() {
  local home lib
  home="$(_kafka_home)"; lib="$(_kafka_lib)"
  [[ -f "$home/data/meta.properties" ]] && return 0
  if ! "$(_kafka_java)" -Xmx256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$lib/*" \
      -Dlog4j2.configurationFile="$STACK_DIR/kafka/log4j2-tools.xml" \
      kafka.tools.StorageTool format --cluster-id="$(_kafka_cluster_id)" -c "$home/server.properties" \
      >>"$(log_file kafka)" 2>&1; then
    echo "stack: formatting Kafka storage in $home/data failed" >&2
    show_log_tail kafka
    return 1
  fi
}

# _kafka_ready: the broker answers a metadata request and lists itself (kafka-python from
# the project's venv; Kafka's BrokerApiVersionsCommand when there is no venv).
_kafka_ready() {
  port_open "$KAFKA_PORT" || return 1
  local py="$STACK_REPO/.venv/bin/python"
  if [[ -x "$py" ]] && "$py" -c 'import kafka' 2>/dev/null; then
    "$py" - "$STACK_HOST:$KAFKA_PORT" <<'EOF'
import sys
from kafka import KafkaAdminClient
admin = KafkaAdminClient(bootstrap_servers=sys.argv[1], request_timeout_ms=5000, client_id="stack-ready-check")
try:
    cluster = admin.describe_cluster()
    sys.exit(0 if cluster.get("brokers") else 1)
finally:
    admin.close()
EOF
  else
    "$STACK_REPO/scripts/kafka-tool" broker-api-versions --bootstrap-server "$STACK_HOST:$KAFKA_PORT" \
      | grep -q "$STACK_HOST:$KAFKA_PORT"
  fi
}

kafka_provision() {
  local lib
  lib="$(_kafka_lib)"
  mvn_copy_deps "$STACK_DIR/kafka/pom.xml" "$lib" || return 1
  [[ -f "$lib/kafka_2.13-$KAFKA_VERSION.jar" ]] || {
    echo "stack: $lib has no kafka_2.13-$KAFKA_VERSION.jar; remove $lib and retry" >&2
    return 1
  }
}

kafka_start() {
  if is_running kafka; then
    wait_ready kafka 60 _kafka_ready
    return
  fi
  if port_open "$KAFKA_PORT" || port_open "$KAFKA_CONTROLLER_PORT"; then
    echo "stack: port $KAFKA_PORT or $KAFKA_CONTROLLER_PORT on $STACK_HOST is taken by a process" \
      "this stack did not start; stop it or set CLICKSTREAM_STACK_KAFKA_PORT / _CONTROLLER_PORT" >&2
    return 1
  fi
  _kafka_write_config || return 1
  _kafka_format || return 1
  # shellcheck disable=SC2086
  start_daemon kafka "$(_kafka_java)" $KAFKA_HEAP_OPTS -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
    -Dlog4j2.configurationFile="$STACK_DIR/kafka/log4j2.xml" -Dkafka.logs.dir="$(_kafka_home)" \
    -cp "$(_kafka_lib)/*" kafka.Kafka "$(_kafka_home)/server.properties" || return 1
  wait_ready kafka 120 _kafka_ready
}

kafka_stop() {
  stop_daemon kafka
}

kafka_status() {
  status_line kafka "PLAINTEXT://$STACK_HOST:$KAFKA_PORT (Kafka $KAFKA_VERSION, KRaft; data $(_kafka_home)/data)"
}

kafka_env() {
  echo "export KAFKA_BOOTSTRAP_SERVERS=$STACK_HOST:$KAFKA_PORT"
  echo "export KAFKA_TOOL=$STACK_REPO/scripts/kafka-tool"
}
