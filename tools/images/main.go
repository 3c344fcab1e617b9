// Command images builds OCI images from static binaries and a Dockerfile's config, without a
// Docker daemon, reproducibly, and pushes them to a registry. It is driven by scripts/images.ts
// (npm run images); the spec format is that module's ImageSpec.
//
//	images build --spec spec.json --out DIR   writes DIR/oci (OCI image layout, every image) and
//	                                          DIR/archives/<name>.tar (docker-archive, for kind load),
//	                                          prints one JSON line per image (name, digest, size)
//	images push --oci DIR --name NAME --to REF [--ca PEM] [--username U --password P]
//	                                          pushes the image NAME of the OCI layout DIR as it is (same
//	                                          manifest, same digest; a docker-archive would be re-encoded
//	                                          with Docker media types, so another digest)
//
// Reproducible: layers are tars with entries in spec order, parents first, uid/gid 0, no user or
// group names, every time SOURCE_DATE_EPOCH; gzip headers carry no time or name; the config's
// created and history times are SOURCE_DATE_EPOCH. Same inputs, same digests.
package main

import (
	"archive/tar"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// File is one file placed into a layer.
type File struct {
	Src  string `json:"src"`
	Dst  string `json:"dst"`
	Mode int64  `json:"mode"`
}

// Layer is one layer (a Dockerfile COPY): its files and the history line it records.
type Layer struct {
	Files     []File `json:"files"`
	CreatedBy string `json:"createdBy"`
}

// Image is one image to build.
type Image struct {
	Name     string    `json:"name"`
	Platform string    `json:"platform"`
	Layers   []Layer   `json:"layers"`
	Config   v1.Config `json:"config"`
}

// Spec is what scripts/images.ts writes.
type Spec struct {
	Images []Image `json:"images"`
}

// Built is what build prints per image.
type Built struct {
	Name    string `json:"name"`
	Digest  string `json:"digest"`
	Config  string `json:"config"`
	Size    int64  `json:"size"`
	Archive string `json:"archive"`
}

func main() {
	if len(os.Args) < 2 {
		usage()
	}
	var err error
	switch os.Args[1] {
	case "build":
		err = build(os.Args[2:])
	case "push":
		err = push(os.Args[2:])
	default:
		usage()
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "images: %v\n", err)
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintln(os.Stderr, "usage: images build --spec FILE --out DIR | images push --oci DIR --name NAME --to REF [--ca PEM] [--username U --password P]")
	os.Exit(2)
}

func epoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Time{}, errors.New("SOURCE_DATE_EPOCH is not set (the build must not depend on the clock)")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: %v", s, err)
	}
	return time.Unix(n, 0).UTC(), nil
}

func build(args []string) error {
	fs := flag.NewFlagSet("build", flag.ExitOnError)
	specPath := fs.String("spec", "", "spec JSON")
	out := fs.String("out", "", "output folder")
	_ = fs.Parse(args)
	if *specPath == "" || *out == "" {
		usage()
	}
	when, err := epoch()
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(*specPath)
	if err != nil {
		return err
	}
	var spec Spec
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("%s: %v", *specPath, err)
	}
	ociDir := filepath.Join(*out, "oci")
	if err := os.RemoveAll(ociDir); err != nil {
		return err
	}
	lp, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(*out, "archives"), 0o755); err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	for _, s := range spec.Images {
		img, err := buildImage(s, when)
		if err != nil {
			return fmt.Errorf("%s: %v", s.Name, err)
		}
		digest, err := img.Digest()
		if err != nil {
			return err
		}
		cfg, err := img.ConfigName()
		if err != nil {
			return err
		}
		size, err := storedSize(img)
		if err != nil {
			return err
		}
		tag, err := name.NewTag(s.Name, name.WeakValidation)
		if err != nil {
			return fmt.Errorf("%s: %v", s.Name, err)
		}
		if err := lp.AppendImage(img, layout.WithAnnotations(map[string]string{
			"org.opencontainers.image.ref.name": s.Name,
		})); err != nil {
			return err
		}
		archive := filepath.Join(*out, "archives", slug(s.Name)+".tar")
		if err := tarball.WriteToFile(archive, tag, img); err != nil {
			return err
		}
		if err := enc.Encode(Built{Name: s.Name, Digest: digest.String(), Config: cfg.String(), Size: size, Archive: archive}); err != nil {
			return err
		}
	}
	return nil
}

func buildImage(s Image, when time.Time) (v1.Image, error) {
	base := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	base = mutate.ConfigMediaType(base, types.OCIConfigJSON)
	var adds []mutate.Addendum
	for _, l := range s.Layers {
		data, err := layerTar(l.Files, when)
		if err != nil {
			return nil, err
		}
		layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
			return io.NopCloser(bytes.NewReader(data)), nil
		}, tarball.WithMediaType(types.OCILayer))
		if err != nil {
			return nil, err
		}
		adds = append(adds, mutate.Addendum{
			Layer:     layer,
			MediaType: types.OCILayer,
			History:   v1.History{Created: v1.Time{Time: when}, CreatedBy: l.CreatedBy},
		})
	}
	img, err := mutate.Append(base, adds...)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cf = cf.DeepCopy()
	platform := s.Platform
	if platform == "" {
		platform = "linux/amd64"
	}
	p, err := v1.ParsePlatform(platform)
	if err != nil {
		return nil, err
	}
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Config = s.Config
	cf.Created = v1.Time{Time: when}
	return mutate.ConfigFile(img, cf)
}

// layerTar writes the files with their parent directories first, in a fixed order.
func layerTar(files []File, when time.Time) ([]byte, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirs := map[string]bool{}
	var dirList []string
	for _, f := range files {
		if !path.IsAbs(f.Dst) {
			return nil, fmt.Errorf("destination %q must be absolute", f.Dst)
		}
		for d := path.Dir(f.Dst); d != "/"; d = path.Dir(d) {
			if !dirs[d] {
				dirs[d] = true
				dirList = append(dirList, d)
			}
		}
	}
	sort.Strings(dirList) // parents sort before their children
	for _, d := range dirList {
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeDir, Name: d[1:] + "/", Mode: 0o755, ModTime: when, Format: tar.FormatPAX,
		}); err != nil {
			return nil, err
		}
	}
	for _, f := range files {
		data, err := os.ReadFile(f.Src)
		if err != nil {
			return nil, err
		}
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: f.Dst[1:], Mode: mode, Size: int64(len(data)), ModTime: when, Format: tar.FormatPAX,
		}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func storedSize(img v1.Image) (int64, error) {
	m, err := img.Manifest()
	if err != nil {
		return 0, err
	}
	n := m.Config.Size
	for _, l := range m.Layers {
		n += l.Size
	}
	return n, nil
}

var unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func slug(ref string) string { return unsafe.ReplaceAllString(ref, "_") }

func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	oci := fs.String("oci", "", "OCI layout written by build")
	imageName := fs.String("name", "", "the image's org.opencontainers.image.ref.name in the layout")
	to := fs.String("to", "", "reference to push to")
	ca := fs.String("ca", "", "PEM file of the registry's CA (default: system roots)")
	user := fs.String("username", "", "")
	pass := fs.String("password", "", "")
	_ = fs.Parse(args)
	if *oci == "" || *imageName == "" || *to == "" {
		usage()
	}
	img, err := fromLayout(*oci, *imageName)
	if err != nil {
		return err
	}
	ref, err := name.ParseReference(*to)
	if err != nil {
		return err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if *ca != "" {
		pem, err := os.ReadFile(*ca)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: no PEM certificate", *ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	auth := authn.Anonymous
	if *user != "" {
		auth = &authn.Basic{Username: *user, Password: *pass}
	}
	if err := remote.Write(ref, img, remote.WithAuth(auth), remote.WithTransport(tr)); err != nil {
		return err
	}
	d, err := img.Digest()
	if err != nil {
		return err
	}
	fmt.Printf("%s@%s\n", ref.Context().Name(), d)
	return nil
}

// fromLayout finds the image a build put into the OCI layout under its ref.name annotation.
func fromLayout(dir, imageName string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	for _, d := range m.Manifests {
		if d.Annotations["org.opencontainers.image.ref.name"] == imageName {
			return idx.Image(d.Digest)
		}
	}
	return nil, fmt.Errorf("%s: no image named %q", dir, imageName)
}
