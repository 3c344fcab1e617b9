module direktiv-tls-e2e/upstream/knative

go 1.22

require (
	knative.dev/net-contour v0.25.0
	knative.dev/networking v0.0.0-20210803181815-acdfd41c575c
	knative.dev/serving v0.25.0
)
