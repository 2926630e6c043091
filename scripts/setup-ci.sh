#!/usr/bin/env bash
# Install what the notebook tooling needs on Debian 12 (CI and dev machines), idempotently:
#   jupyter-nbconvert python3-nbclient jupyter-client  -> npm run notebooks / slides
#   jupyter-notebook (classic 6.4)                     -> npm start, npm run browser-check
#   python3-jupyterlab-server (2.16, jupyter_server)    -> npm start and npm run browser-check -- --lab
#                                                          serve the JupyterLab of tools/jupyterlab
#   chromium + fonts-dejavu-core                        -> npm run browser-check (via playwright-core)
# Skips apt entirely when every package is already installed. Needs root (or sudo).
# Then registers the project-local tslab kernelspec (node scripts/setup-kernel.mjs) when
# node_modules/ is present.
set -euo pipefail

PKGS=(jupyter-nbconvert python3-nbclient jupyter-client jupyter-notebook python3-jupyterlab-server chromium fonts-dejavu-core)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup-ci: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "setup-ci: all of ${PKGS[*]} already installed"
fi

# Sanity: Debian's python has the Jupyter modules; chromium runs.
/usr/bin/python3 -c 'import jupyter_client, nbclient, nbconvert, notebook, jupyterlab_server, jupyter_server'
/usr/bin/chromium --version 2>/dev/null

cd "$(dirname "$0")/.."
if [ -x node_modules/.bin/tslab ]; then
  node scripts/setup-kernel.mjs
else
  echo "setup-ci: node_modules/.bin/tslab missing; run npm ci, then node scripts/setup-kernel.mjs"
fi
