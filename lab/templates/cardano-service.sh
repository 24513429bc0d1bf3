#!/bin/sh
# The lab's stand-in for `systemctl <verb> cardano-node`, rendered by lab/lab.ts into each lab's bin/ dir and named by
# the lab's pool config (node.service.*). Like the real unit it reads NODE_ARGS from the EnvironmentFile
# /opt/cardano/config/cardano-node.env, runs the node as the service user, and keeps a pidfile in /opt/cardano/run.
# Runs inside a lab host's namespaces (it is called over SSH), so /opt/cardano is that host's own.
set -u
HOME_DIR=/opt/cardano
ENV_FILE=$HOME_DIR/config/cardano-node.env
RUN_DIR=$HOME_DIR/run
PID_FILE=$RUN_DIR/cardano-node.pid
LOG_DIR=$HOME_DIR/logs
SERVICE_USER={{user}}

running() {
  [ -s "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

start() {
  if running; then return 0; fi
  if [ ! -r "$ENV_FILE" ]; then echo "cardano-service: $ENV_FILE missing (EnvironmentFile with NODE_ARGS=...)" >&2; return 1; fi
  NODE_ARGS=""
  # As systemd's EnvironmentFile: KEY=VALUE lines; only NODE_ARGS matters here.
  NODE_ARGS=$(sed -n 's/^NODE_ARGS=//p' "$ENV_FILE" | tail -n 1 | sed 's/^"\(.*\)"$/\1/')
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  chown "$SERVICE_USER:$SERVICE_USER" "$RUN_DIR" "$LOG_DIR"
  rm -f "$PID_FILE"
  # shellcheck disable=SC2086 # NODE_ARGS is a word list, as systemd splits it
  setsid runuser -u "$SERVICE_USER" -- {{node}} --import {{tsxLoader}} {{standin}} run --pid-file "$PID_FILE" $NODE_ARGS \
    </dev/null >>"$LOG_DIR/node.log" 2>&1 &
  launcher=$!
  # Like Type=notify: return once the node has started (it writes its pidfile when its metrics listen).
  i=0
  while [ $i -lt 200 ]; do
    if [ -s "$PID_FILE" ]; then return 0; fi
    if ! kill -0 "$launcher" 2>/dev/null; then
      echo "cardano-service: cardano-node exited at start; last log lines:" >&2
      tail -n 20 "$LOG_DIR/node.log" >&2
      return 1
    fi
    sleep 0.05
    i=$((i + 1))
  done
  echo "cardano-service: cardano-node did not start within 10 s" >&2
  return 1
}

stop() {
  if ! running; then rm -f "$PID_FILE"; return 0; fi
  pid=$(cat "$PID_FILE")
  kill -TERM "$pid"
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    i=$((i + 1))
    if [ $i -gt 200 ]; then kill -KILL "$pid" 2>/dev/null; break; fi
    sleep 0.05
  done
  rm -f "$PID_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  restart) stop && start ;;
  reload)
    if ! running; then echo "cardano-service: cardano-node is not running" >&2; exit 7; fi
    kill -HUP "$(cat "$PID_FILE")" ;;
  is-active) running || exit 3 ;;
  *) echo "usage: $0 start|stop|restart|reload|is-active" >&2; exit 2 ;;
esac
