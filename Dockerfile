# The operator image: a single esbuild bundle on Node 20, non-root, no npm at run time.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY operator ./operator
RUN npm run build

FROM node:20-bookworm-slim
# git (through simple-git) clones the service source, commits candidates and pushes them;
# openssh-client serves ssh:// remotes. ca-certificates lets git verify https remotes.
RUN apt-get update \
 && apt-get install -y --no-install-recommends git openssh-client ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /src/dist/ /app/
# The TypeScript compiler reads service sources for the service graph; it is not bundled (it
# expects to be loaded as a package).
COPY --from=build /src/node_modules/typescript/ /app/node_modules/typescript/
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/hyperagent-operator.mjs"]
