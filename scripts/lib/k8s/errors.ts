// Maps what the API server (or the network) answered into one error type whose message says
// what failed, on which object, and what to do. Callers branch on `reason`, never on text.

/** A Kubernetes `Status` object (kind: Status), the body of every API error. */
export interface KubeStatus {
  kind?: string;
  apiVersion?: string;
  status?: string;
  message?: string;
  reason?: string;
  code?: number;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: { reason?: string; message?: string; field?: string }[];
    retryAfterSeconds?: number;
  };
}

/** Why a call failed: the Status reason, or a transport class for errors below HTTP. */
export type KubeErrorReason =
  | 'NotFound'
  | 'NoKindMatch'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Invalid'
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'MethodNotAllowed'
  | 'Gone'
  | 'Expired'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout'
  | 'ConnectionRefused'
  | 'TLSError'
  | 'NetworkError'
  | 'Unknown';

export class KubeApiError extends Error {
  readonly reason: KubeErrorReason;
  /** HTTP status code, when the server answered. */
  readonly code: number | undefined;
  readonly status: KubeStatus | undefined;
  /** What the harness tried, e.g. `apply Deployment default/direktiv`. */
  readonly operation: string;
  readonly hint: string;
  constructor(opts: {
    operation: string;
    reason: KubeErrorReason;
    code?: number;
    status?: KubeStatus;
    detail: string;
    hint: string;
    cause?: unknown;
  }) {
    super(
      `${opts.operation} failed: ${opts.detail}${opts.code ? ` (HTTP ${opts.code} ${opts.reason})` : ` (${opts.reason})`}. ${opts.hint}`,
      opts.cause === undefined ? undefined : { cause: opts.cause },
    );
    this.name = 'KubeApiError';
    this.reason = opts.reason;
    this.code = opts.code;
    this.status = opts.status;
    this.operation = opts.operation;
    this.hint = opts.hint;
  }
}

export const isNotFound = (e: unknown): boolean => e instanceof KubeApiError && e.reason === 'NotFound';
export const isAlreadyExists = (e: unknown): boolean =>
  e instanceof KubeApiError && e.reason === 'AlreadyExists';
export const isConflict = (e: unknown): boolean => e instanceof KubeApiError && e.reason === 'Conflict';

const REASON_BY_CODE: Record<number, KubeErrorReason> = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  409: 'Conflict',
  410: 'Gone',
  422: 'Invalid',
  429: 'TooManyRequests',
  500: 'InternalError',
  503: 'ServiceUnavailable',
  504: 'Timeout',
};

const KNOWN_REASONS = new Set<string>([...Object.values(REASON_BY_CODE), 'AlreadyExists', 'Expired']);

/** Parses an error body (string or object) into a Status when it is one. */
export function parseStatus(body: unknown): KubeStatus | undefined {
  let v = body;
  if (typeof v === 'string') {
    try {
      v = JSON.parse(v);
    } catch {
      return undefined;
    }
  }
  if (v && typeof v === 'object' && (v as KubeStatus).kind === 'Status') return v as KubeStatus;
  return undefined;
}

function causesText(status: KubeStatus | undefined): string {
  const causes = status?.details?.causes ?? [];
  return causes
    .map((c) => [c.field, c.message ?? c.reason].filter(Boolean).join(': '))
    .filter(Boolean)
    .join('; ');
}

function hintFor(reason: KubeErrorReason, status: KubeStatus | undefined, server: string): string {
  const msg = status?.message ?? '';
  switch (reason) {
    case 'NotFound':
      return 'Check the name and namespace; for a custom resource check that its CRD is installed.';
    case 'NoKindMatch':
      return 'Install the CRDs (or the component) that define this kind before using it, or check apiVersion and kind for typos.';
    case 'AlreadyExists':
      return 'The object exists already: apply it (server-side apply) instead of creating it, or delete it first.';
    case 'Conflict':
      if (/Apply failed with|conflict with "/.test(msg)) {
        return 'Another field manager owns these fields: apply with force (the harness applies with force) or drop the other manager.';
      }
      return 'The object changed while it was being written: read it again and retry.';
    case 'Invalid':
      return 'Fix the fields listed: the API server (or an admission webhook) rejected the object as written.';
    case 'BadRequest':
      return "The API server rejected the request as malformed, or as impossible in the object's current state; see the message.";
    case 'Unauthorized':
      return `The credentials in the harness kubeconfig were rejected by ${server}: regenerate it (kind get kubeconfig --name <cluster>).`;
    case 'Forbidden':
      return 'The kubeconfig user lacks RBAC permission for this verb and resource.';
    case 'InternalError':
      return /webhook/.test(msg)
        ? 'An admission webhook failed: its Deployment may not be ready yet, or its CA bundle is not injected.'
        : 'The API server failed internally; see the message and the API server logs (docker logs <node>).';
    case 'ServiceUnavailable':
    case 'Timeout':
    case 'TooManyRequests':
      return 'The API server is overloaded or still starting: retry shortly.';
    case 'ConnectionRefused':
      return `Nothing listens at ${server}: is the kind cluster running? (docker ps; kind get clusters)`;
    case 'TLSError':
      return `The TLS handshake with ${server} failed: the kubeconfig's CA does not match this API server (was the cluster re-created? regenerate the kubeconfig).`;
    case 'NetworkError':
      return `The connection to ${server} failed; check that the cluster is running and reachable.`;
    default:
      return 'See the message above.';
  }
}

const TLS_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** Finds a Node.js error code (ECONNREFUSED, ...) on an error or its causes. */
function errnoCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let depth = 0; cur && depth < 5; depth++) {
    const c = cur as { code?: unknown; errno?: unknown; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    if (typeof c.errno === 'string') return c.errno;
    cur = c.cause;
  }
  return undefined;
}

/**
 * Turns anything a client-node call threw into a KubeApiError. `operation` names the call and
 * its object; `server` is the API server URL (for hints).
 */
export function toKubeError(err: unknown, operation: string, server = 'the API server'): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const e = err as { code?: unknown; body?: unknown; message?: string };
  // Discovery failures inside client-node's object API: say it as kubectl does.
  const text = typeof e?.message === 'string' ? e.message : '';
  const noGroup = /^Failed to fetch resource metadata for (.+)\/([^/:]+): HTTP-Code: 404/.exec(text);
  const noKind = /^Unrecognized API version and kind: (\S+) (\S+)/.exec(text);
  if (noGroup || noKind) {
    const [apiVersion, kind] = noGroup ? [noGroup[1], noGroup[2]] : [noKind?.[1], noKind?.[2]];
    return new KubeApiError({
      operation,
      reason: 'NoKindMatch',
      detail: `no matches for kind "${kind}" in version "${apiVersion}": the API server does not serve ${noGroup ? `the API group/version ${apiVersion}` : `this kind in ${apiVersion}`}`,
      hint: hintFor('NoKindMatch', undefined, server),
      cause: err,
    });
  }
  if (typeof e?.code === 'number') {
    const code = e.code;
    const status = parseStatus(e.body);
    const reason: KubeErrorReason =
      status?.reason && KNOWN_REASONS.has(status.reason)
        ? (status.reason as KubeErrorReason)
        : (REASON_BY_CODE[code] ?? 'Unknown');
    const bodyText =
      typeof e.body === 'string' ? e.body.trim().slice(0, 300) : e.body ? JSON.stringify(e.body) : '';
    const causes = causesText(status);
    const detail =
      (status?.message ?? (bodyText || 'no response body')) +
      (causes && !(status?.message ?? '').includes(causes) ? ` [${causes}]` : '');
    return new KubeApiError({
      operation,
      reason,
      code,
      status,
      detail,
      hint: hintFor(reason, status, server),
      cause: err,
    });
  }
  const errno = errnoCode(err);
  const message = err instanceof Error ? err.message : String(err);
  let reason: KubeErrorReason = 'Unknown';
  if (errno === 'ECONNREFUSED' || /ECONNREFUSED/.test(message)) reason = 'ConnectionRefused';
  else if (errno === 'ETIMEDOUT') reason = 'Timeout';
  else if ((errno && TLS_CODES.has(errno)) || /certificate|SSL|TLS/i.test(message)) reason = 'TLSError';
  else if (errno && /^E[A-Z]+$/.test(errno)) reason = 'NetworkError';
  return new KubeApiError({
    operation,
    reason,
    detail: message.split('\n')[0] ?? message,
    hint: hintFor(reason, undefined, server),
    cause: err,
  });
}
