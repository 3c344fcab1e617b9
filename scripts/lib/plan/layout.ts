// Where a run writes each file, relative to its output folder: one place, so the plan, the
// executor, the bundle and the README agree.

/** A scenario name as a folder name (`custom:ingress+services` -> `custom-ingress+services`). */
export function scenarioDir(name: string): string {
  return name.replace(/[^A-Za-z0-9+._-]/g, '-');
}

export const layout = {
  planText: 'plan.txt',
  planJson: 'plan.json',
  kindConfig: 'kind-cluster.yaml',
  kubeconfig: 'kubeconfig',
  certManagerCheck: 'cert-manager-apicheck.yaml',
  envoyNodePortPatch: 'envoy-nodeport-patch.json',
  direktivValues: (s: string) => `${scenarioDir(s)}/direktiv-values.yaml`,
  profileValues: (s: string) => `${scenarioDir(s)}/profile-values.yaml`,
  profileManifests: (s: string) => `${scenarioDir(s)}/profile-manifests.yaml`,
  workflow: (s: string) => `${scenarioDir(s)}/traffic-workflow.yaml`,
  pcap: (s: string) => `${scenarioDir(s)}/capture.pcap`,
  reportText: 'report.txt',
  reportJson: 'report.json',
  reportJunit: 'junit.xml',
  reportMarkdown: 'summary.md',
  reportHtml: 'report.html',
  diagnostics: 'diagnostics',
  repro: 'repro',
} as const;
