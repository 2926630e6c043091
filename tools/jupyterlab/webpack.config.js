// webpack for the minimal JupyterLab app: one bundle (build/bundle.js) plus, through
// @jupyterlab/builder's Build.ensureAssets, each plugin's settings schemas, the light theme and
// build/style.js. No minifying, no source maps: fast to build, for running, not debugging.
const path = require('path');
const webpack = require('webpack');
const { Build } = require('@jupyterlab/builder');
const pkg = require('./package.json');

const BUILD = path.join(__dirname, 'build');

const assets = Build.ensureAssets({
  packageNames: pkg.jupyterlab.extensions,
  output: BUILD,
  hashFunction: 'sha256', // md4 (webpack 5's default) is not in Node >= 17's OpenSSL 3
});

module.exports = [
  {
    entry: './index.js',
    output: { path: BUILD, filename: 'bundle.js', hashFunction: 'sha256' },
    bail: true,
    mode: 'development', // no minifying: 10x faster to build, and it is served from this machine
    devtool: false,
    performance: { hints: false }, // the bundle is large on purpose; it is served locally
    module: {
      rules: [
        { test: /\.css$/, use: ['style-loader', 'css-loader'] },
        { test: /\.(md|txt)$/, type: 'asset/source' },
        { test: /\.(jpg|png|gif|woff2?|ttf|eot)(\?v=[\d.]+)?$/, type: 'asset' },
        // SVG: a data URI inside CSS, a raw string inside JS (the icons)
        { test: /\.svg(\?v=[\d.]+)?$/, issuer: /\.css$/, use: { loader: 'svg-url-loader', options: { encoding: 'none', limit: 10000 } } },
        { test: /\.svg(\?v=[\d.]+)?$/, issuer: /\.js$/, type: 'asset/source' },
      ],
    },
    plugins: [
      new webpack.DefinePlugin({ 'process.env': '{}', process: { cwd: () => '/' } }),
    ],
  },
].concat(assets);
