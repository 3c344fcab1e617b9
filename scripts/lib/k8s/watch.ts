// Watch streams (client-node's Watch: GET ...?watch=true, newline-delimited JSON events), with
// the server's ERROR events (e.g. 410 Expired) and HTTP failures turned into KubeApiErrors.
import { Watch } from '@kubernetes/client-node';
import type { KubeClient } from './client.ts';
import { type KubeApiError, type KubeStatus, toKubeError } from './errors.ts';
import type { KubeObject } from './types.ts';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED' | 'BOOKMARK';

export interface WatchSpec {
  apiVersion: string;
  kind: string;
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Start after this version (events since); default: current state as ADDED events first. */
  resourceVersion?: string;
  /** The server ends the stream after this long. */
  timeoutSeconds?: number;
}

export interface WatchHandle {
  /** Ends the watch; `done` then resolves. */
  stop(): void;
  /** Resolves when the stream ends normally (timeout, stop); rejects on an error event or HTTP error. */
  done: Promise<void>;
}

function describeSpec(spec: WatchSpec): string {
  const where = spec.namespace ? ` in ${spec.namespace}` : '';
  const sel = [spec.labelSelector, spec.fieldSelector].filter(Boolean).join(', ');
  return `watch ${spec.kind}${where}${sel ? ` (${sel})` : ''}`;
}

export async function watchObjects(
  client: KubeClient,
  spec: WatchSpec,
  onEvent: (type: WatchEventType, obj: KubeObject) => void,
): Promise<WatchHandle> {
  const op = describeSpec(spec);
  const path = await client.resourcePath({
    apiVersion: spec.apiVersion,
    kind: spec.kind,
    namespace: spec.namespace,
  });
  let settle!: { resolve: () => void; reject: (e: unknown) => void };
  const done = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  let failure: KubeApiError | undefined;
  const query: Record<string, string | number | boolean | undefined> = {
    labelSelector: spec.labelSelector,
    fieldSelector: spec.fieldSelector,
    resourceVersion: spec.resourceVersion,
    timeoutSeconds: spec.timeoutSeconds,
    allowWatchBookmarks: true,
  };
  let controller: AbortController | undefined;
  controller = await new Watch(client.kc).watch(
    path,
    query,
    (type: string, obj: unknown) => {
      if (type === 'ERROR') {
        const st = obj as KubeStatus;
        failure = toKubeError({ code: st.code ?? 500, body: st }, op, client.server);
        controller?.abort();
        return;
      }
      onEvent(type as WatchEventType, obj as KubeObject);
    },
    (err: unknown) => {
      if (failure) return settle.reject(failure);
      if (!err || (err as { name?: string }).name === 'AbortError') return settle.resolve();
      const code = (err as { statusCode?: number }).statusCode;
      settle.reject(toKubeError(code ? { code, body: (err as Error).message } : err, op, client.server));
    },
  );
  return {
    stop: () => controller?.abort(),
    done,
  };
}

/** Resolves with the first object whose event satisfies `predicate`, or rejects at the deadline. */
export async function waitForWatchEvent(
  client: KubeClient,
  spec: WatchSpec,
  predicate: (type: WatchEventType, obj: KubeObject) => boolean,
  timeoutMs: number,
): Promise<KubeObject> {
  let handle: WatchHandle | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    return await new Promise<KubeObject>((resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${describeSpec(spec)}: no matching event within ${timeoutMs} ms`)),
        timeoutMs,
      );
      watchObjects(client, spec, (type, obj) => {
        if (predicate(type, obj)) resolve(obj);
      })
        .then((h) => {
          handle = h;
          h.done.then(
            () => reject(new Error(`${describeSpec(spec)}: the stream ended before a matching event`)),
            reject,
          );
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    handle?.stop();
  }
}
