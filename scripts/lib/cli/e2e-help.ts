import { FEATURES } from '../../../scenarios/features.ts';
import { PROFILE_NAMES } from '../../../scenarios/profiles.ts';

export const E2E_HELP = `Usage: npm run e2e -- --profile <name> [options]

Creates a kind cluster with cert-manager, Direktiv's Knative chart (Contour, Knative) and
Direktiv v0.4.1, applies a TLS profile, drives real traffic and asserts, path by path, that
traffic is encrypted where the profile says so and that plaintext is refused.
Needs Docker. Without Docker: --dry-run shows the plan, \`npm run lab\` runs the assertion suite
against local servers.

What to run (exactly one):
  --profile <name>          one of: ${PROFILE_NAMES.join(', ')}
  --profiles <a,b|all>      several profiles on ONE cluster, switched in place (one report column each)
  --features <a,b>          a custom feature set: ${FEATURES.join(', ')}
                            (grpc-mtls needs grpc-tls; services = Knative and pod functions together)
  --replay <bundle-dir>     re-run exactly what a reproduction bundle recorded

Profile settings:
  --mode <m>                corrected (default: every erratum fixed) or as-documented (the page verbatim;
                            the report says where it breaks)
  --namespace <ns>          Direktiv release namespace (default: default); every SAN is derived from it
  --service-namespace <ns>  Knative services and pod functions (default: direktiv-services-direktiv)
  --ingress-host <host>     Ingress host and certificate SAN (default: direktiv.tls.test)
  --strict                  Knative httpProtocol Redirected: port 80 of the internal Envoy must only
                            redirect (needs the services feature)

Run control:
  --dry-run                 print the ordered plan (every command and file) and touch nothing
  --output <dir>            write the plan, the kind config, the Direktiv values, the rendered profile
                            manifests and Knative patches (and, for a run, reports, pcaps, diagnostics)
  --keep                    keep the cluster after the run
  --keep-on-failure         keep the cluster only when something failed
  --cluster-name <name>     kind cluster name (default: direktiv-tls)
  --http-port <p>           host port of the ingress http (default: 18080)
  --https-port <p>          host port of the ingress https (default: 18443)
  --no-capture              skip the passive capture (active probes and config evidence only)
  --allow-legacy-tls        report TLS 1.0/1.1 accepted beside TLS 1.2+ as a warning, not a failure
                            (Direktiv v0.4.1 sets no minimum TLS version on its servers)

Direktiv source:
  --chart <dir>             install Direktiv from a local chart directory (a chart change to check)
  --direktiv-ref <ref>      install Direktiv's charts from another git ref (default: v0.4.1)
  --knative-image <img>     image of the Knative (reusable) traffic function: an HTTP server on :8080
  --isolated-image <img>    image of the pod (isolated) traffic function: has /bin/sh
  --images upstream|built   Direktiv's own images: pulled (default), or built from source
                            (npm run images) and served by a local registry the node mirrors

Reports:
  --json <file>  --junit <file>  --markdown <file>  --html <file>   (default: inside --output;
                            the HTML draws each profile's topology coloured by verdict)

Exit codes: 0 all verdicts hold, 1 a verdict or step failed (or teardown failed), 2 bad input,
3 the run could not start or finish (Docker, a tool or a port; named with how to get it),
4 the probes could not decide.
`;
