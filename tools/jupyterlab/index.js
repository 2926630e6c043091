// The JupyterLab frontend of this repo: the core application plus the plugins a student needs
// (notebook with run/interrupt/restart, file browser, launcher, menus, maths, status bar).
// The plugin list is `jupyterlab.extensions` in package.json; webpack.config.js copies their
// schemas and themes into build/ and writes build/style.js, which imports their CSS.
import { JupyterLab } from '@jupyterlab/application';
import { PageConfig } from '@jupyterlab/coreutils';

// Assets (CSS, fonts) load relative to the server's static URL; set before anything loads.
__webpack_public_path__ = PageConfig.getOption('fullStaticUrl') + '/';

const styles = import('./build/style.js');

// Keep in step with package.json "jupyterlab.extensions" (each default export is a plugin list).
const extensions = [
  import('@jupyterlab/application-extension'),
  import('@jupyterlab/apputils-extension'),
  import('@jupyterlab/codemirror-extension'),
  import('@jupyterlab/completer-extension'),
  import('@jupyterlab/console-extension'),
  import('@jupyterlab/docmanager-extension'),
  import('@jupyterlab/filebrowser-extension'),
  import('@jupyterlab/fileeditor-extension'),
  import('@jupyterlab/launcher-extension'),
  import('@jupyterlab/mainmenu-extension'),
  import('@jupyterlab/mathjax2-extension'),
  import('@jupyterlab/notebook-extension'),
  import('@jupyterlab/rendermime-extension'),
  import('@jupyterlab/running-extension'),
  import('@jupyterlab/shortcuts-extension'),
  import('@jupyterlab/statusbar-extension'),
  import('@jupyterlab/theme-light-extension'),
  import('@jupyterlab/translation-extension'),
  import('@jupyterlab/ui-components-extension'),
];

window.addEventListener('load', async () => {
  await styles;
  const lab = new JupyterLab();
  lab.registerPluginModules(await Promise.all(extensions));
  await lab.start();
  await lab.restored;
  // The browser check waits for this flag.
  window.jupyterapp = lab;
  document.body.dataset.nfLabReady = 'true';
});
