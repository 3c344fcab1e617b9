// Judges rendered chart objects against the requirements: for each, ok or not and what was
// actually found, phrased so a maintainer can go straight to the template line.
import { parse } from 'yaml';
import type { K8sObject } from '../chart/render.ts';
import { YAML_READ_LIMITS } from '../chart/yaml-limits.ts';
import { CERTS_ROOT, type Check, type ObjectKey, type Requirement } from './requirements.ts';

export interface Result {
  ok: boolean;
  /** What the chart renders, e.g. "volume functionscerts missing" or "ok". */
  actual: string;
}

// biome-ignore lint/suspicious/noExplicitAny: pod specs are read field by field, defensively.
type Any = any;

function find(objects: readonly K8sObject[], key: ObjectKey): K8sObject | undefined {
  return objects.find((o) => o.kind === key.kind && o.metadata?.name === key.name);
}

const missing = (key: ObjectKey) => ({ ok: false, actual: `${key.kind} ${key.name} is not rendered` });

function podSpec(o: K8sObject): Any {
  return o.spec?.template?.spec ?? {};
}

function containerOf(o: K8sObject, name: string): Any | undefined {
  return (podSpec(o).containers ?? []).find((c: Any) => c?.name === name);
}

function containerNames(o: K8sObject): string {
  return (podSpec(o).containers ?? []).map((c: Any) => c?.name).join(', ') || 'none';
}

/** The YAML file a ConfigMap carries, merged over its plain keys (v0.4.1 ships one file per map). */
function configEntries(cm: K8sObject): Record<string, unknown> {
  const data = (cm.data ?? {}) as Record<string, string>;
  const out: Record<string, unknown> = { ...data };
  for (const text of Object.values(data)) {
    try {
      const doc = parse(String(text), YAML_READ_LIMITS);
      if (doc && typeof doc === 'object' && !Array.isArray(doc)) Object.assign(out, doc);
    } catch {
      // A plain value that is not YAML: it stays a plain key.
    }
  }
  return out;
}

export function evaluate(check: Check, objects: readonly K8sObject[]): Result {
  switch (check.kind) {
    case 'secret-mount': {
      const o = find(objects, check.workload);
      if (!o) return missing(check.workload);
      const vol = (podSpec(o).volumes ?? []).find((v: Any) => v?.name === check.volume);
      const problems: string[] = [];
      if (!vol) problems.push(`volume ${check.volume} missing`);
      else if (!vol.secret) problems.push(`volume ${check.volume} is not a Secret volume`);
      else if (vol.secret.secretName !== check.secretName) {
        problems.push(`volume ${check.volume} names Secret ${vol.secret.secretName ?? '(none)'}`);
      }
      const c = containerOf(o, check.container);
      if (!c) problems.push(`container ${check.container} missing (containers: ${containerNames(o)})`);
      else {
        const mounts: Any[] = c.volumeMounts ?? [];
        const m = mounts.find((x) => x?.name === check.volume);
        if (!m) {
          const at = mounts.find((x) => x?.mountPath === check.mountPath);
          problems.push(
            at
              ? `${check.mountPath} mounts volume ${at.name}, not ${check.volume}`
              : `container ${check.container} does not mount volume ${check.volume}`,
          );
        } else if (m.mountPath !== check.mountPath) {
          problems.push(`volume ${check.volume} is mounted at ${m.mountPath}`);
        }
      }
      return problems.length ? { ok: false, actual: problems.join('; ') } : { ok: true, actual: 'ok' };
    }
    case 'no-other-cert-mounts': {
      const o = find(objects, check.workload);
      if (!o) return missing(check.workload);
      const secrets = new Map<string, string>();
      for (const v of podSpec(o).volumes ?? []) if (v?.secret) secrets.set(v.name, v.secret.secretName);
      const extra: string[] = [];
      for (const c of podSpec(o).containers ?? []) {
        for (const m of c?.volumeMounts ?? []) {
          const path = String(m?.mountPath ?? '');
          if (!secrets.has(m?.name) || !path.startsWith(CERTS_ROOT)) continue;
          if (!check.allowed.includes(path)) {
            extra.push(`Secret ${secrets.get(m.name)} (volume ${m.name}) at ${path} in container ${c.name}`);
          }
        }
      }
      return extra.length
        ? { ok: false, actual: `also mounts ${extra.join('; ')}` }
        : { ok: true, actual: 'ok' };
    }
    case 'service-port': {
      const o = find(objects, check.service);
      if (!o) return missing(check.service);
      const ports: Any[] = o.spec?.ports ?? [];
      return ports.some((p) => Number(p?.port) === check.port)
        ? { ok: true, actual: 'ok' }
        : { ok: false, actual: `ports are ${ports.map((p) => p?.port).join(', ') || 'none'}` };
    }
    case 'container-port': {
      const o = find(objects, check.workload);
      if (!o) return missing(check.workload);
      const c = containerOf(o, check.container);
      if (!c)
        return {
          ok: false,
          actual: `container ${check.container} missing (containers: ${containerNames(o)})`,
        };
      const ports: Any[] = c.ports ?? [];
      return ports.some((p) => Number(p?.containerPort) === check.port)
        ? { ok: true, actual: 'ok' }
        : {
            ok: false,
            actual: `containerPorts are ${ports.map((p) => p?.containerPort).join(', ') || 'none'}`,
          };
    }
    case 'probe-scheme': {
      const o = find(objects, check.workload);
      if (!o) return missing(check.workload);
      const c = containerOf(o, check.container);
      if (!c)
        return {
          ok: false,
          actual: `container ${check.container} missing (containers: ${containerNames(o)})`,
        };
      const get = c.readinessProbe?.httpGet;
      if (!get) return { ok: false, actual: 'no httpGet readinessProbe' };
      // Kubernetes defaults the scheme to HTTP.
      const scheme = String(get.scheme ?? 'HTTP').toUpperCase();
      return scheme === check.scheme
        ? { ok: true, actual: 'ok' }
        : { ok: false, actual: `scheme is ${scheme}` };
    }
    case 'annotation': {
      const o = find(objects, check.object);
      if (!o) return missing(check.object);
      const value = o.metadata.annotations?.[check.key];
      if (!check.present) {
        return value === undefined ? { ok: true, actual: 'ok' } : { ok: false, actual: `present: ${value}` };
      }
      if (value === undefined) return { ok: false, actual: 'annotation missing' };
      if (check.value !== undefined && String(value) !== check.value) {
        return { ok: false, actual: `value is ${JSON.stringify(String(value))}` };
      }
      if (check.lists !== undefined) {
        const items = String(value)
          .split(',')
          .map((x) => x.trim());
        if (!items.includes(check.lists))
          return { ok: false, actual: `value ${JSON.stringify(value)} does not list ${check.lists}` };
      }
      return { ok: true, actual: 'ok' };
    }
    case 'ingress-tls': {
      const o = find(objects, check.ingress);
      if (!o) return missing(check.ingress);
      const tls: Any[] = o.spec?.tls ?? [];
      if (check.secretName === null) {
        return tls.length === 0
          ? { ok: true, actual: 'ok' }
          : { ok: false, actual: `spec.tls present (${tls.map((t) => t?.secretName).join(', ')})` };
      }
      const entry = tls.find((t) => t?.secretName === check.secretName);
      if (!entry) {
        return {
          ok: false,
          actual: tls.length ? `spec.tls names ${tls.map((t) => t?.secretName).join(', ')}` : 'no spec.tls',
        };
      }
      const hosts: string[] = entry.hosts ?? [];
      return hosts.includes(check.host)
        ? { ok: true, actual: 'ok' }
        : { ok: false, actual: `spec.tls hosts are ${hosts.join(', ') || 'none'}` };
    }
    case 'ingress-backend': {
      const o = find(objects, check.ingress);
      if (!o) return missing(check.ingress);
      const paths: Any[] = (o.spec?.rules ?? []).flatMap((r: Any) => r?.http?.paths ?? []);
      const p = paths.find((x) => x?.path === check.path);
      if (!p) return { ok: false, actual: `no rule for path ${check.path}` };
      const svc = p.backend?.service;
      const got = `${svc?.name ?? '?'}:${svc?.port?.number ?? svc?.port?.name ?? '?'}`;
      return svc?.name === check.service && Number(svc?.port?.number) === check.port
        ? { ok: true, actual: 'ok' }
        : { ok: false, actual: `routes ${check.path} to ${got}` };
    }
    case 'config-entry': {
      const o = find(objects, check.configMap);
      if (!o) return missing(check.configMap);
      const entries = configEntries(o);
      if (!(check.key in entries)) return { ok: false, actual: `entry ${check.key} missing` };
      const got = String(entries[check.key]);
      return got === check.value ? { ok: true, actual: 'ok' } : { ok: false, actual: `${check.key}: ${got}` };
    }
  }
}

export interface Evaluated {
  requirement: Requirement;
  result: Result;
}

export function evaluateAll(
  requirements: readonly Requirement[],
  objects: readonly K8sObject[],
): Evaluated[] {
  return requirements.map((requirement) => ({ requirement, result: evaluate(requirement.check, objects) }));
}
