#!/bin/sh
# Healthy when this pool's collector answers and, on executors, advertises this container's slots.
set -eu
if [ "$(condor_config_val CLOUDFLOCK_ROLE)" = executor ]; then
    condor_status -startd -af Name | grep -q .
else
    condor_status -schedd -af Name | grep -q .
fi
