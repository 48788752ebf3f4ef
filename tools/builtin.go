package tools

import "context"

// Builtin serves a tool of kind "builtin" inside this process, instead of an HTTP request:
// it gets the call an HTTP tool would get (its URL empty, its arguments already validated
// against the tool's parameters) and returns the tool's result. Its error is non-nil only
// when ctx ended first. Builtins are the server's own code, chosen by the operator's build and
// configuration; a tenant can neither create one nor point one anywhere.
type Builtin func(ctx context.Context, c Call) (Result, error)
