# The image the Kubernetes Job of `vae sweep plan` runs: this checkout with its Node packages and native TensorFlow,
# and no MLflow server: every run logs to the server MLFLOW_TRACKING_URI names.
#
#   docker build -t registry.example.com/vae-lab:1 .
#   docker run --rm -e MLFLOW_TRACKING_URI=http://mlflow.example.com:5000 registry.example.com/vae-lab:1 \
#     run experiments/vae-mnist.yaml train.epochs=1
#
# Node's major version follows package.json's "engines" (test/dockerfile.test.ts checks it).
ARG NODE_MAJOR=20

FROM node:${NODE_MAJOR}-bookworm AS build
# pip fetches the pinned tensorflow-cpu wheel whose libtensorflow tfjs-node is built against; g++, make and strip
# (for node-gyp and the libraries) are in this image already.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-pip \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts ./scripts
# The same set-up as `npm ci` on a developer's machine, with three differences said here:
# - npm 11, on the developer machines, runs no dependency's install script unless package.json's allowScripts lists
#   it (none is); Node 20's npm 10 ignores that list, so --ignore-scripts keeps them off here too (tfjs-node's own
#   would fetch libtensorflow 2.9.1 instead of the pinned one), and our own postinstall runs by name;
# - the wheel path always (TFJS_NODE_SETUP=wheel): the same TensorFlow 2.21 the tests run on, whose C API the
#   gradients need, with Node's headers from this image (npm_config_nodedir) rather than a download;
# - no MLflow venv (VAE_SKIP_MLFLOW=1), and no dev dependencies (the test browser, TypeScript).
# The postinstall never fails an install, so `npm run setup:tfjs-node` afterwards fails the build if tfjs-node does not load.
ENV VAE_SKIP_MLFLOW=1 \
    TFJS_NODE_SETUP=wheel \
    TFJS_NODE_CACHE_DIR=/tmp/tensorflow-wheel \
    npm_config_nodedir=/usr/local
RUN npm ci --omit=dev --ignore-scripts \
 && npm run postinstall \
 && npm run setup:tfjs-node \
 && rm -rf /tmp/tensorflow-wheel
COPY . .

FROM node:${NODE_MAJOR}-bookworm-slim
WORKDIR /app
COPY --from=build --chown=node:node /app /app
USER node
# Node itself is the container's first process (no npx, no shell): SIGTERM from Kubernetes reaches `vae`, which
# passes it on to the training it runs, so a stopped trial is recorded as KILLED with its checkpoint.
ENTRYPOINT ["node", "bin/vae.js"]
CMD ["--help"]
