//go:build tools

// Pins CNCF Distribution's registry (the program behind the `registry` image): the local registry
// of the image preflight tests and of `--images built`.
package tools

import _ "github.com/distribution/distribution/v3/cmd/registry"
