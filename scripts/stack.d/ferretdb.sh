# The stack's MongoDB-wire-protocol server, on 127.0.0.1:$FERRETDB_PORT (27018).
#
# The service keeps the name "ferretdb" (MONGODB_URI, the service list), but it runs
# mongo-java-server (de.bwaldvogel, from Maven Central) with its H2 MVStore backend, data
# in the scratch folder, extended in ferretdb/*.java so that unique indexes serve the loaders'
# filters (equality plus other conditions, $eq, $in, string ranges) and documents are stored as
# BSON, written to the file every 5 s or 64 MB (not Java-serialised every second). FerretDB itself is not
# usable here: v1.24.2, now served by the Go module proxy, was measured (issue 15) at 7 upserts/s
# with its SQLite handler, and its PostgreSQL handler ignores $slice, aborts an unordered bulk at
# the first duplicate key and deadlocks on bulks of over 50 updates; v2 needs PostgreSQL with
# Microsoft's DocumentDB extension, which no reachable registry ships. See docs/FERRETDB.md.
#
# Cache: $STACK_CACHE/ferretdb/lib (jars, keyed by the POM's hash) and
# $STACK_CACHE/ferretdb/classes-<hash> (the compiled ferretdb/*.java: StackMongoServer and its
# unique-index lookups, keyed by the sources' and the POM's hash).
# Scratch: $STACK_SCRATCH/ferretdb/mongo-bson.mv.db (data), logs/ferretdb.log, pids/ferretdb.pid.
# Readiness: ferretdb/ping.py, an OP_MSG ping with Python's standard library (no venv needed).

FERRETDB_SRC="$STACK_DIR/ferretdb"
FERRETDB_HOME="$STACK_CACHE/ferretdb"
FERRETDB_SERVER_VERSION="mongo-java-server 1.47.0 (H2 backend)"

_ferretdb_classes() {
  local hash
  hash="$(cat "$FERRETDB_SRC"/*.java "$FERRETDB_SRC/pom.xml" | sha256sum | cut -c1-16)"
  echo "$FERRETDB_HOME/classes-$hash"
}

# _ferretdb_ping: the server answers a MongoDB `ping` (an OP_MSG over a socket, Python's
# standard library only: the stack checks its own services without the project's venv).
_ferretdb_ping() {
  python3 "$FERRETDB_SRC/ping.py" "$STACK_HOST" "$FERRETDB_PORT" 2
}

ferretdb_provision() {
  command -v java >/dev/null || die "ferretdb: java is not on PATH (Java 17+ needed)"
  command -v javac >/dev/null || die "ferretdb: javac is not on PATH (a JDK 17+ is needed)"
  mkdir -p "$FERRETDB_HOME"
  mvn_copy_deps "$FERRETDB_SRC/pom.xml" "$FERRETDB_HOME/lib" || return 1
  local classes
  classes="$(_ferretdb_classes)"
  [[ -f "$classes/StackMongoServer.class" ]] && return 0
  # Other classes-<hash> folders stay: the cache is shared by checkouts at other revisions.
  local build="$classes.tmp.$$"
  rm -rf "$build"; mkdir -p "$build"
  if ! javac -nowarn -d "$build" -cp "$FERRETDB_HOME/lib/*" "$FERRETDB_SRC"/*.java \
      >"$build.log" 2>&1; then
    echo "stack: ferretdb: javac failed:" >&2
    tail -n 40 "$build.log" >&2
    rm -rf "$build" "$build.log"
    return 1
  fi
  rm -f "$build.log"
  mv -T "$build" "$classes" 2>/dev/null || rm -rf "$build"  # a concurrent provision may have won
}

ferretdb_start() {
  local classes
  command -v python3 >/dev/null || die "ferretdb: python3 is not on PATH (the readiness check needs it; no packages)"
  if ! is_running ferretdb && port_open "$FERRETDB_PORT"; then
    die "ferretdb: port $FERRETDB_PORT on $STACK_HOST is taken by another process (set CLICKSTREAM_STACK_FERRETDB_PORT)"
  fi
  classes="$(_ferretdb_classes)"
  mkdir -p "$STACK_SCRATCH/ferretdb"
  # Earlier stacks stored documents with Java serialisation in mongo.mv.db; this server stores
  # BSON (BsonDocumentType) and cannot read that file, so it goes rather than fill the disk.
  if [[ -f "$STACK_SCRATCH/ferretdb/mongo.mv.db" ]]; then
    echo "ferretdb: removing $STACK_SCRATCH/ferretdb/mongo.mv.db (an earlier stack's data file, a format this server does not read)" >&2
    rm -f "$STACK_SCRATCH/ferretdb/mongo.mv.db"
  fi
  # Quiet log: warnings and up, but not the stack traces the wire handlers log for every
  # command the server lacks (mongosh probes getParameter, atlasVersion, ...; the client
  # gets the error anyway) and for every client that resets its connection (PyMongo's
  # monitors do on close). CLICKSTREAM_STACK_VERBOSE=1 logs everything.
  local -a logopts=(-Dorg.slf4j.simpleLogger.defaultLogLevel=warn
    -Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoWireProtocolHandler=off
    -Dorg.slf4j.simpleLogger.log.de.bwaldvogel.mongo.wire.MongoExceptionHandler=off)
  if [[ "${CLICKSTREAM_STACK_VERBOSE:-0}" == 1 ]]; then
    logopts=(-Dorg.slf4j.simpleLogger.defaultLogLevel=info)
  fi
  start_daemon ferretdb java -Xms32m -Xmx3g -XX:+UseSerialGC -Xss512k \
    "${logopts[@]}" -Dorg.slf4j.simpleLogger.showDateTime=true \
    -cp "$classes:$FERRETDB_HOME/lib/*" StackMongoServer \
    "$STACK_HOST" "$FERRETDB_PORT" "$STACK_SCRATCH/ferretdb/mongo-bson.mv.db"
  if ! wait_ready ferretdb 60 _ferretdb_ping; then
    stop_daemon ferretdb  # leave nothing half-started behind
    return 1
  fi
}

ferretdb_stop() { stop_daemon ferretdb; }

ferretdb_status() {
  status_line ferretdb "mongodb://$STACK_HOST:$FERRETDB_PORT/ ($FERRETDB_SERVER_VERSION)"
}

ferretdb_env() { echo "export MONGODB_URI=mongodb://$STACK_HOST:$FERRETDB_PORT/"; }
