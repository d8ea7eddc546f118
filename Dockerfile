# The operator image: a single esbuild bundle on Node 20, non-root, no npm at run time.
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json ./
COPY operator ./operator
RUN npm run build

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /src/dist/ /app/
ENV NODE_ENV=production
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "/app/hyperagent-operator.mjs"]
