# Hadoop for scripts/stack: a single-node YARN cluster that mrjob's hadoop runner submits to, and
# the Hadoop installation layout an edge node has. Sourced by scripts/stack after common.sh.
#
# The daemons: Hadoop 3.4's own ResourceManager, NodeManager (MapReduce's shuffle as its aux
# service) and MapReduce JobHistoryServer, each in its JVM from its own main class (what `yarn
# resourcemanager`, `yarn nodemanager` and `mapred historyserver` run; one JVM cannot hold two of
# their web apps), jars from Maven Central in $HADOOP_YARN_CACHE/daemons, all on 127.0.0.1:
#   ResourceManager  RPC $RESOURCEMANAGER_PORT, scheduler $RESOURCEMANAGER_SCHEDULER_PORT,
#                    resource tracker $RESOURCEMANAGER_TRACKER_PORT, admin $RESOURCEMANAGER_ADMIN_PORT,
#                    web and REST $RESOURCEMANAGER_WEB_PORT
#   JobHistoryServer RPC $JOBHISTORY_PORT, web $JOBHISTORY_WEB_PORT (admin: a free port)
#   NodeManager      RPC, localizer, web and shuffle on free ports (it reports them to the RM)
# Each fixed port is CLICKSTREAM_STACK_<NAME>_PORT in the environment, defaults below.
# (MapReduce's ApplicationMaster and tasks listen on the wildcard address: Hadoop hard-codes it.)
# The NodeManager offers $YARN_MEMORY_MB MB and $YARN_VCORES vcores (CLICKSTREAM_STACK_YARN_MEMORY_MB,
# _VCORES); ApplicationMaster, map and reduce containers take 512 MB each, so one job's AM and
# a few tasks run at once beside Kafka, HDFS and the MongoDB-wire server on a 2-core machine.
#
# The layout, HADOOP_HOME = $HADOOP_YARN_CACHE/home (shared by every stack instance):
#   bin/hadoop                 our launcher (hadoop/bin-hadoop.sh): fs, jar, version, job, ...
#   share/hadoop/common/lib/   hadoop-common, hadoop-hdfs-client, the MapReduce client, AM and task
#                              runtime, and their dependencies: the classpath of `hadoop` commands
#                              and, through YARN's default application classpath, of containers
#   share/hadoop/tools/lib/    hadoop-streaming-<version>.jar, where mrjob looks for it
# and per instance (they name this instance's ports and folders), in $STACK_SCRATCH/hadoop:
#   conf/      HADOOP_CONF_DIR of the daemons and of clients, as on a cluster's nodes and edge
#              nodes: core-, hdfs-, yarn-, mapred-site.xml, capacity-scheduler.xml, log4j
#   logs/      HADOOP_LOG_DIR; the NodeManager's container logs in logs/userlogs/, where mrjob
#              reads a failed task's stderr
#   mrjob.conf what an edge node's mrjob.conf holds for this cluster (MRJOB_CONF): where its
#              logs are. mrjob's working files go to HDFS (its default hdfs:///user/$USER/tmp/mrjob).

HADOOP_YARN_CACHE="$STACK_CACHE/hadoop-yarn"
HADOOP_STACK_HOME="$HADOOP_YARN_CACHE/home"
HADOOP_YARN_DAEMONS="$HADOOP_YARN_CACHE/daemons"
HADOOP_STACK_WORK="$STACK_SCRATCH/hadoop"
HADOOP_STACK_CONF="$HADOOP_STACK_WORK/conf"
HADOOP_STACK_LOGS="$HADOOP_STACK_WORK/logs"
HADOOP_STACK_MRJOB_CONF="$HADOOP_STACK_WORK/mrjob.conf"
HADOOP_STACK_SRC="$STACK_DIR/hadoop"

RESOURCEMANAGER_PORT="${CLICKSTREAM_STACK_RESOURCEMANAGER_PORT:-18032}"
RESOURCEMANAGER_SCHEDULER_PORT="${CLICKSTREAM_STACK_RESOURCEMANAGER_SCHEDULER_PORT:-18030}"
RESOURCEMANAGER_TRACKER_PORT="${CLICKSTREAM_STACK_RESOURCEMANAGER_TRACKER_PORT:-18031}"
RESOURCEMANAGER_ADMIN_PORT="${CLICKSTREAM_STACK_RESOURCEMANAGER_ADMIN_PORT:-18033}"
RESOURCEMANAGER_WEB_PORT="${CLICKSTREAM_STACK_RESOURCEMANAGER_WEB_PORT:-18088}"
JOBHISTORY_PORT="${CLICKSTREAM_STACK_JOBHISTORY_PORT:-18120}"
JOBHISTORY_WEB_PORT="${CLICKSTREAM_STACK_JOBHISTORY_WEB_PORT:-18188}"
YARN_MEMORY_MB="${CLICKSTREAM_STACK_YARN_MEMORY_MB:-4096}"
YARN_VCORES="${CLICKSTREAM_STACK_YARN_VCORES:-4}"
YARN_DAEMON_HEAP="${CLICKSTREAM_STACK_YARN_DAEMON_HEAP:-384m}"  # each of the three

# Hadoop reaches into JDK internals by reflection, which Java 17 refuses unless opened; the
# daemon and every container JVM get these (bin/hadoop has its own copy for clients).
HADOOP_JAVA_OPENS=""
for _pkg in java.base/java.lang java.base/java.lang.reflect java.base/java.io java.base/java.net \
    java.base/java.nio java.base/java.util java.base/java.util.concurrent \
    java.base/java.util.concurrent.atomic java.base/sun.nio.ch java.base/sun.nio.cs \
    java.base/sun.security.action java.base/sun.util.calendar java.security.jgss/sun.security.krb5; do
  HADOOP_JAVA_OPENS+="--add-opens=$_pkg=ALL-UNNAMED "
done
unset _pkg
# Containers are short-lived JVMs: the client compiler and the serial collector start fastest.
HADOOP_CONTAINER_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.net.preferIPv4Stack=true $HADOOP_JAVA_OPENS"

_hadoop_java_home() {
  if [[ -n "${JAVA_HOME:-}" ]]; then echo "$JAVA_HOME"; return; fi
  local java
  java="$(command -v java)" || return 1
  dirname "$(dirname "$(readlink -f "$java")")"
}

hadoop_provision() {
  local lib="$HADOOP_STACK_HOME/share/hadoop/common/lib"
  local tools="$HADOOP_STACK_HOME/share/hadoop/tools/lib"
  mvn_copy_deps "$HADOOP_STACK_SRC/hadoop-client/pom.xml" "$lib" || return 1
  # The streaming jar goes where mrjob (and people) look for it, out of the classpath:
  # `hadoop jar` adds it itself. A fresh resolution brings a fresh copy into lib/.
  if compgen -G "$lib/hadoop-streaming-*.jar" >/dev/null; then
    rm -rf "$tools"; mkdir -p "$tools"
    mv "$lib"/hadoop-streaming-*.jar "$tools/"
  fi
  compgen -G "$tools/hadoop-streaming-*.jar" >/dev/null || {
    echo "stack: no hadoop-streaming jar in $tools; remove $lib and retry" >&2
    return 1
  }
  mkdir -p "$HADOOP_STACK_HOME/bin"
  if ! cmp -s "$HADOOP_STACK_SRC/bin-hadoop.sh" "$HADOOP_STACK_HOME/bin/hadoop"; then
    install -m 755 "$HADOOP_STACK_SRC/bin-hadoop.sh" "$HADOOP_STACK_HOME/bin/hadoop.tmp"
    mv "$HADOOP_STACK_HOME/bin/hadoop.tmp" "$HADOOP_STACK_HOME/bin/hadoop"
  fi
  # The daemons' jars (their main classes are Hadoop's own).
  mvn_copy_deps "$HADOOP_STACK_SRC/yarn-daemons/pom.xml" "$HADOOP_YARN_DAEMONS/lib"
}

# _hadoop_site FILE NAME VALUE [NAME VALUE ...]: write a Hadoop configuration file.
_hadoop_site() {
  local file="$1"; shift
  {
    echo '<?xml version="1.0" encoding="UTF-8"?>'
    echo '<!-- Written by scripts/stack (scripts/stack.d/hadoop.sh) at start-up; edits are lost. -->'
    echo '<configuration>'
    while (($# >= 2)); do
      printf '  <property><name>%s</name><value>%s</value></property>\n' "$1" "$2"
      shift 2
    done
    echo '</configuration>'
  } >"$file.tmp"
  mv "$file.tmp" "$file"
}

_hadoop_write_conf() {
  local conf="$HADOOP_STACK_CONF" work="$HADOOP_STACK_WORK" host="$STACK_HOST"
  mkdir -p "$conf" "$work/tmp" "$work/nm-local" "$HADOOP_STACK_LOGS/userlogs"
  _hadoop_site "$conf/core-site.xml" \
    fs.defaultFS "hdfs://$host:$NAMENODE_PORT" \
    hadoop.tmp.dir "$work/tmp" \
    hadoop.http.staticuser.user "$(id -un)" \
    ipc.client.connect.max.retries 3 \
    ipc.client.connect.max.retries.on.timeouts 3
  _hadoop_site "$conf/hdfs-site.xml" \
    dfs.replication 1 \
    dfs.client.block.write.replace-datanode-on-failure.enable false
  # Heartbeats at 200-300 ms instead of 1 s: containers are granted on heartbeats, and a job
  # here is short enough for the default to dominate its latency.
  _hadoop_site "$conf/yarn-site.xml" \
    yarn.resourcemanager.hostname "$host" \
    yarn.resourcemanager.address "$host:$RESOURCEMANAGER_PORT" \
    yarn.resourcemanager.scheduler.address "$host:$RESOURCEMANAGER_SCHEDULER_PORT" \
    yarn.resourcemanager.resource-tracker.address "$host:$RESOURCEMANAGER_TRACKER_PORT" \
    yarn.resourcemanager.admin.address "$host:$RESOURCEMANAGER_ADMIN_PORT" \
    yarn.resourcemanager.webapp.address "$host:$RESOURCEMANAGER_WEB_PORT" \
    yarn.resourcemanager.webapp.https.address "$host:0" \
    yarn.resourcemanager.nodemanagers.heartbeat-interval-ms 250 \
    yarn.resourcemanager.connect.retry-interval.ms 500 \
    yarn.resourcemanager.system-metrics-publisher.enabled false \
    yarn.nodemanager.hostname "$host" \
    yarn.nodemanager.address "$host:0" \
    yarn.nodemanager.localizer.address "$host:0" \
    yarn.nodemanager.webapp.address "$host:0" \
    yarn.nodemanager.resource.memory-mb "$YARN_MEMORY_MB" \
    yarn.nodemanager.resource.cpu-vcores "$YARN_VCORES" \
    yarn.nodemanager.vmem-check-enabled false \
    yarn.nodemanager.local-dirs "$work/nm-local" \
    yarn.nodemanager.log-dirs "$HADOOP_STACK_LOGS/userlogs" \
    yarn.nodemanager.delete.debug-delay-sec 0 \
    yarn.nodemanager.aux-services mapreduce_shuffle \
    yarn.nodemanager.aux-services.mapreduce_shuffle.class org.apache.hadoop.mapred.ShuffleHandler \
    yarn.nodemanager.env-whitelist JAVA_HOME,HADOOP_COMMON_HOME,HADOOP_HDFS_HOME,HADOOP_CONF_DIR,CLASSPATH_PREPEND_DISTCACHE,HADOOP_YARN_HOME,HADOOP_HOME,PATH,LANG,TZ,HADOOP_MAPRED_HOME \
    yarn.scheduler.minimum-allocation-mb 128 \
    yarn.scheduler.maximum-allocation-mb "$YARN_MEMORY_MB" \
    yarn.scheduler.maximum-allocation-vcores "$YARN_VCORES" \
    yarn.log-aggregation-enable false
  # One queue, and room for a second job's ApplicationMaster (the default allows 10% of memory).
  _hadoop_site "$conf/capacity-scheduler.xml" \
    yarn.scheduler.capacity.root.queues default \
    yarn.scheduler.capacity.root.default.capacity 100 \
    yarn.scheduler.capacity.root.default.maximum-capacity 100 \
    yarn.scheduler.capacity.maximum-am-resource-percent 0.5
  # mapreduce.shuffle.port belongs here, not in yarn-site.xml: the NodeManager's shuffle loads
  # mapred-default.xml (port 13562) after yarn-site.xml, so only mapred-site.xml overrides it. A free
  # port lets two stacks run on one machine. (The shuffle binds every interface: Hadoop 3.4 has no
  # address setting for it.)
  _hadoop_site "$conf/mapred-site.xml" \
    mapreduce.shuffle.port 0 \
    mapreduce.framework.name yarn \
    mapreduce.jobhistory.address "$host:$JOBHISTORY_PORT" \
    mapreduce.jobhistory.webapp.address "$host:$JOBHISTORY_WEB_PORT" \
    mapreduce.jobhistory.admin.address "$host:0" \
    yarn.app.mapreduce.am.resource.mb 512 \
    yarn.app.mapreduce.am.command-opts "-Xmx400m $HADOOP_CONTAINER_OPTS" \
    yarn.app.mapreduce.am.scheduler.heartbeat.interval-ms 200 \
    mapreduce.map.memory.mb 512 \
    mapreduce.map.java.opts "-Xmx384m $HADOOP_CONTAINER_OPTS" \
    mapreduce.reduce.memory.mb 512 \
    mapreduce.reduce.java.opts "-Xmx384m $HADOOP_CONTAINER_OPTS" \
    mapreduce.task.io.sort.mb 64 \
    mapreduce.client.submit.file.replication 1 \
    mapreduce.client.progressmonitor.pollinterval 500
  cp "$HADOOP_STACK_SRC/log4j.properties" "$conf/log4j.properties"
  # Containers log with YARN's container-log4j.properties, found on their classpath (the conf
  # folder here; Apache Hadoop's share/hadoop/yarn/, which this layout has not).
  if [[ ! -f "$conf/container-log4j.properties" ]]; then
    unzip -p "$HADOOP_YARN_DAEMONS/lib"/hadoop-yarn-server-nodemanager-*.jar container-log4j.properties \
      >"$conf/container-log4j.properties"
  fi
  {
    echo '# Written by scripts/stack (scripts/stack.d/hadoop.sh) at start-up; sourced by bin/hadoop.'
    printf 'HADOOP_LOG_DIR="${HADOOP_LOG_DIR:-%s}"\n' "$HADOOP_STACK_LOGS"
  } >"$conf/hadoop-env.sh"
  # JSON, which mrjob reads with or without PyYAML: where this cluster's task logs are (mrjob
  # reads a failed task's stderr there) and its job history (for counters and errors).
  printf '{"runners": {"hadoop": {"hadoop_log_dirs": ["%s", "hdfs:///tmp/hadoop-yarn/staging"]}}}\n' \
    "$HADOOP_STACK_LOGS" >"$HADOOP_STACK_MRJOB_CONF.tmp"
  mv "$HADOOP_STACK_MRJOB_CONF.tmp" "$HADOOP_STACK_MRJOB_CONF"
}

# _yarn_rm GET_PATH: a ResourceManager REST answer (JSON) on stdout.
_yarn_rm() { curl -sf --max-time 5 -H 'Accept: application/json' "http://$STACK_HOST:$RESOURCEMANAGER_WEB_PORT$1"; }

# _yarn_ready: the RM counts a running NodeManager, and the JobHistoryServer answers.
_yarn_ready() {
  local active
  active="$(_yarn_rm /ws/v1/cluster/metrics | sed -n 's/.*"activeNodes" *: *\([0-9][0-9]*\).*/\1/p')"
  [[ -n "$active" ]] && ((active >= 1)) &&
    curl -sf --max-time 5 "http://$STACK_HOST:$JOBHISTORY_WEB_PORT/ws/v1/history/info" >/dev/null
}

YARN_DAEMONS=(resourcemanager nodemanager historyserver)

# _yarn_daemon_class NAME: the main class of one of YARN_DAEMONS.
_yarn_daemon_class() {
  case "$1" in
    resourcemanager) echo org.apache.hadoop.yarn.server.resourcemanager.ResourceManager ;;
    nodemanager) echo org.apache.hadoop.yarn.server.nodemanager.NodeManager ;;
    historyserver) echo org.apache.hadoop.mapreduce.v2.hs.JobHistoryServer ;;
  esac
}

# _yarn_all_running: every one of YARN_DAEMONS is alive (wait_ready's liveness check).
_yarn_all_running() {
  local name
  for name in "${YARN_DAEMONS[@]}"; do is_running "$name" || return 1; done
}

hadoop_start() {
  _hadoop_write_conf
  local out
  if ! out="$(HADOOP_CONF_DIR="$HADOOP_STACK_CONF" "$HADOOP_STACK_HOME/bin/hadoop" version 2>&1)" || [[ "$out" != Hadoop\ * ]]; then
    echo "stack: $HADOOP_STACK_HOME/bin/hadoop version failed:" >&2
    echo "$out" | tail -n 40 >&2
    return 1
  fi
  if ! _yarn_all_running; then
    hadoop_stop
    local port java_home name
    for port in "$RESOURCEMANAGER_PORT" "$RESOURCEMANAGER_SCHEDULER_PORT" "$RESOURCEMANAGER_TRACKER_PORT" \
        "$RESOURCEMANAGER_ADMIN_PORT" "$RESOURCEMANAGER_WEB_PORT" "$JOBHISTORY_PORT" "$JOBHISTORY_WEB_PORT"; do
      if port_open "$port"; then
        echo "stack: yarn: port $port on $STACK_HOST is taken by another process" >&2
        return 1
      fi
    done
    java_home="$(_hadoop_java_home)" || { echo "stack: yarn: no java on PATH and JAVA_HOME unset" >&2; return 1; }
    rm -rf "$HADOOP_STACK_WORK/nm-local" "$HADOOP_STACK_LOGS/userlogs"
    mkdir -p "$HADOOP_STACK_WORK/nm-local" "$HADOOP_STACK_LOGS/userlogs"
    # All three at once: the NodeManager retries the ResourceManager until it answers. The
    # NodeManager hands JAVA_HOME and the HADOOP_*_HOME folders on to containers (its env
    # whitelist), whose default classpath is then this layout's, as on an installed cluster.
    for name in "${YARN_DAEMONS[@]}"; do
      : >"$(log_file "$name")"
      # shellcheck disable=SC2086
      JAVA_HOME="$java_home" HADOOP_HOME="$HADOOP_STACK_HOME" \
        HADOOP_COMMON_HOME="$HADOOP_STACK_HOME" HADOOP_HDFS_HOME="$HADOOP_STACK_HOME" \
        HADOOP_YARN_HOME="$HADOOP_STACK_HOME" HADOOP_MAPRED_HOME="$HADOOP_STACK_HOME" \
        HADOOP_CONF_DIR="$HADOOP_STACK_CONF" HADOOP_LOG_DIR="$HADOOP_STACK_LOGS" \
        start_daemon "$name" "$java_home/bin/java" "-Xmx$YARN_DAEMON_HEAP" -Xms64m -XX:TieredStopAtLevel=1 \
          -XX:+UseSerialGC -Djava.net.preferIPv4Stack=true $HADOOP_JAVA_OPENS \
          "-Dhadoop.home.dir=$HADOOP_STACK_HOME" "-Dhadoop.log.dir=$HADOOP_STACK_LOGS" \
          "-Dyarn.log.dir=$HADOOP_STACK_LOGS" "-Dhadoop.id.str=$(id -un)" \
          "-Dlog4j.configuration=file:$HADOOP_STACK_SRC/yarn-daemons/log4j.properties" \
          -cp "$HADOOP_STACK_CONF:$HADOOP_YARN_DAEMONS/lib/*" "$(_yarn_daemon_class "$name")"
    done
  fi
  _yarn_wait_ready 180
}

# _yarn_wait_ready TIMEOUT_SECONDS: wait_ready over the three daemons.
_yarn_wait_ready() {
  local deadline=$((SECONDS + $1)) name
  while ((SECONDS < deadline)); do
    if _yarn_ready >/dev/null 2>&1; then return 0; fi
    for name in "${YARN_DAEMONS[@]}"; do
      if ! is_running "$name"; then
        echo "stack: $name exited during start-up" >&2
        show_log_tail "$name"
        return 1
      fi
    done
    sleep 0.5
  done
  echo "stack: yarn did not answer within ${1}s" >&2
  for name in "${YARN_DAEMONS[@]}"; do show_log_tail "$name" 15; done
  return 1
}

hadoop_stop() {
  local i
  for ((i = ${#YARN_DAEMONS[@]} - 1; i >= 0; i--)); do stop_daemon "${YARN_DAEMONS[$i]}"; done
}

# _yarn_capacity: the NodeManager's "memory MB, vcores" as the RM reports them.
_yarn_capacity() {
  local metrics memory vcores
  metrics="$(_yarn_rm /ws/v1/cluster/metrics)" || return 1
  memory="$(sed -n 's/.*"totalMB" *: *\([0-9][0-9]*\).*/\1/p' <<<"$metrics")"
  vcores="$(sed -n 's/.*"totalVirtualCores" *: *\([0-9][0-9]*\).*/\1/p' <<<"$metrics")"
  echo "capacity ${memory:-?} MB, ${vcores:-?} vcores"
}

hadoop_status() {
  local capacity
  capacity="$(_yarn_capacity 2>/dev/null)" || capacity="capacity not reported by the ResourceManager"
  local rc=0
  status_line resourcemanager "$STACK_HOST:$RESOURCEMANAGER_PORT  web http://$STACK_HOST:$RESOURCEMANAGER_WEB_PORT" || rc=1
  status_line nodemanager "$capacity" || rc=1
  status_line historyserver "$STACK_HOST:$JOBHISTORY_PORT  web http://$STACK_HOST:$JOBHISTORY_WEB_PORT" || rc=1
  printf '%-9s HADOOP_HOME=%s  HADOOP_CONF_DIR=%s\n' hadoop "$HADOOP_STACK_HOME" "$HADOOP_STACK_CONF"
  return $rc
}

hadoop_env() {
  echo "export HADOOP_HOME=$HADOOP_STACK_HOME"
  echo "export HADOOP_CONF_DIR=$HADOOP_STACK_CONF"
  echo "export MRJOB_CONF=$HADOOP_STACK_MRJOB_CONF"
  echo "export YARN_RESOURCEMANAGER_URL=http://$STACK_HOST:$RESOURCEMANAGER_WEB_PORT"
}
