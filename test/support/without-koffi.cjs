// Preloaded with `node --require` to stand for a machine where koffi cannot load (no prebuilt binary for it).
const Module = require('node:module');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (request === 'koffi') throw new Error('koffi is not available on this machine (test)');
  return resolve.call(this, request, ...rest);
};
