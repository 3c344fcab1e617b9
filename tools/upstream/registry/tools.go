//go:build tools

// Package registry pins the upstream CNCF Distribution registry (the program behind Docker Hub's
// "registry" image) as a module dependency; the harness builds its cmd/registry from the module
// cache (scripts/lib/registry/build.ts), nothing of it is copied here.
package registry

import _ "github.com/distribution/distribution/v3/cmd/registry"
