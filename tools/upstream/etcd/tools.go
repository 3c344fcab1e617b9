//go:build tools

// Pins etcd's server (its module root is the etcd main package) so `go build` can make it.
// Version: the etcd kubeadm v1.24.17 installs (cmd/kubeadm/app/constants DefaultEtcdVersion 3.5.6-0).
package tools

import _ "go.etcd.io/etcd/server/v3"
