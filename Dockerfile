# The manager image: `docker build -t ghcr.io/membergate/membergate-manager:dev .`
# Multi-stage: build a static binary, ship it alone on distroless (no shell,
# no package manager) as the nonroot user (65532) the Deployment asks for.
ARG GO_VERSION=1.26
FROM golang:${GO_VERSION} AS builder
WORKDIR /workspace
# The memberwait module is replaced by its local copy (go.mod): copy both
# module files first so that dependencies are a cached layer.
COPY go.mod go.sum ./
COPY pkg/memberwait/go.mod pkg/memberwait/go.sum pkg/memberwait/
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY api/ api/
COPY cmd/manager/ cmd/manager/
COPY controllers/ controllers/
COPY extension/ extension/
COPY internal/ internal/
COPY pkg/ pkg/
COPY webhooks/ webhooks/
ARG TARGETOS=linux
ARG TARGETARCH
ARG LDFLAGS="-s -w"
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 GOOS=${TARGETOS} GOARCH=${TARGETARCH} \
    go build -trimpath -ldflags "${LDFLAGS}" -o /manager ./cmd/manager

FROM gcr.io/distroless/static:nonroot
WORKDIR /
COPY --from=builder /manager /manager
USER 65532:65532
ENTRYPOINT ["/manager"]
