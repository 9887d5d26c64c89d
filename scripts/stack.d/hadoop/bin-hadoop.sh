#!/usr/bin/env bash
# `hadoop` for the clickstream local stack: a small stand-in for Apache Hadoop's launcher over
# jars resolved from Maven Central (installed by scripts/stack.d/hadoop.sh as
# $HADOOP_HOME/bin/hadoop). Enough for mrjob's hadoop runner and for people:
#
#   hadoop fs|dfs ARGS...     org.apache.hadoop.fs.FsShell
#   hadoop jar JAR [CLASS]... org.apache.hadoop.util.RunJar (Hadoop streaming, submitted to the
#                             YARN ResourceManager that yarn-site.xml names)
#   hadoop version            org.apache.hadoop.util.VersionInfo
#   hadoop job ARGS...        org.apache.hadoop.mapred.JobClient (-list, -status, -kill, ...)
#   hadoop application|node|logs ARGS...
#                             YARN's own CLIs, as `yarn application -list`, `yarn node -list`,
#                             `yarn logs -applicationId ID` would run them
#   hadoop classpath          the classpath, as Hadoop prints it
#   hadoop some.java.Class    that class's main
#
# Environment, as with Apache Hadoop: HADOOP_CONF_DIR (default $HADOOP_HOME/etc/hadoop, whose
# hadoop-env.sh is sourced), HADOOP_HEAPSIZE_MAX (default 1g), HADOOP_OPTS, HADOOP_CLIENT_OPTS,
# HADOOP_CLASSPATH, HADOOP_ROOT_LOGGER (default INFO,console for `jar`, WARN,console otherwise,
# so that `fs` prints only what mrjob expects on stderr), HADOOP_LOG_DIR, JAVA_HOME.
set -euo pipefail

HADOOP_HOME="$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)"
export HADOOP_HOME
HADOOP_CONF_DIR="${HADOOP_CONF_DIR:-$HADOOP_HOME/etc/hadoop}"
export HADOOP_CONF_DIR
if [[ -f "$HADOOP_CONF_DIR/hadoop-env.sh" ]]; then
  # shellcheck disable=SC1091
  source "$HADOOP_CONF_DIR/hadoop-env.sh"
fi

usage() {
  echo "usage: hadoop fs|dfs ARGS... | jar JAR [MAIN_CLASS] ARGS... | version | job ARGS..." \
    "| application|node|logs ARGS... | classpath | CLASSNAME ARGS..." >&2
  exit 1
}

if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
  JAVA="$JAVA_HOME/bin/java"
else
  JAVA="$(command -v java)" || { echo "hadoop: no java on PATH and JAVA_HOME unset" >&2; exit 1; }
fi

CLASSPATH="$HADOOP_CONF_DIR:$HADOOP_HOME/share/hadoop/common/lib/*"
if [[ -n "${HADOOP_CLASSPATH:-}" ]]; then
  CLASSPATH="$CLASSPATH:$HADOOP_CLASSPATH"
fi

(($# > 0)) || usage
command="$1"; shift
root_logger=WARN,console
fast_start=(-XX:TieredStopAtLevel=1)
case "$command" in
  fs | dfs) class=org.apache.hadoop.fs.FsShell ;;
  jar)
    class=org.apache.hadoop.util.RunJar
    root_logger=INFO,console
    fast_start=()
    ;;
  version) class=org.apache.hadoop.util.VersionInfo ;;
  job) class=org.apache.hadoop.mapred.JobClient ;;
  application) class=org.apache.hadoop.yarn.client.cli.ApplicationCLI; set -- application "$@" ;;
  node) class=org.apache.hadoop.yarn.client.cli.NodeCLI ;;
  logs) class=org.apache.hadoop.yarn.client.cli.LogsCLI ;;
  classpath)
    echo "$CLASSPATH"
    exit 0
    ;;
  -h | --help | help) usage ;;
  *.*) class="$command" ;;
  *)
    echo "hadoop: unknown command '$command'" >&2
    usage
    ;;
esac

HADOOP_LOG_DIR="${HADOOP_LOG_DIR:-${TMPDIR:-/tmp}/hadoop-logs-$(id -u)}"

# Hadoop reaches into JDK internals by reflection, which Java 17 refuses unless opened.
java_opens=()
for pkg in java.base/java.lang java.base/java.lang.reflect java.base/java.io java.base/java.net \
    java.base/java.nio java.base/java.util java.base/java.util.concurrent \
    java.base/java.util.concurrent.atomic java.base/sun.nio.ch java.base/sun.nio.cs \
    java.base/sun.security.action java.base/sun.util.calendar java.security.jgss/sun.security.krb5; do
  java_opens+=("--add-opens=$pkg=ALL-UNNAMED")
done

# shellcheck disable=SC2086
exec "$JAVA" \
  "-Xmx${HADOOP_HEAPSIZE_MAX:-1g}" \
  "${fast_start[@]}" \
  -Djava.net.preferIPv4Stack=true \
  "${java_opens[@]}" \
  "-Dhadoop.home.dir=$HADOOP_HOME" \
  "-Dhadoop.log.dir=$HADOOP_LOG_DIR" \
  -Dhadoop.log.file=hadoop.log \
  "-Dhadoop.root.logger=${HADOOP_ROOT_LOGGER:-$root_logger}" \
  "-Dlog4j.configuration=file:$HADOOP_CONF_DIR/log4j.properties" \
  -Dhadoop.policy.file=hadoop-policy.xml \
  -Dhadoop.security.logger=INFO,NullAppender \
  ${HADOOP_OPTS:-} ${HADOOP_CLIENT_OPTS:-} \
  -cp "$CLASSPATH" \
  "$class" "$@"
