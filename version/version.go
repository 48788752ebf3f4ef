// Package version holds the build's version string, set at link time:
//
//	go build -ldflags "-X github.com/switchboard-dev/switchboard/version.Version=v1.2.3"
package version

// Version is the server version reported by `switchboard version`, /openapi.json and the
// User-Agent of outbound tool calls.
var Version = "dev"
