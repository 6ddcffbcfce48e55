#!/bin/sh
# Starts Alertmanager with the receivers' URLs the operator provides as files (docker compose
# secrets: see docs/deployment.md), so that where alerts go is not written in
# alertmanager.yml. Each URL replaces its "not configured" default in a copy of the
# configuration; the remaining arguments go to Alertmanager.
#
# Alertmanager 0.26+ could read a webhook URL from a file itself (webhook_configs[].url_file),
# but the Alertmanager and amtool the tests run (Debian 12's 0.25) reject that field; this
# works the same with every version, and the tests start their Alertmanager through it.
#
#   ALERT_WEBHOOK_URL_FILE    the file holding the webhook receiver's URL
#                             (default /run/secrets/alert_webhook_url)
#   ALERT_HEARTBEAT_URL_FILE  the file holding the heartbeat (dead man's switch) URL
#                             (default /run/secrets/alert_heartbeat_url)
#   ALERTMANAGER_TEMPLATE     the configuration with the defaults (/etc/alertmanager/alertmanager.yml)
#   ALERTMANAGER_CONFIG       where the configuration Alertmanager reads is written (/tmp/alertmanager.yml)
#   ALERTMANAGER_BIN          the program to start (/bin/alertmanager, as in the prom/alertmanager image)
set -eu

template=${ALERTMANAGER_TEMPLATE:-/etc/alertmanager/alertmanager.yml}
config=${ALERTMANAGER_CONFIG:-/tmp/alertmanager.yml}
program=${ALERTMANAGER_BIN:-/bin/alertmanager}
webhook_default='http://alerts-not-configured.invalid/alerts'
heartbeat_default='http://heartbeat-not-configured.invalid/heartbeat'

log() { echo "alertmanager/start.sh: $*" >&2; }

# The URL in file $1 (its first line, blanks trimmed), or $2 when the file is missing or
# empty. An URL that could break the YAML or is not http(s) stops the start: a typo must not
# silently send alerts nowhere.
url_from() {
  if [ ! -s "$1" ]; then
    log "no URL in $1: $3 notifications are not configured, they go to $2 and fail (set $4, see docs/deployment.md)"
    printf '%s' "$2"
    return
  fi
  url=$(sed -n '1{s/^[[:space:]]*//;s/[[:space:]]*$//;p;}' "$1")
  case $url in
    http://?*|https://?*) ;;
    *) log "$1 must hold an http:// or https:// URL, not '$url'"; exit 1 ;;
  esac
  case $url in
    *[[:space:]\'\"]*) log "$1: the URL must not contain blanks or quotes (percent-encode them)"; exit 1 ;;
  esac
  log "$3 notifications go to the URL in $1"
  printf '%s' "$url"
}

webhook=$(url_from "${ALERT_WEBHOOK_URL_FILE:-/run/secrets/alert_webhook_url}" "$webhook_default" alert ALERT_WEBHOOK_URL_FILE)
heartbeat=$(url_from "${ALERT_HEARTBEAT_URL_FILE:-/run/secrets/alert_heartbeat_url}" "$heartbeat_default" heartbeat ALERT_HEARTBEAT_URL_FILE)

# Literal replacement (index/substr, not a regular expression), the values from the
# environment (awk -v would interpret backslashes).
FROM1=$webhook_default TO1=$webhook FROM2=$heartbeat_default TO2=$heartbeat awk '
  function replace(line, from, to,    out, i) {
    out = ""
    while ((i = index(line, from)) > 0) {
      out = out substr(line, 1, i - 1) to
      line = substr(line, i + length(from))
    }
    return out line
  }
  { print replace(replace($0, ENVIRON["FROM1"], ENVIRON["TO1"]), ENVIRON["FROM2"], ENVIRON["TO2"]) }
' "$template" > "$config"

exec "$program" --config.file="$config" "$@"
