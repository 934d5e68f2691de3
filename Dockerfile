# paperchart's container image, on Debian's packages only: Tesseract (with the
# English and orientation models) and poppler from Debian, the Go toolchain
# from Debian's backports (it fetches the exact release go.mod asks for,
# checked against sum.golang.org).
#
# Built without a registry by deploy/image.sh (debootstrap + buildah), which
# passes DEBIAN=localhost/debian:bookworm; with a registry the default works:
#   docker build -t paperchart .   or   buildah bud -t paperchart .
# One image holds every role: the Kubernetes manifests in deploy/kubernetes/
# pick it with the command (watch, worker, serve, hl7).
ARG DEBIAN=docker.io/library/debian:bookworm-slim

FROM ${DEBIAN} AS build
ARG GOTOOLCHAIN=go1.26.8
# Where the build finds extra CA certificates (deploy/image.sh mounts the
# host's when a proxy re-signs TLS); empty: the system's.
ARG SSL_CERT_FILE=
RUN echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list \
 && apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates gcc g++ libc6-dev pkg-config \
      libtesseract-dev libleptonica-dev \
 && apt-get install -y --no-install-recommends -t bookworm-backports golang-1.23-go \
 && rm -rf /var/lib/apt/lists/*
ENV PATH=/usr/lib/go-1.23/bin:/usr/bin:/bin GOTOOLCHAIN=${GOTOOLCHAIN} GOFLAGS=-buildvcs=false CGO_ENABLED=1
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN go build -trimpath -o /out/paperchart ./cmd/paperchart

FROM ${DEBIAN}
ARG DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tesseract-ocr tesseract-ocr-eng tesseract-ocr-osd poppler-utils \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/paperchart --create-home paperchart
COPY --from=build /out/paperchart /usr/local/bin/paperchart
# Tesseract reads OMP_THREAD_LIMIT when it loads (the binary also re-executes
# itself with it when it is missing).
ENV OMP_THREAD_LIMIT=1 PAPERCHART_WORK_DIR=/tmp PAPERCHART_LOG_FORMAT=json
USER 10001:10001
WORKDIR /var/lib/paperchart
ENTRYPOINT ["/usr/local/bin/paperchart"]
CMD ["help"]
