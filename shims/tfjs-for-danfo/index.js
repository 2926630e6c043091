// See package.json: danfojs-node gets the project's @tensorflow/tfjs instead of tfjs-node@3.
module.exports = require('@tensorflow/tfjs');
