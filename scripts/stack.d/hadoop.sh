# A Hadoop installation layout for mrjob's hadoop runner (no daemon): HADOOP_HOME is
# $STACK_CACHE/hadoop/home with
#   bin/hadoop                      our launcher (hadoop/bin-hadoop.sh): fs, jar, version, classpath
#   share/hadoop/common/lib/        hadoop-common, hadoop-hdfs-client, the MapReduce client
#                                   (LocalJobRunner) and their dependencies, from Maven Central
#   share/hadoop/tools/lib/         hadoop-streaming-<version>.jar, where mrjob looks for it
# and the configuration, per stack instance (the cache is shared by every instance, so nothing
# that names a port or a folder of one instance may live there), in $STACK_SCRATCH/hadoop:
#   conf/                           core-, hdfs-, mapred-site.xml, log4j.properties,
#                                   hadoop-env.sh (HADOOP_CONF_DIR): written at every start,
#                                   since they name this instance's HDFS port and folders
#   mrjob.conf                      mrjob settings the layout needs (MRJOB_CONF, see below)
# Jobs run with MapReduce's LocalJobRunner (mapreduce.framework.name=local) against the
# stack's HDFS (fs.defaultFS=hdfs://127.0.0.1:$NAMENODE_PORT). Sourced by scripts/stack.
#
# Why mrjob.conf: with the LocalJobRunner and an HDFS default file system, Hadoop 3.4
# cannot take `-files hdfs:///...#name` (what mrjob passes for the job's script, mrjob.zip
# and setup-wrapper.sh): it copies them into its staging folder on the local disk, then looks
# for that copy on HDFS and fails with "Error launching job , bad input path : File does not
# exist: .../.staging/job_local..._0001/files/x.py#x.py". mrjob's own working files must
# therefore live on the local file system: the conf sets the hadoop runner's hadoop_tmp_dir
# to file://$STACK_SCRATCH/hadoop/mrjob. Input and output paths stay on HDFS.

HADOOP_STACK_HOME="$STACK_CACHE/hadoop/home"
HADOOP_STACK_CONF="$STACK_SCRATCH/hadoop/conf"
HADOOP_STACK_MRJOB_CONF="$STACK_SCRATCH/hadoop/mrjob.conf"
HADOOP_STACK_SRC="$STACK_DIR/hadoop"

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
    install -m 755 "$HADOOP_STACK_SRC/bin-hadoop.sh" "$HADOOP_STACK_HOME/bin/hadoop"
  fi
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
  # The LocalJobRunner keeps its staging and system folders on the local disk.
  local conf="$HADOOP_STACK_CONF" work="$STACK_SCRATCH/hadoop"
  mkdir -p "$conf" "$work/tmp" "$work/local" "$work/logs" "$work/mrjob"
  _hadoop_site "$conf/core-site.xml" \
    fs.defaultFS "hdfs://$STACK_HOST:$NAMENODE_PORT" \
    hadoop.tmp.dir "$work/tmp" \
    ipc.client.connect.max.retries 3 \
    ipc.client.connect.max.retries.on.timeouts 3
  _hadoop_site "$conf/hdfs-site.xml" \
    dfs.replication 1 \
    dfs.client.block.write.replace-datanode-on-failure.enable false
  _hadoop_site "$conf/mapred-site.xml" \
    mapreduce.framework.name local \
    mapreduce.cluster.local.dir "$work/local" \
    mapreduce.jobtracker.staging.root.dir "$work/staging" \
    mapreduce.jobtracker.system.dir "$work/system" \
    mapreduce.client.submit.file.replication 1 \
    mapreduce.task.io.sort.mb 64
  cp "$HADOOP_STACK_SRC/log4j.properties" "$conf/log4j.properties"
  {
    echo '# Written by scripts/stack (scripts/stack.d/hadoop.sh) at start-up; sourced by bin/hadoop.'
    printf 'HADOOP_LOG_DIR="${HADOOP_LOG_DIR:-%s}"\n' "$work/logs"
  } >"$conf/hadoop-env.sh"
  # JSON, which mrjob reads with or without PyYAML. Why: see the top of this file.
  printf '{"runners": {"hadoop": {"hadoop_tmp_dir": "file://%s"}}}\n' "$work/mrjob" \
    >"$HADOOP_STACK_MRJOB_CONF"
}

hadoop_start() {
  _hadoop_write_conf
  local out
  if ! out="$(HADOOP_CONF_DIR="$HADOOP_STACK_CONF" "$HADOOP_STACK_HOME/bin/hadoop" version 2>&1)" || [[ "$out" != Hadoop\ * ]]; then
    echo "stack: $HADOOP_STACK_HOME/bin/hadoop version failed:" >&2
    echo "$out" | tail -n 40 >&2
    return 1
  fi
}

hadoop_stop() { :; }

hadoop_status() {
  if [[ -x "$HADOOP_STACK_HOME/bin/hadoop" && -f "$HADOOP_STACK_CONF/core-site.xml" ]]; then
    printf '%-9s ready    (no daemon) HADOOP_HOME=%s, fs.defaultFS hdfs://%s:%s, LocalJobRunner\n' \
      hadoop "$HADOOP_STACK_HOME" "$STACK_HOST" "$NAMENODE_PORT"
  else
    printf '%-9s absent   (run scripts/stack up)\n' hadoop
    return 1
  fi
}

hadoop_env() {
  echo "export HADOOP_HOME=$HADOOP_STACK_HOME"
  echo "export HADOOP_CONF_DIR=$HADOOP_STACK_CONF"
  echo "export MRJOB_CONF=$HADOOP_STACK_MRJOB_CONF"
}
