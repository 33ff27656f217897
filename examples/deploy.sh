#!/bin/sh
# Stands in for a real deploy: hookd passes the commit and the repository as
# arguments, the raw payload on stdin and in $HOOKD_BODY_FILE.
set -eu
echo "deploying $2 at $1 (pushed by ${PUSHER:-someone}, event $HOOKD_EVENT_ID, attempt $HOOKD_ATTEMPT)"
