# paperchart — thin wrapper; the logic lives in deploy/*.sh.
#
#   make setup   install packages, start Redis/PostgreSQL/versitygw if needed, write var/paperchart.env
#   make run     setup, build, start `paperchart all` and push a demo batch through it
#   make stop    stop what `make run` started     make stop-all: also the services setup.sh started
#   make test    setup, go vet, go test -race (with var/paperchart.env)
#   make bench   setup, build, bin/paperchart bench $(BENCH_FLAGS)   (BENCH_FLAGS=--ocrmypdf: also OCRmyPDF;
#                apt-get install ocrmypdf first — not in setup.sh, which `make test` runs)
#   make fuzz    setup, every fuzz target for FUZZTIME (60s) each, one after another
#   make faults  setup, the fault suite (minutes): faults injected into separate processes on
#                private PostgreSQL/Redis/S3 servers; prints each recovery time
#   make image   the container image, built without a registry (deploy/image.sh; root)
#
# Each recipe line runs in its own shell: lines that need the environment
# source var/paperchart.env themselves, in the same line.

# Tesseract reads OMP_THREAD_LIMIT when the library loads: it must be in the
# environment before any process (test binaries included) starts.
export OMP_THREAD_LIMIT := 1
# Go lives in /usr/local/go on our machines (harmless if it is already on PATH).
export PATH := $(PATH):/usr/local/go/bin

ENV := . ./var/paperchart.env
GO_TEST_FLAGS ?= -race -count=1 -timeout 25m

.PHONY: all setup build run stop stop-all test vet bench fuzz faults image fmt clean

all: build

setup:
	bash deploy/setup.sh

build:
	go build -o bin/paperchart ./cmd/paperchart

run: setup
	bash deploy/run.sh

stop:
	bash deploy/stop.sh

stop-all:
	bash deploy/stop.sh --all

vet:
	go vet ./...

test: setup
	$(ENV) && go vet ./... && go test $(GO_TEST_FLAGS) ./...

BENCH_FLAGS ?=
bench: setup build
	$(ENV) && bin/paperchart bench $(BENCH_FLAGS)

# go test -fuzz runs one target of one package at a time: deploy/fuzz.sh
# runs them all in turn. Their seed corpora (f.Add, testdata/fuzz/) also run
# in `make test`, as ordinary tests.
FUZZTIME ?= 60s
fuzz: setup
	$(ENV) && FUZZTIME=$(FUZZTIME) bash deploy/fuzz.sh

# Not in `make test`: it takes minutes and stops, restarts and empties the
# servers it starts for itself (never the shared ones). FAULTS_GOALS=warn
# reports missed recovery goals without failing.
faults: setup
	$(ENV) && go test -tags faults -count=1 -timeout 40m -run '^TestFaults$$' -v ./cmd/paperchart

image:
	bash deploy/image.sh

fmt:
	go fmt ./...

# Removes build output only. Service data in var/ (S3 objects, Redis AOF, drop
# folder, logs) is never touched here.
clean:
	rm -rf bin/
