# HDFS for scripts/stack: one NameNode and one DataNode in one JVM (Hadoop's MiniDFSCluster
# from org.apache.hadoop:hadoop-minicluster, Maven Central), driven by a tiny main of ours
# (hadoop/hdfs-daemon/StackHdfs.java, compiled into the cache). NameNode RPC on
# 127.0.0.1:$NAMENODE_PORT, NameNode HTTP with WebHDFS on 127.0.0.1:$WEBHDFS_PORT, the
# DataNode's ports on 127.0.0.1 (chosen by the system), so WebHDFS redirects point at
# 127.0.0.1. Permissions off, replication 1, a fresh file system under $STACK_SCRATCH/hdfs on
# every start. Sourced by scripts/stack after common.sh.

HDFS_CACHE="$STACK_CACHE/hdfs"
HDFS_SRC="$STACK_DIR/hadoop/hdfs-daemon"
HDFS_HEAP="${CLICKSTREAM_STACK_HDFS_HEAP:-1g}"

hdfs_provision() {
  mvn_copy_deps "$HDFS_SRC/pom.xml" "$HDFS_CACHE/lib" || return 1
  # Compile StackHdfs against those jars, once per (pom, source) pair.
  local hash stamp
  hash="$(cat "$HDFS_SRC/pom.xml" "$HDFS_SRC/StackHdfs.java" | sha256sum | cut -c1-16)"
  stamp="$HDFS_CACHE/classes/.built-$hash"
  [[ -f "$stamp" ]] && return 0
  rm -rf "$HDFS_CACHE/classes"; mkdir -p "$HDFS_CACHE/classes"
  if ! "${JAVA_HOME:+$JAVA_HOME/bin/}javac" -nowarn -d "$HDFS_CACHE/classes" -cp "$HDFS_CACHE/lib/*" "$HDFS_SRC/StackHdfs.java" \
      >"$HDFS_CACHE/javac.log" 2>&1; then
    echo "stack: could not compile $HDFS_SRC/StackHdfs.java:" >&2
    tail -n 40 "$HDFS_CACHE/javac.log" >&2
    return 1
  fi
  touch "$stamp"
}

# _hdfs_ready: WebHDFS answers a real request and the NameNode counts a live DataNode.
_hdfs_ready() {
  local base="http://$STACK_HOST:$WEBHDFS_PORT" live
  curl -sf --max-time 5 "$base/webhdfs/v1/?op=GETFILESTATUS" >/dev/null || return 1
  live="$(curl -sf --max-time 5 "$base/jmx?qry=Hadoop:service=NameNode,name=FSNamesystemState" |
    sed -n 's/.*"NumLiveDataNodes" *: *\([0-9][0-9]*\).*/\1/p')"
  [[ -n "$live" ]] && ((live >= 1))
}

hdfs_start() {
  if ! is_running hdfs; then
    local port
    for port in "$NAMENODE_PORT" "$WEBHDFS_PORT"; do
      if port_open "$port"; then
        echo "stack: hdfs: port $port on $STACK_HOST is taken by another process" >&2
        return 1
      fi
    done
    rm -rf "$STACK_SCRATCH/hdfs"
    mkdir -p "$STACK_SCRATCH/hdfs"
    : >"$(log_file hdfs)"
    start_daemon hdfs "${JAVA_HOME:+$JAVA_HOME/bin/}java" "-Xmx$HDFS_HEAP" -Xms256m -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Djava.net.preferIPv4Stack=true \
      "-Dlog4j.configuration=file:$HDFS_SRC/log4j.properties" \
      -cp "$HDFS_CACHE/classes:$HDFS_CACHE/lib/*" StackHdfs \
      "$STACK_SCRATCH/hdfs" "$NAMENODE_PORT" "$WEBHDFS_PORT" \
      dfs.permissions.enabled=false \
      dfs.replication=1 \
      dfs.namenode.safemode.extension=0 \
      dfs.heartbeat.interval=1 \
      "dfs.datanode.address=$STACK_HOST:0" \
      "dfs.datanode.http.address=$STACK_HOST:0" \
      "dfs.datanode.ipc.address=$STACK_HOST:0" \
      "dfs.datanode.hostname=$STACK_HOST" \
      hadoop.http.staticuser.user="$(id -un)"
  fi
  wait_ready hdfs 120 _hdfs_ready
}

hdfs_stop() {
  stop_daemon hdfs
}

hdfs_status() {
  status_line hdfs "hdfs://$STACK_HOST:$NAMENODE_PORT  webhdfs http://$STACK_HOST:$WEBHDFS_PORT"
}

hdfs_env() {
  echo "export WEBHDFS_URL=http://$STACK_HOST:$WEBHDFS_PORT"
  echo "export HDFS_URL=hdfs://$STACK_HOST:$NAMENODE_PORT"
}
