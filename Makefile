# Convenience targets; the README's two commands need none of them.
.PHONY: build run test test-race lint bench bench-load fuzz

build:
	go build -o bin/gatehouse ./cmd/gatehouse

run:
	go run ./cmd/gatehouse serve

test:
	go test ./...

test-race:
	go test -race ./...

lint:
	gofmt -l $$(git ls-files '*.go') | tee /dev/stderr | (! read)
	go vet ./...

# Go benchmarks of the hot paths, including the in-process SCIM handler
# (docs/benchmarks.md); GATEHOUSE_BENCH_DB=<seeded main.db> skips seeding.
bench:
	go test -run '^$$' -bench . -benchmem ./internal/... ./test/bench/

# Load test of the real server with wrk and patchbench (docs/benchmarks.md).
bench-load:
	test/bench/run.sh

fuzz:
	go test -run '^$$' -fuzz FuzzParse$$ -fuzztime 60s ./internal/directory/filter/
	go test -run '^$$' -fuzz FuzzParsePath -fuzztime 60s ./internal/directory/filter/
	go test -run '^$$' -fuzz FuzzApply -fuzztime 60s ./internal/directory/patch/
