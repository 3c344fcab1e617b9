//go:build tools

// Pins cert-manager's controller, webhook and cainjector. v1.11.5: the newest release whose
// binaries live in the root module (from v1.12 cmd/* are nested modules the proxy does not serve).
package tools

import (
	_ "github.com/cert-manager/cert-manager/cmd/cainjector"
	_ "github.com/cert-manager/cert-manager/cmd/controller"
	_ "github.com/cert-manager/cert-manager/cmd/webhook"
)
