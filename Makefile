# The two commands of the README are `make run` and `make test`.
SQLC_VERSION := v1.31.1
GOOSE_VERSION := v3.30.0
GOLANGCI_LINT_VERSION := v2.15.0
GOBIN := $(shell go env GOPATH)/bin

WIDGET := web/widget
APIDOCS := web/docs

.PHONY: run test generate lint tools bench widget apidocs chromium screenshot

## run: PostgreSQL (local or compose), migrations, demo org and agent, then the server on :8787
run:
	./scripts/dev-run.sh

## test: the widget's unit tests, a check that the /docs bundle is a fresh build, then the
## whole Go suite with the race detector (the browser tests included) against DATABASE_URL
## (default: local PostgreSQL). Installs Chromium and the npm packages first when missing.
test: chromium $(WIDGET)/node_modules/.package-lock.json $(APIDOCS)/node_modules/.package-lock.json
	cd $(WIDGET) && npm test
	cd $(APIDOCS) && npm run check
	go test -race -count=1 ./...

## widget: rebuild the widget's bundle, web/widget/dist/widget.js (commit it: the binary embeds it)
widget: $(WIDGET)/node_modules/.package-lock.json
	cd $(WIDGET) && npm run build

## apidocs: rebuild the API reference page's bundle, web/docs/dist/docs.js (commit it)
apidocs: $(APIDOCS)/node_modules/.package-lock.json
	cd $(APIDOCS) && npm run build

# npm ci writes node_modules/.package-lock.json: it is stale when package-lock.json is newer.
$(WIDGET)/node_modules/.package-lock.json: $(WIDGET)/package-lock.json
	cd $(WIDGET) && npm ci --no-audit --no-fund

$(APIDOCS)/node_modules/.package-lock.json: $(APIDOCS)/package-lock.json
	cd $(APIDOCS) && npm ci --no-audit --no-fund

chromium:
	@./scripts/ensure-chromium.sh

## screenshot: retake docs/widget.png, the README's picture of the page at / answering a
## newcomer's first question from the seeded demo
screenshot: chromium
	go test -count=1 -run TestANewcomerAsksTheSeededDemoAndRunsItsTool ./e2e/widget -args -update-screenshot

## generate: regenerate db/ from queries/ and migrations/ with the pinned sqlc
generate: tools
	$(GOBIN)/sqlc generate

## lint: formatting, vet, golangci-lint (.golangci.yml), and generated code in sync
lint: tools
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)
	go vet ./...
	$(GOBIN)/golangci-lint run ./...
	$(GOBIN)/sqlc generate && git diff --exit-code -- db/

## tools: install the pinned sqlc, goose and golangci-lint
tools:
	@test -x $(GOBIN)/sqlc && $(GOBIN)/sqlc version | grep -q $(SQLC_VERSION) || go install github.com/sqlc-dev/sqlc/cmd/sqlc@$(SQLC_VERSION)
	@test -x $(GOBIN)/goose || go install github.com/pressly/goose/v3/cmd/goose@$(GOOSE_VERSION)
	@test -x $(GOBIN)/golangci-lint && [ "v$$($(GOBIN)/golangci-lint version --short)" = "$(GOLANGCI_LINT_VERSION)" ] || go install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@$(GOLANGCI_LINT_VERSION)

## bench: the benchmarks under bench/ (see bench/README.md)
bench:
	./bench/run.sh
