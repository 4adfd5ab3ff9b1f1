//go:build tools

// crane, the registry client the tests push with, pinned by go.mod.
package main

import _ "github.com/google/go-containerregistry/cmd/crane"
