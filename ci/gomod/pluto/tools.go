//go:build tools

// Package tools pins pluto for `go build` (see go.mod).
package tools

import _ "github.com/fairwindsops/pluto/v5/cmd/pluto"
