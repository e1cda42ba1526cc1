#!/usr/bin/env bash
# The kit on The Littlest JupyterHub: run as root on the hub's machine, after TLJH is installed.
#
#   sudo KIT_REPO=https://github.com/OWNER/REPO KIT_TAG=v0.1.0 bash deploy/tljh/install.sh
#
# It installs the kit's release KIT_TAG into TLJH's user environment (/opt/tljh/user) with the
# notebook stack it was tested with (binder/requirements.txt, nbgitpuller included), applies the
# kit's quiet JupyterLab settings there, sets each learner's memory and CPU limits and the idle
# culler, and prints the nbgitpuller link to hand out. Every value below is one the hub test uses
# or that `make hub-figures` measured (deploy/figures.json); tests/test_deploy.py checks them.
set -euo pipefail

KIT_REPO="${KIT_REPO:?set KIT_REPO to the kit repository URL (https://...)}"
KIT_TAG="${KIT_TAG:-v0.1.0}"            # the release the lessons come from (pyproject's version)
HUB_URL="${HUB_URL:-https://$(hostname -f)}"
USER_ENV=/opt/tljh/user                 # TLJH's environment for every learner's server
MEMORY_LIMIT=704M                       # idle server + kit server, plus a kernel for each lesson left open (RSS)
CPU_LIMIT=1                             # the most CPU one learner alone used in a second, rounded up to 0.5
CULL_TIMEOUT=3600                       # stop a learner's idle server after the kit's own idle time

source_dir="$(mktemp -d /tmp/kit-release.XXXXXX)"
trap 'rm -rf "$source_dir"' EXIT
git clone --quiet --depth 1 --branch "$KIT_TAG" "$KIT_REPO" "$source_dir"

# The kit and its pinned stack; `.` (the last line) is the release itself.
(cd "$source_dir" && "$USER_ENV/bin/pip" install --quiet --no-cache-dir -r binder/requirements.txt)

# No news prompt, no update check, no extension manager (tutorial_kit/notebook/jupyter_settings.py).
"$USER_ENV/bin/python" -m tutorial_kit.notebook.jupyter_settings install "$USER_ENV"

# TLJH's SystemdSpawner gives every learner a Unix user of their own (jupyter-NAME), which the
# kit's server needs to keep learners apart (docs/security.md, "Learners on one machine").
tljh-config set limits.memory "$MEMORY_LIMIT"
tljh-config set limits.cpu "$CPU_LIMIT"
tljh-config set services.cull.enabled true
tljh-config set services.cull.timeout "$CULL_TIMEOUT"
tljh-config set user_environment.default_app jupyterlab
tljh-config reload

query="$("$USER_ENV/bin/python" - "$KIT_REPO" "$KIT_TAG" <<'PY'
import sys
from urllib.parse import urlencode
repo, tag = sys.argv[1:3]
print(urlencode({"repo": repo, "branch": tag, "targetPath": "kit",
                 "urlpath": "lab/tree/kit/notebooks/01-start-here.ipynb"}))
PY
)"
echo "Hand out this link; it opens lesson 1 in each learner's own server:"
echo "$HUB_URL/hub/user-redirect/git-pull?$query"
