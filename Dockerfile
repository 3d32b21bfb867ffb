# The manager image: `make docker-build` (VERSION and REVISION from git).
# Multi-stage: build a static binary, ship it alone on distroless (no shell,
# no package manager) as the nonroot user (65532) the Deployment asks for.
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION} AS builder
WORKDIR /workspace
# The memberwait module is replaced by its local copy (go.mod): copy both
# module files first so that dependencies are a cached layer.
COPY go.mod go.sum ./
COPY pkg/memberwait/go.mod pkg/memberwait/go.sum pkg/memberwait/
# go mod verify: the downloaded modules are what go.sum recorded, before
# anything is built from them.
RUN --mount=type=cache,target=/go/pkg/mod go mod download && go mod verify
COPY api/ api/
COPY cmd/manager/ cmd/manager/
COPY controllers/ controllers/
COPY extension/ extension/
COPY internal/ internal/
COPY pkg/ pkg/
COPY webhooks/ webhooks/
ARG TARGETOS=linux
ARG TARGETARCH
ARG VERSION=unreleased
ARG LDFLAGS="-s -w"
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "${LDFLAGS} -X main.version=${VERSION}" -o /manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
# Build arguments are per stage: declared again for the labels.
ARG VERSION=unreleased
ARG REVISION=unknown
LABEL org.opencontainers.image.title="membergate-manager" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="https://github.com/membergate/membergate" \
      org.opencontainers.image.licenses="Apache-2.0"
WORKDIR /
COPY --from=builder /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
