#!/bin/sh
# Registers duban's Temporal namespace and its search attributes (design.md, "Search
# attributes"). Runs in the temporalio/admin-tools image (compose one-shot, Kubernetes
# Job) or anywhere the `temporal` CLI is installed. Safe to run again: an attribute
# that exists with the same type is left alone; one with another type is an error,
# because workflows would then fail to upsert it.
#
# Connection settings are the CLI's own variables: TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE
# and, for a remote cluster, TEMPORAL_TLS*, TEMPORAL_API_KEY.
set -eu

: "${TEMPORAL_ADDRESS:?TEMPORAL_ADDRESS must name the frontend, e.g. temporal:7233}"
: "${TEMPORAL_NAMESPACE:?TEMPORAL_NAMESPACE must name duban's namespace}"
RETENTION="${NAMESPACE_RETENTION:-90d}"
TRIES="${REGISTER_TRIES:-60}"
PAUSE="${REGISTER_PAUSE_SECONDS:-2}"

# name type, one per line.
SEARCH_ATTRIBUTES='
DubanCampaign Keyword
DubanOffice Keyword
DubanPeriod Keyword
DubanDueAt Datetime
DubanStage Keyword
DubanPendingUnits KeywordList
DubanOverdueUnits KeywordList
DubanEscalationLevel Int
DubanUnits KeywordList
'

# Retries a command until it succeeds; a fresh server or namespace takes a while to
# answer. Gives up at once when the output says the failure is permanent.
retry() {
  n=0
  while :; do
    if out=$("$@" 2>&1); then
      return 0
    fi
    case "$out" in
      *"different type"*)
        echo "$out" >&2
        return 1
        ;;
      *"already exists"* | *"AlreadyExists"*)
        # Someone (or an earlier run) got there first.
        return 0
        ;;
    esac
    n=$((n + 1))
    if [ "$n" -ge "$TRIES" ]; then
      echo "gave up after $TRIES tries: $*" >&2
      echo "$out" >&2
      return 1
    fi
    sleep "$PAUSE"
  done
}

echo "waiting for the Temporal cluster at $TEMPORAL_ADDRESS"
retry temporal operator cluster health

if temporal operator namespace describe --namespace "$TEMPORAL_NAMESPACE" > /dev/null 2>&1; then
  echo "namespace $TEMPORAL_NAMESPACE exists"
else
  echo "creating namespace $TEMPORAL_NAMESPACE (retention $RETENTION)"
  retry temporal operator namespace create --namespace "$TEMPORAL_NAMESPACE" --retention "$RETENTION"
fi

echo "$SEARCH_ATTRIBUTES" | while read -r name type; do
  [ -n "$name" ] || continue
  echo "search attribute $name ($type)"
  retry temporal operator search-attribute create --namespace "$TEMPORAL_NAMESPACE" --name "$name" --type "$type"
done

# Read back what the cluster has: an older CLI may report a type clash as a plain
# "already exists", which the loop above took for success.
listing=$(temporal operator search-attribute list --namespace "$TEMPORAL_NAMESPACE" --output json)
echo "$SEARCH_ATTRIBUTES" | while read -r name type; do
  [ -n "$name" ] || continue
  wanted="INDEXED_VALUE_TYPE_$(echo "$type" | sed 's/List$/_List/' | tr '[:lower:]' '[:upper:]')"
  if ! echo "$listing" | grep -q "\"$name\": *\"$wanted\""; then
    echo "search attribute $name is not registered as $type in namespace $TEMPORAL_NAMESPACE" >&2
    exit 1
  fi
done

echo "namespace $TEMPORAL_NAMESPACE is ready for duban"
