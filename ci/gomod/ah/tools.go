//go:build tools

// Package tools pins Artifact Hub's ah for `go build` (see go.mod).
package tools

import _ "github.com/artifacthub/hub/cmd/ah"
