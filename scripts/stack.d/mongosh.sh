# mongosh, the MongoDB shell, from npm into $STACK_CACHE/mongosh (never global). A client:
# nothing runs, `up` only installs it. $MONGOSH is a small wrapper that runs the pinned
# mongosh with HOME under the cache (its logs, history and config stay there; no
# ~/.mongoshrc.js) and a global config file that forces telemetry off and empties the
# update URL, so mongosh never tries to reach the network on its own.

MONGOSH_VERSION=2.12.0
MONGOSH_HOME="$STACK_CACHE/mongosh"
MONGOSH_WRAPPER="$MONGOSH_HOME/bin/mongosh"

_mongosh_installed_version() {
  local pj="$MONGOSH_HOME/node_modules/mongosh/package.json"
  [[ -f "$pj" && -x "$MONGOSH_HOME/node_modules/.bin/mongosh" ]] || return 1
  node -p 'require(process.argv[1]).version' "$pj" 2>/dev/null
}

_mongosh_write_wrapper() {
  local conf="$MONGOSH_HOME/mongosh.conf" tmp
  mkdir -p "$MONGOSH_HOME/bin" "$MONGOSH_HOME/home"
  printf '%s\n' \
    '# Global mongosh config for the clickstream stack (written by scripts/stack.d/mongosh.sh).' \
    'mongosh:' \
    '  forceDisableTelemetry: true' \
    '  updateURL: ""' >"$conf"
  tmp="$MONGOSH_WRAPPER.tmp"
  cat >"$tmp" <<EOF
#!/usr/bin/env bash
# mongosh $MONGOSH_VERSION for the clickstream stack (written by scripts/stack.d/mongosh.sh).
export HOME="$MONGOSH_HOME/home"
export MONGOSH_GLOBAL_CONFIG_FILE_FOR_TESTING="$conf"
export DO_NOT_TRACK=1
exec "$MONGOSH_HOME/node_modules/.bin/mongosh" "\$@"
EOF
  chmod +x "$tmp"
  mv "$tmp" "$MONGOSH_WRAPPER"
}

mongosh_provision() {
  command -v node >/dev/null || die "mongosh: node is not on PATH"
  command -v npm >/dev/null || die "mongosh: npm is not on PATH"
  if [[ "$(_mongosh_installed_version)" != "$MONGOSH_VERSION" ]]; then
    mkdir -p "$MONGOSH_HOME"
    if ! npm install --prefix "$MONGOSH_HOME" --cache "$MONGOSH_HOME/npm-cache" \
        --no-audit --no-fund --no-update-notifier --loglevel=error --save-exact \
        "mongosh@$MONGOSH_VERSION" >"$MONGOSH_HOME/npm.log" 2>&1; then
      echo "stack: mongosh: npm install mongosh@$MONGOSH_VERSION failed:" >&2
      tail -n 40 "$MONGOSH_HOME/npm.log" >&2
      return 1
    fi
    [[ "$(_mongosh_installed_version)" == "$MONGOSH_VERSION" ]] \
      || die "mongosh: npm installed something other than mongosh $MONGOSH_VERSION"
  fi
  _mongosh_write_wrapper
}

mongosh_start() { :; }

mongosh_stop() { :; }

mongosh_status() {
  if [[ -x "$MONGOSH_WRAPPER" && "$(_mongosh_installed_version)" == "$MONGOSH_VERSION" ]]; then
    printf '%-9s %-8s %s\n' mongosh installed "$MONGOSH_WRAPPER (mongosh $MONGOSH_VERSION, a client)"
  else
    printf '%-9s %s\n' mongosh "not installed (run scripts/stack up)"; return 1
  fi
}

mongosh_env() { echo "export MONGOSH=$MONGOSH_WRAPPER"; }
