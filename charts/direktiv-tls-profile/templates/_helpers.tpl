{{/*
The presets, profile -> features, in ladder order. They must equal scenarios/profiles.ts:
test/chart/presets.test.ts renders every profile both ways (profile=X, features=[...]) and
compares the objects.
*/}}
{{- define "dtp.presets" -}}
- name: plain
  features: []
- name: ingress-tls
  features: [ingress]
- name: upstream-tls
  features: [ingress, upstream]
- name: grpc-tls
  features: [ingress, upstream, grpc-tls]
- name: grpc-mtls
  features: [ingress, upstream, grpc-tls, grpc-mtls]
- name: full-mtls
  features: [ingress, upstream, grpc-tls, grpc-mtls, services]
{{- end -}}

{{/* Every feature, in canonical order (scenarios/features.ts FEATURES). */}}
{{- define "dtp.allFeatures" -}}
[ingress, upstream, grpc-tls, grpc-mtls, services]
{{- end -}}

{{/* Fails unless . (a list: flag, value) is an RFC 1123 label, as Kubernetes requires of namespaces. */}}
{{- define "dtp.checkNamespace" -}}
{{- $flag := index . 0 -}}
{{- $value := index . 1 | toString -}}
{{- if or (gt (len $value) 63) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $value)) -}}
{{- fail (printf "malformed namespace for %s: '%s': a namespace is an RFC 1123 label: at most 63 characters, lower-case letters, digits and -, starting and ending with a letter or digit" $flag $value) -}}
{{- end -}}
{{- end -}}

{{/*
The resolved and validated values, as YAML: every template starts from
`include "dtp.ctx" . | fromYaml`. Bad values fail here with a message naming the valid choices.
*/}}
{{- define "dtp.ctx" -}}
{{- $v := .Values -}}
{{- $presets := include "dtp.presets" . | fromYamlArray -}}
{{- $names := list -}}
{{- range $presets -}}{{- $names = append $names .name -}}{{- end -}}
{{- $all := include "dtp.allFeatures" . | fromYamlArray -}}
{{- $profile := $v.profile | default "" | toString -}}
{{- $given := $v.features | default list -}}
{{- if and $profile (gt (len $given) 0) -}}
{{- fail "profile and features conflict: give a preset with profile or a custom set with features, not both" -}}
{{- end -}}
{{- $raw := list -}}
{{- if $profile -}}
  {{- $found := false -}}
  {{- range $presets -}}
    {{- if eq .name $profile -}}{{- $raw = .features -}}{{- $found = true -}}{{- end -}}
  {{- end -}}
  {{- if not $found -}}
    {{- fail (printf "unknown profile '%s': valid profiles: %s" $profile (join ", " $names)) -}}
  {{- end -}}
{{- else if gt (len $given) 0 -}}
  {{- range $given -}}
    {{- if not (has (toString .) $all) -}}
      {{- fail (printf "unknown feature '%v': valid features: %s" . (join ", " $all)) -}}
    {{- end -}}
  {{- end -}}
  {{- if ne (len $given) (len (uniq $given)) -}}
    {{- fail (printf "a feature is listed twice in features %v: list each feature once" $given) -}}
  {{- end -}}
  {{- $raw = $given -}}
{{- else -}}
  {{- fail (printf "missing value: set profile (one of: %s) or features (a list of: %s)" (join ", " $names) (join ", " $all)) -}}
{{- end -}}
{{- $features := list -}}
{{- range $all -}}{{- if has . $raw -}}{{- $features = append $features . -}}{{- end -}}{{- end -}}
{{- if and (has "grpc-mtls" $features) (not (has "grpc-tls" $features)) -}}
{{- fail "conflicting features: grpc-mtls needs grpc-tls (mTLS reuses the TLS certificate mounts, pkg/util/grpc-util.go): use features [grpc-tls, grpc-mtls]" -}}
{{- end -}}
{{- /* A custom set equal to a preset is that preset (as in scenarios/scenario.ts). */ -}}
{{- $name := "custom" -}}
{{- range $presets -}}{{- if eq (join "," .features) (join "," $features) -}}{{- $name = .name -}}{{- end -}}{{- end -}}
{{- $mode := $v.mode | default "corrected" | toString -}}
{{- if not (has $mode (list "corrected" "as-documented")) -}}
{{- fail (printf "unknown mode '%s': valid modes: corrected, as-documented" $mode) -}}
{{- end -}}
{{- $ns := $v.namespace | default .Release.Namespace | toString -}}
{{- include "dtp.checkNamespace" (list "namespace" $ns) -}}
{{- $svcNs := $v.serviceNamespace | default "" | toString -}}
{{- if not $svcNs -}}{{- fail "missing value: serviceNamespace (Direktiv's functions.namespace, e.g. direktiv-services-direktiv)" -}}{{- end -}}
{{- include "dtp.checkNamespace" (list "serviceNamespace" $svcNs) -}}
{{- if eq $svcNs $ns -}}
{{- fail (printf "serviceNamespace equals namespace ('%s'): Direktiv v0.4.1 runs Knative services and pod jobs in their own namespace" $ns) -}}
{{- end -}}
{{- $cmNs := $v.certManagerNamespace | default "" | toString -}}
{{- if not $cmNs -}}{{- fail "missing value: certManagerNamespace (cert-manager's namespace, usually cert-manager)" -}}{{- end -}}
{{- include "dtp.checkNamespace" (list "certManagerNamespace" $cmNs) -}}
{{- $host := $v.ingressHost | default "" | toString -}}
{{- if and (has "ingress" $features) (not $host) -}}
{{- fail "missing value: ingressHost (the ingress feature issues direktiv-lb for it)" -}}
{{- end -}}
{{- if and $host (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $host)) -}}
{{- fail (printf "malformed ingressHost '%s': give a lower-case DNS name such as direktiv.tls.test" $host) -}}
{{- end -}}
{{- dict "features" $features "mode" $mode "asDocumented" (eq $mode "as-documented") "namespace" $ns "serviceNamespace" $svcNs "certManagerNamespace" $cmNs "ingressHost" $host "profile" $name | toYaml -}}
{{- end -}}

{{/* Labels common to every object; . is the root context. */}}
{{- define "dtp.labels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version }}
direktiv-tls-e2e/mode: {{ .Values.mode | default "corrected" }}
direktiv-tls-e2e/profile: {{ (include "dtp.ctx" . | fromYaml).profile }}
{{- end -}}

{{/* Annotations common to every object: the resolved feature set (a label value cannot hold commas). */}}
{{- define "dtp.annotations" -}}
{{- $c := include "dtp.ctx" . | fromYaml -}}
direktiv-tls-e2e/features: {{ join "," $c.features | quote }}
{{- end -}}

{{/* The four names a client in the cluster can dial for Service (index . 0) in namespace (index . 1). */}}
{{- define "dtp.serviceNames" -}}
{{- $svc := index . 0 -}}{{- $ns := index . 1 -}}
- {{ $svc | quote }}
- {{ printf "%s.%s" $svc $ns | quote }}
- {{ printf "%s.%s.svc" $svc $ns | quote }}
- {{ printf "%s.%s.svc.cluster.local" $svc $ns | quote }}
{{- end -}}

{{/*
Every cert-manager Certificate of the profile, as a YAML list the templates render. One place
holds both modes:
- as-documented: the page's "Simple example using cert-manager" verbatim (docs/config/ssl.md @
  493de14), its SANs written for namespace default, objects placed in the namespaces the page
  names (default -> the release namespace), the service-namespace copy only with services (the
  page's "Pod" certificate).
- corrected: SANs derived from the namespaces, the copies the errata require; `errata` names the
  errata an object fixes (annotation direktiv-tls-e2e/errata).
*/}}
{{- define "dtp.certificates" -}}
{{- $c := include "dtp.ctx" . | fromYaml -}}
{{- $f := $c.features -}}
{{- $doc := $c.asDocumented -}}
{{- $N := $c.namespace -}}
{{- $S := $c.serviceNamespace -}}
{{- /* Go's crypto/tls checks EKUs; cert-manager's default usages carry none. The corrected
  mode states the usages each certificate needs (key usages too, which cert-manager drops
  when only EKUs are listed). */ -}}
{{- $server := list "digital signature" "key encipherment" "server auth" -}}
{{- $both := list "digital signature" "key encipherment" "server auth" "client auth" -}}
{{- if or (has "upstream" $f) (has "grpc-tls" $f) (has "services" $f) }}
- name: direktiv-ca
  namespace: {{ $c.certManagerNamespace }}
  secretName: direktiv-ca
  isCA: true
  commonName: direktiv-system
  issuer: selfsigned-issuer
  issuerGroup: true
  purpose: the CA that signs every component certificate (ClusterIssuer direktiv-ca reads it)
{{- end }}
{{- if has "ingress" $f }}
- name: direktiv-lb
  namespace: {{ $N }}
  secretName: direktiv-lb
  issuer: selfsigned-issuer
  issuerGroup: {{ not $doc }}
  dnsNames: [localhost, {{ $c.ingressHost | quote }}]
  usages: {{ if $doc }}[]{{ else }}{{ toJson $server }}{{ end }}
  purpose: served by the contour-external Envoy for Direktiv's Ingress (ingress.certificate)
{{- end }}
{{- if has "upstream" $f }}
- name: direktiv-cert
  namespace: {{ $N }}
  secretName: direktiv-cert
  issuer: direktiv-ca
  issuerGroup: {{ not $doc }}
  {{- if $doc }}
  dnsNames: ["*.default.svc.cluster.local", "*.default"]
  usages: []
  {{- else }}
  dnsNames:
    {{- include "dtp.serviceNames" (list "direktiv-api-service" $N) | nindent 4 }}
    {{- include "dtp.serviceNames" (list "direktiv-ui" $N) | nindent 4 }}
  usages: {{ toJson $server }}
  {{- end }}
  purpose: HTTPS of the API and the UI on 8080 (api.certificate, ui.certificate)
{{- end }}
{{- if has "grpc-tls" $f }}
{{- range list (list "direktiv-cert-fn" "direktiv-functions-hl" "functions controller 5555 (functions.certificate)") (list "direktiv-cert-flow" "direktiv-flow-hl" "engine flow 7777 (flow.certificates.flow)") (list "direktiv-cert-ingress" "direktiv-ingress-hl" "engine ingress 6666 (flow.certificates.ingress)") }}
{{- $name := index . 0 }}{{ $hl := index . 1 }}
- name: {{ $name }}
  namespace: {{ $N }}
  secretName: {{ $name }}
  issuer: direktiv-ca
  issuerGroup: {{ not $doc }}
  {{- if $doc }}
  dnsNames:
    - {{ printf "%s.default.svc.cluster.local" $hl | quote }}
    - {{ printf "%s.default" $hl | quote }}
    - {{ $hl | quote }}
    - "*.default.svc.cluster.local"
    - "*.default"
  usages: [server auth, client auth]
  {{- else }}
  dnsNames:
    {{- include "dtp.serviceNames" (list $hl $N) | nindent 4 }}
  usages: {{ toJson $both }}
  {{- end }}
  purpose: {{ printf "gRPC server and client certificate of the %s" (index . 2) | quote }}
{{- end }}
{{- end }}
{{- /* The service namespace's direktiv-cert-flow: the flow client certificate of Knative
  sidecars and pod jobs (grpc-tls, erratum 4) and the init-pod's HTTPS server certificate
  (services: functions.initPodCertificate, erratum 5). */ -}}
{{- $grpc := has "grpc-tls" $f -}}
{{- $svc := has "services" $f -}}
{{- if and (not $doc) (or $grpc $svc) }}
- name: direktiv-cert-flow
  namespace: {{ $S }}
  secretName: direktiv-cert-flow
  issuer: direktiv-ca
  issuerGroup: true
  dnsNames:
    {{- if $grpc }}
    {{- include "dtp.serviceNames" (list "direktiv-flow-hl" $N) | nindent 4 }}
    {{- end }}
    {{- if $svc }}
    - {{ printf "*.%s.pod" $S | quote }}
    {{- end }}
  usages: {{ if $grpc }}{{ toJson $both }}{{ else }}{{ toJson $server }}{{ end }}
  errata: {{ if and $grpc $svc }}[4, 5]{{ else if $grpc }}[4]{{ else }}[5]{{ end }}
  purpose: {{ if $grpc }}the flow client certificate of Knative sidecars and pod jobs{{ end }}{{ if and $grpc $svc }}, and {{ end }}{{ if $svc }}the init-pod HTTPS server certificate (functions.initPodCertificate){{ end }}
{{- else if and $doc $svc }}
- name: direktiv-cert-flow
  namespace: {{ $S }}
  secretName: direktiv-cert-flow
  issuer: direktiv-ca
  issuerGroup: false
  dnsNames: ["direktiv-flow-hl.default.svc.cluster.local", "direktiv-flow-hl.default", "direktiv-flow-hl"]
  usages: [server auth, client auth]
  purpose: the page's "Pod" certificate (flow client certificate and init-pod server certificate)
{{- end }}
{{- if has "services" $f }}
- name: direktiv-cert-knative
  namespace: contour-internal
  secretName: direktiv-cert-knative
  issuer: direktiv-ca
  issuerGroup: {{ not $doc }}
  {{- if $doc }}
  dnsNames: ["*.direktiv-services-direktiv"]
  usages: []
  {{- else }}
  dnsNames:
    - {{ printf "*.%s" $S | quote }}
    - {{ printf "*.%s.svc" $S | quote }}
    - {{ printf "*.%s.svc.cluster.local" $S | quote }}
  usages: {{ toJson $server }}
  errata: [6]
  {{- end }}
  purpose: served by the contour-internal Envoy for Knative services (config-contour default-tls-secret)
{{- if not $doc }}
- name: direktiv-cert-knative
  namespace: {{ $N }}
  secretName: direktiv-cert-knative
  issuer: direktiv-ca
  issuerGroup: true
  dnsNames:
    - {{ printf "*.%s" $S | quote }}
    - {{ printf "*.%s.svc" $S | quote }}
    - {{ printf "*.%s.svc.cluster.local" $S | quote }}
  usages: {{ toJson $server }}
  errata: [3]
  purpose: its ca.crt is the engine's trust for Knative and pod services (flow.functionsCA, volume podca)
{{- end }}
{{- end }}
{{- end -}}
