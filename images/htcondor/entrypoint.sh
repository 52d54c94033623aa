#!/bin/sh
# Start an all-in-one HTCondor pool: install the deployment's pool signing key from the mounted secret,
# render the configuration from the environment, mint the workflow user's token, run condor_master.
set -eu
key_file=${CLOUDFLOCK_POOL_KEY_FILE:-/run/secrets/cloudflock_pool_key}
if [ ! -s "$key_file" ]; then
    echo "cloudflock: no pool signing key at $key_file: mount the deployment's key file there (read-only)" >&2
    exit 2
fi
python3 /usr/local/lib/cloudflock/cloudflock_condor.py "$@"

install -d -m 0700 -o root -g root /etc/condor/passwords.d /etc/condor/tokens.d
condor_store_cred add -c -p "$(cat "$key_file")" -f /etc/condor/passwords.d/POOL >/dev/null
chmod 0600 /etc/condor/passwords.d/POOL

domain=$(condor_config_val TRUST_DOMAIN)
# The daemons' own token: peers in other pools map it to condor@<trust domain>, which their ALLOW lists name.
condor_token_create -identity "condor@$domain" -key POOL >/etc/condor/tokens.d/condor
chmod 0600 /etc/condor/tokens.d/condor
install -d -m 0700 -o condor_pool -g condor_pool /home/condor_pool/.condor /home/condor_pool/.condor/tokens.d
condor_token_create -identity "condor_pool@$domain" -key POOL >/home/condor_pool/.condor/tokens.d/cloudflock
chown condor_pool:condor_pool /home/condor_pool/.condor/tokens.d/cloudflock
chmod 0600 /home/condor_pool/.condor/tokens.d/cloudflock

exec condor_master -f
