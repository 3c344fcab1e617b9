// Readiness of single objects, judged from status fields the way `kubectl rollout status` does,
// plus what it misses: `rollout status` can exit 0 on a rollout that failed, so availability and
// unavailableReplicas are checked too, and a status older than the spec never counts.
import { findCondition, formatCondition, type KubeObject } from './types.ts';

export interface Readiness {
  ready: boolean;
  /** Why not (or a short confirmation when ready). */
  why: string;
}

type Num = number | undefined;
const n = (v: unknown): number => (typeof v === 'number' ? v : 0);

function staleStatus(obj: KubeObject): string | undefined {
  const gen = obj.metadata.generation;
  const observed = (obj.status as { observedGeneration?: Num } | undefined)?.observedGeneration;
  if (gen !== undefined && (observed === undefined || observed < gen)) {
    return `the controller has not observed the latest spec yet (generation ${gen}, observed ${observed ?? 'none'})`;
  }
  return undefined;
}

export function deploymentReadiness(obj: KubeObject): Readiness {
  const stale = staleStatus(obj);
  if (stale) return { ready: false, why: stale };
  const spec = (obj.spec ?? {}) as { replicas?: number };
  const st = (obj.status ?? {}) as Record<string, unknown>;
  const want = spec.replicas ?? 1;
  const progressing = findCondition(obj, 'Progressing');
  if (progressing?.reason === 'ProgressDeadlineExceeded') {
    return { ready: false, why: `rollout failed: ${formatCondition(progressing)}` };
  }
  const updated = n(st.updatedReplicas);
  const total = n(st.replicas);
  const available = n(st.availableReplicas);
  const unavailable = n(st.unavailableReplicas);
  if (updated < want) return { ready: false, why: `${updated} of ${want} replicas updated` };
  if (total > updated)
    return { ready: false, why: `${total - updated} old replicas are pending termination` };
  if (available < updated) {
    const avail = findCondition(obj, 'Available');
    return {
      ready: false,
      why: `${available} of ${updated} updated replicas available${avail ? `; ${formatCondition(avail)}` : ''}`,
    };
  }
  if (unavailable > 0) return { ready: false, why: `${unavailable} unavailable replicas` };
  const avail = findCondition(obj, 'Available');
  if (want > 0 && avail && avail.status !== 'True') return { ready: false, why: formatCondition(avail) };
  return { ready: true, why: `${available}/${want} available` };
}

export function daemonSetReadiness(obj: KubeObject): Readiness {
  const stale = staleStatus(obj);
  if (stale) return { ready: false, why: stale };
  const st = (obj.status ?? {}) as Record<string, unknown>;
  const desired = n(st.desiredNumberScheduled);
  const updated = n(st.updatedNumberScheduled);
  const available = n(st.numberAvailable);
  const unavailable = n(st.numberUnavailable);
  if (desired === 0)
    return { ready: false, why: 'no node is scheduled to run it (desiredNumberScheduled 0)' };
  if (updated < desired) return { ready: false, why: `${updated} of ${desired} pods updated` };
  if (available < desired) return { ready: false, why: `${available} of ${desired} pods available` };
  if (unavailable > 0) return { ready: false, why: `${unavailable} pods unavailable` };
  return { ready: true, why: `${available}/${desired} available` };
}

/** A cert-manager Certificate (or Issuer): condition Ready=True for the current generation. */
export function readyConditionReadiness(obj: KubeObject): Readiness {
  const ready = findCondition(obj, 'Ready');
  if (!ready) return { ready: false, why: 'no Ready condition yet (the controller has not processed it)' };
  if (ready.status !== 'True') return { ready: false, why: formatCondition(ready) };
  const gen = obj.metadata.generation;
  if (ready.observedGeneration !== undefined && gen !== undefined && ready.observedGeneration < gen) {
    return {
      ready: false,
      why: `Ready=True is for generation ${ready.observedGeneration}, the spec is at ${gen}`,
    };
  }
  return { ready: true, why: 'Ready=True' };
}
