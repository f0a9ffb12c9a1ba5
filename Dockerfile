# semantic-epp: the GIE v1.5.0 Endpoint Picker with semantic model selection.
# Drop-in for the upstream EPP image: same entrypoint (/epp), flags and ports
# (9002 ext_proc gRPC, 9003 gRPC health, 9090 metrics).
#
# The build stage only calls make targets (mk/deploy.mk), so the image holds
# what `make image-files` builds on a workstation; test/manifests checks that
# every file copied below is produced by those targets.
#
#   docker build --build-arg COMMIT_SHA=$(git rev-parse --short=12 HEAD) -t semantic-epp:dev .
# (or `make image`). The CUDA variant is Dockerfile.cuda.
ARG BUILDER_IMAGE=golang:1.26-bookworm
# glibc + libstdc++ (cgo binary and libonnxruntime), uid 65532, no shell.
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot

FROM ${BUILDER_IMAGE} AS builder
ARG COMMIT_SHA=unknown
ARG BUILD_REF=
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# bin/epp (cgo, the default models embedded) and libonnxruntime.so.1 (npm
# onnxruntime-node, sha256-pinned; make installs npm when missing).
RUN make image-files COMMIT_SHA=${COMMIT_SHA} BUILD_REF=${BUILD_REF}

FROM ${BASE_IMAGE}
WORKDIR /
COPY --from=builder /src/bin/epp /epp
# pkg/classifier/onnx looks here last (SystemLibraryPath).
COPY --from=builder /src/.cache/onnxruntime/libonnxruntime.so.1 /usr/lib/onnxruntime/libonnxruntime.so.1
USER 65532:65532
EXPOSE 9002 9003 9090
ENTRYPOINT ["/epp"]
