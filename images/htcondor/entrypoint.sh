#!/bin/sh
# Start an all-in-one HTCondor pool: render the configuration from the environment, install this pool's own
# signing key and the tokens it holds at the other pools from its mounted credentials, run condor_master.
set -eu
# constants.json's renderer and secrets_dir (tests/unit/test_constants.py checks they agree).
renderer=/usr/local/lib/cloudflock/cloudflock_condor.py
secrets=${CLOUDFLOCK_SECRETS_DIR:-/run/secrets/cloudflock}
if [ ! -s "$secrets/key" ]; then
    echo "cloudflock: no signing key at $secrets/key: mount this pool's credentials directory at $secrets (read-only)" >&2
    exit 2
fi
python3 "$renderer" "$@"
python3 "$renderer" credentials --start
exec condor_master -f
