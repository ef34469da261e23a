# Convenience targets; the README's two commands need none of them.
.PHONY: build run test test-race lint bench fuzz

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

bench:
	go test -run '^$$' -bench . -benchmem ./internal/...

fuzz:
	go test -run '^$$' -fuzz FuzzParse$$ -fuzztime 60s ./internal/directory/filter/
	go test -run '^$$' -fuzz FuzzParsePath -fuzztime 60s ./internal/directory/filter/
	go test -run '^$$' -fuzz FuzzApply -fuzztime 60s ./internal/directory/patch/
