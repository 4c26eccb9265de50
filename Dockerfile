# syntax=docker/dockerfile:1
#
# Candour in a container: a Go binary with cgo SQLite and the staff console's
# bundled script, run by a non-root user from an image with no shell.
#
#   docker build -t candour .
#   docker run --read-only -p 127.0.0.1:8080:8080 -v candour-data:/data candour
#
# With no recipients it runs in DEMO mode (keys in /data/demo-keys). For real
# reports mount the organisation's recipients file and name it:
#   -v ./recipients.txt:/run/candour/recipients.txt:ro
#   -e CANDOUR_RECIPIENTS=/run/candour/recipients.txt
# See "Container" in README.md, and compose.yaml for Candour behind Tor.
#
# A build without network (CI) points Go and npm at prepared caches through
# the build arguments below; their defaults are the tools' own, so a normal
# build fetches from the Go module proxy and the npm registry as usual.

# The staff console's in-browser decryption (age-encryption), bundled by
# esbuild into frontend/static/staff.js, which go:embed picks up.
FROM docker.io/library/node:20-bookworm-slim AS bundle
ARG NPM_CONFIG_CACHE=/root/.npm
ARG NPM_CONFIG_OFFLINE=false
WORKDIR /src
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm \
    npm ci --no-audit --no-fund
COPY frontend/js frontend/js
RUN npm run --silent build

FROM docker.io/library/golang:1.26.8-bookworm AS build
ARG GOPROXY=https://proxy.golang.org,direct
ARG GOFLAGS=
# go-sqlite3 is C: the binary links glibc dynamically, which the runtime
# image provides.
ENV CGO_ENABLED=1
WORKDIR /src
# Modules first, so that a source change does not download them again.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download
COPY . .
COPY --from=bundle /src/frontend/static/staff.js frontend/static/staff.js
# Compiling SQLite takes about a minute cold: the build cache keeps it.
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    go build -trimpath -ldflags="-s -w" -o /out/candour ./cmd/candour \
 && mkdir /out/data

# distroless/base: glibc, CA certificates and a nonroot user (65532); no
# shell, no package manager.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/candour /candour
# The volume's mount point, owned by the runtime user: a new named volume
# takes it over and starts out writable by that user (there is no shell
# here to mkdir with).
COPY --from=build --chown=65532:65532 /out/data /data
# Defaults as environment rather than flags, so that `docker run IMAGE serve
# --recipients …` keeps them, and so that `candour healthcheck` finds the
# address serve listens on. The root filesystem may be read-only: everything
# written (database, demo keys) goes to /data.
ENV CANDOUR_ADDR=0.0.0.0:8080 \
    CANDOUR_DATA=/data \
    CANDOUR_DEMO_KEYS=/data/demo-keys
VOLUME /data
# Numeric, so that Kubernetes' runAsNonRoot can check it.
USER 65532:65532
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["/candour", "healthcheck"]
ENTRYPOINT ["/candour"]
CMD ["serve"]
