# berth: a multi-stage build on a supported Node LTS; the runtime image holds dist/ and production
# dependencies only, and runs as a non-root user. The build stage runs deploy/image/build.sh, the same
# script CI runs without an engine (test/clients/image.test.ts).
FROM node:24-bookworm-slim AS build
# a C toolchain for node-gyp: the optional sendfile addon for zero-copy blob downloads (src/native/)
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY package.json package-lock.json tsconfig.json tsconfig.web.json ./
COPY src ./src
COPY deploy/image/build.sh ./deploy/image/build.sh
RUN sh deploy/image/build.sh /app

FROM node:24-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app ./
RUN mkdir -p /var/lib/berth /etc/berth && chown node:node /var/lib/berth
USER node
VOLUME /var/lib/berth
EXPOSE 5000
# /livez on loopback, over http or https (when http.tls is set)
HEALTHCHECK --interval=30s --timeout=5s CMD ["/app/dist/cli/main.js", "probe", "--port", "5000"]
ENTRYPOINT ["/app/dist/cli/main.js"]
CMD ["serve", "--listen", "0.0.0.0:5000", "--root", "/var/lib/berth"]
