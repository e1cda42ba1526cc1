#!/usr/bin/env bash
# The learners' image for Zero to JupyterHub, built from binder/ by repo2docker (as Binder builds it):
#
#   KIT_REPO=https://github.com/OWNER/REPO KIT_TAG=v0.1.0 IMAGE=REGISTRY/faircom-permanent-session-kit \
#     bash deploy/z2jh/build-image.sh
#
# The repository goes to /srv/kit, outside /home/jovyan, so that the learner's persistent home
# (a volume mounted there) does not hide it; binder/start runs before every server. The image
# carries the kit, its pinned notebook stack, nbgitpuller, the quiet JupyterLab settings
# (binder/postBuild) and jupyterhub-singleuser (repo2docker's base environment). Then push it and
# put IMAGE and KIT_TAG into deploy/z2jh/config.yaml.
set -euo pipefail
KIT_REPO="${KIT_REPO:?set KIT_REPO to the kit repository URL}"
KIT_TAG="${KIT_TAG:-v0.1.0}"
IMAGE="${IMAGE:-faircom-permanent-session-kit}"

python3 -m pip install --quiet jupyter-repo2docker
repo2docker --no-run --user-name jovyan --user-id 1000 --target-repo-dir /srv/kit \
  --ref "$KIT_TAG" --image-name "$IMAGE:$KIT_TAG" "$KIT_REPO"
docker run --rm "$IMAGE:$KIT_TAG" jupyterhub-singleuser --version  # the hub needs it in the image
echo "built $IMAGE:$KIT_TAG; push it: docker push $IMAGE:$KIT_TAG"
