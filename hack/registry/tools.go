//go:build tools

// The clients the release tests run, pinned by go.mod: crane pushes and
// reads images; actionlint checks the release workflow.
package main

import (
	_ "github.com/google/go-containerregistry/cmd/crane"
	_ "github.com/rhysd/actionlint/cmd/actionlint"
)
