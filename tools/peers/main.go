// peer-server: real Go TLS servers for the real-peers test tier (test/peers/). One binary, every
// mode chosen by flags: net/http or grpc-go, client authentication, TLS versions, plaintext h2c.
// It prints "LISTEN <addr>" once it listens, then serves until killed.
package main

import (
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/h2c"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func main() {
	kind := flag.String("kind", "http", "http (net/http) or grpc (grpc-go)")
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	cert := flag.String("cert", "", "server certificate (PEM)")
	key := flag.String("key", "", "server key (PEM)")
	clientCA := flag.String("client-ca", "", "CA that client certificates must chain to (PEM)")
	clientAuth := flag.String("client-auth", "none", "require (RequireAndVerifyClientCert), if-given (VerifyClientCertIfGiven), none (NoClientCert)")
	minTLS := flag.String("min-tls", "", "'' = Go's default; 1.0, 1.2 or 1.3 = MinVersion")
	goCiphers := flag.Bool("go-ciphers", false, "set CipherSuites to Go's list (grpc-go v1.36 left Go's choice alone)")
	plaintext := flag.Bool("h2c", false, "serve plaintext (HTTP/1.1 + h2c for http, insecure gRPC) instead of TLS")
	flag.Parse()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	var cfg *tls.Config
	if !*plaintext {
		cfg, err = tlsConfig(*cert, *key, *clientCA, *clientAuth, *minTLS)
		if err != nil {
			log.Fatal(err)
		}
		if *goCiphers {
			// grpc-go v1.78's credentials.NewTLS fills an empty CipherSuites with the suites HTTP/2
			// allows (RFC 7540 appendix A: no CBC), none of which TLS 1.0 has, so a current grpc-go
			// server refuses TLS 1.0 even with MinVersion 1.0. grpc-go v1.36 (Direktiv v0.4.1's) sets
			// neither MinVersion nor CipherSuites: Go's own list applied, CBC suites included.
			for _, s := range tls.CipherSuites() {
				cfg.CipherSuites = append(cfg.CipherSuites, s.ID)
			}
		}
	}
	fmt.Printf("LISTEN %s\n", ln.Addr())
	os.Stdout.Sync()

	switch *kind {
	case "grpc":
		var opts []grpc.ServerOption
		if cfg != nil {
			opts = append(opts, grpc.Creds(credentials.NewTLS(cfg)))
		}
		s := grpc.NewServer(opts...)
		healthpb.RegisterHealthServer(s, health.NewServer())
		log.Fatal(s.Serve(ln))
	case "http":
		mux := http.NewServeMux()
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "peer-server %s over %s\n", r.URL.Path, r.Proto)
		})
		if cfg == nil {
			// Plaintext HTTP/1.1 and HTTP/2 with prior knowledge (h2c), as Go services behind a mesh serve.
			srv := &http.Server{Handler: h2c.NewHandler(mux, &http2.Server{})}
			log.Fatal(srv.Serve(ln))
		}
		srv := &http.Server{Handler: mux, TLSConfig: cfg}
		log.Fatal(srv.ServeTLS(ln, "", ""))
	default:
		log.Fatalf("unknown -kind %q", *kind)
	}
}

func tlsConfig(certFile, keyFile, clientCAFile, clientAuth, minTLS string) (*tls.Config, error) {
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("server key pair: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{pair}}
	switch clientAuth {
	case "require":
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	case "if-given":
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case "none":
		cfg.ClientAuth = tls.NoClientCert
	default:
		return nil, fmt.Errorf("unknown -client-auth %q", clientAuth)
	}
	if clientAuth != "none" {
		pem, err := os.ReadFile(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA %s holds no certificate", clientCAFile)
		}
		cfg.ClientCAs = pool
	}
	switch minTLS {
	case "":
		// Go's default: TLS 1.2 minimum for servers since Go 1.22.
	case "1.0":
		// Go 1.18-1.21 (the era of Direktiv v0.4.1's builds) let servers accept TLS 1.0 by default; Go
		// 1.22+ raised the server default to 1.2. Setting 1.0 explicitly reproduces those servers.
		cfg.MinVersion = tls.VersionTLS10
	case "1.2":
		cfg.MinVersion = tls.VersionTLS12
	case "1.3":
		cfg.MinVersion = tls.VersionTLS13
	default:
		return nil, fmt.Errorf("unknown -min-tls %q", minTLS)
	}
	return cfg, nil
}
