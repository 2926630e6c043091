"""Serve the JupyterLab frontend built in build/ with Debian's jupyterlab_server.

Usage (scripts/start.mjs and scripts/browser-check-lab.mjs run it with the project-local
JUPYTER_* environment of scripts/kernel.mjs):

    /usr/bin/python3 tools/jupyterlab/serve.py [--open=PATH] --ServerApp.root_dir=notebooks [...]

--open=PATH (relative to root_dir) makes the browser open that notebook: /lab/tree/PATH;
without it the browser opens /lab, which restores the last workspace (add ?reset to the
address for a fresh one with the launcher; jupyter_server 1.23 would print a default_url with
a query as a broken "/lab?reset?token=..." link).

Debian 12 ships python3-jupyterlab-server 2.16 on jupyter_server 1.23 but no `jupyterlab`
package; LabServerApp serves any JupyterLab frontend from a static build. Settings and
workspaces go under JUPYTER_DATA_DIR (project-local .jupyter/data), never into build/.
jupyter_server 1.23 has no /api/me: the frontend's one request there logs a harmless 404.
"""

import json
import os
import sys
from urllib.parse import quote

from jupyter_core.paths import jupyter_data_dir
from jupyter_server.base.handlers import FileFindHandler
from jupyterlab_server import LabServerApp

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "build")
STATE = os.path.join(jupyter_data_dir(), "nf-lab")  # user settings + workspaces

# MathJax 2 for the notebooks' $...$, served from this machine (no CDN): the repo's pinned npm
# copy, else Debian's libjs-mathjax (installed with jupyter-notebook).
MATHJAX_DIRS = [
    os.path.join(HERE, "..", "..", "node_modules", "mathjax"),
    "/usr/share/javascript/mathjax",
]
MATHJAX_DIR = next((d for d in MATHJAX_DIRS if os.path.isfile(os.path.join(d, "MathJax.js"))), None)

with open(os.path.join(HERE, "package.json"), encoding="utf-8") as f:
    VERSION = json.load(f)["version"]


class NotebooksLabApp(LabServerApp):
    """JupyterLab 3.6 for the normalizing-flows notebooks."""

    name = "nf_lab"
    app_name = "JupyterLab"
    app_version = VERSION
    extension_url = "/lab"
    default_url = "/lab"
    load_other_extensions = False
    static_dir = BUILD
    templates_dir = os.path.join(HERE, "templates")
    schemas_dir = os.path.join(BUILD, "schemas")
    themes_dir = os.path.join(BUILD, "themes")
    app_settings_dir = os.path.join(HERE, "settings")  # overrides.json: no news, no update check
    user_settings_dir = os.path.join(STATE, "user-settings")
    workspaces_dir = os.path.join(STATE, "workspaces")

    def initialize_settings(self):
        super().initialize_settings()
        settings = self.serverapp.web_app.settings
        settings["terminals_available"] = False
        if MATHJAX_DIR:
            settings["mathjax_url"] = "nf-mathjax/MathJax.js"  # relative: under base_url

    def initialize_handlers(self):
        super().initialize_handlers()
        if MATHJAX_DIR:
            self.handlers.append((r"/nf-mathjax/(.*)", FileFindHandler, {"path": [MATHJAX_DIR]}))
        else:
            self.log.warning("MathJax not found in %s: formulas show as TeX", MATHJAX_DIRS)


def _jupyter_server_extension_points():
    return [{"module": __name__, "app": NotebooksLabApp}]


def main(argv):
    if not os.path.isfile(os.path.join(BUILD, "bundle.js")):
        raise SystemExit(f"{BUILD}/bundle.js is missing: run `npm run lab:build` first")
    opens = [a for a in argv if a.startswith("--open=")]
    rest = [a for a in argv if not a.startswith("--open=")]
    if opens:
        NotebooksLabApp.default_url = "/lab/tree/" + quote(opens[-1][len("--open="):])
    NotebooksLabApp.launch_instance(argv=rest)


if __name__ == "__main__":
    main(sys.argv[1:])
