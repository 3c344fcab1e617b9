//go:build tools

// Pins kwok, the simulated node that makes the control plane's pods Running and Ready.
package tools

import _ "sigs.k8s.io/kwok/cmd/kwok"
