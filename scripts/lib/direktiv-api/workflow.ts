// The traffic workflow: Direktiv v0.4.1 YAML (checked against v0.4.1:pkg/model: workflow.go,
// function-reusable.go, function-isolated.go, state-action.go) with one `reusable` Knative
// function and one `isolated` pod function, so that one execution puts traffic on every
// in-cluster path:
//   upload            engine -> functions :5555 (CreateFunction for the Knative service)
//   call-knative      engine -> contour-internal Envoy -> Knative pod (engine->knative),
//                     Knative sidecar -> engine :7777 ReportActionResults (sidecar->engine)
//   call-isolated     engine -> functions :5555 CreateFunctionsPod (engine->functions),
//                     engine -> init container :8890 (engine->pod),
//                     pod sidecar -> engine :7777 ActionLog (out.log) + ReportActionResults (pod->engine)
// Unknown keys are rejected by v0.4.1 (DisallowUnknownFields): only model fields appear here.
import YAML from 'yaml';
import type { Scenario } from '../../../scenarios/index.ts';
import { checkDirektivId } from './client.ts';

/** Any image with `node`: the Knative function runs an HTTP echo server on :8080 (cmd below). */
export const DEFAULT_KNATIVE_IMAGE = 'docker.io/library/node:20-alpine';
/**
 * The echo server for the default Knative image: answers POST / with the request body as JSON.
 * Double quotes outside, single quotes inside: Direktiv splits `cmd` with go-shellwords.
 */
export const DEFAULT_KNATIVE_CMD =
  "node -e \"require('http').createServer((q,s)=>{let b='';q.on('data',d=>b+=d);q.on('end',()=>{s.setHeader('Content-Type','application/json');s.end(b||'{}')})}).listen(8080)\"";
/** Any image with sh, cp, echo and touch: the isolated function speaks a file protocol. */
export const DEFAULT_ISOLATED_IMAGE = 'docker.io/library/busybox:1.36';
/**
 * The isolated function: copy input to output, write one log line (an ActionLog call on :7777),
 * then `done`. The `sleep 1` covers the sidecar's fsnotify watch starting a little late.
 */
export const DEFAULT_ISOLATED_CMD =
  "sh -c 'sleep 1; cp /direktiv-data/input.json /direktiv-data/output.json; echo iso-ran > /direktiv-data/out.log; touch /direktiv-data/done'";

export const KNATIVE_FUNCTION_ID = 'kn';
export const ISOLATED_FUNCTION_ID = 'iso';

export interface TrafficWorkflowOptions {
  /** Workflow id; default `tls-traffic`. */
  id?: string;
  /** Image of the Knative (`reusable`) function: an HTTP server on :8080 answering POST /. */
  knativeImage?: string | null;
  /** Command for it; default: the node echo server when the image is the default one, else none. */
  knativeCmd?: string | null;
  /** Image of the isolated (pod) function: anything with a shell. */
  isolatedImage?: string | null;
  isolatedCmd?: string | null;
  /** minScale of the Knative service; default 1 (no scale-to-zero while probes run). */
  scale?: number;
  /** ISO 8601 action timeout; default PT3M, so a hang fails in minutes, not the default 15. */
  timeout?: string;
}

const IMAGE_REF =
  /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*(:[\w][\w.-]{0,127})?(@sha256:[a-f0-9]{64})?$/;
const ISO_DURATION = /^PT(?=\d)(\d+H)?(\d+M)?(\d+S)?$/;

function checkImage(what: string, ref: string): string {
  if (!IMAGE_REF.test(ref)) {
    throw new Error(
      `invalid ${what} '${ref}': give an image reference such as docker.io/library/busybox:1.36`,
    );
  }
  return ref;
}

/** The workflow as data (functions and states in the order the engine runs them). */
export function trafficWorkflowDefinition(opts: TrafficWorkflowOptions = {}): Record<string, unknown> {
  const id = checkDirektivId('workflow id', opts.id ?? 'tls-traffic');
  const knativeImage = checkImage('Knative function image', opts.knativeImage ?? DEFAULT_KNATIVE_IMAGE);
  const knativeCmd =
    opts.knativeCmd ?? (knativeImage === DEFAULT_KNATIVE_IMAGE ? DEFAULT_KNATIVE_CMD : undefined);
  const isolatedImage = checkImage('isolated function image', opts.isolatedImage ?? DEFAULT_ISOLATED_IMAGE);
  const isolatedCmd = opts.isolatedCmd ?? DEFAULT_ISOLATED_CMD;
  const timeout = opts.timeout ?? 'PT3M';
  if (!ISO_DURATION.test(timeout))
    throw new Error(`invalid action timeout '${timeout}': use an ISO 8601 duration such as PT3M`);
  const scale = opts.scale ?? 1;
  if (!Number.isInteger(scale) || scale < 0 || scale > 3) {
    throw new Error(
      `invalid scale ${scale}: 0..3 (the functions controller caps Knative services at max-scale 3)`,
    );
  }
  return {
    id,
    description:
      'direktiv-tls-e2e: one Knative (reusable) and one pod (isolated) function call, so every path carries traffic',
    functions: [
      {
        id: KNATIVE_FUNCTION_ID,
        type: 'reusable',
        image: knativeImage,
        ...(knativeCmd ? { cmd: knativeCmd } : {}),
        ...(scale ? { scale } : {}),
      },
      { id: ISOLATED_FUNCTION_ID, type: 'isolated', image: isolatedImage, cmd: isolatedCmd },
    ],
    states: [
      {
        id: 'call-knative',
        type: 'action',
        timeout,
        action: { function: KNATIVE_FUNCTION_ID, input: { hello: 'knative' } },
        transform: { knative: 'jq(.return)' },
        transition: 'call-isolated',
      },
      {
        id: 'call-isolated',
        type: 'action',
        timeout,
        action: { function: ISOLATED_FUNCTION_ID, input: { hello: 'isolated' } },
        transform: { knative: 'jq(.knative)', isolated: 'jq(.return)' },
      },
    ],
  };
}

export function trafficWorkflowYaml(opts: TrafficWorkflowOptions = {}): string {
  // Plain scalars where possible; the `cmd` strings get quoted by the YAML library as needed.
  return YAML.stringify(trafficWorkflowDefinition(opts), { lineWidth: 0 });
}

/** A workflow id per scenario: a fresh id per profile avoids re-using a Knative service name. */
export function trafficWorkflowId(scenario: Pick<Scenario, 'name'>): string {
  const slug = scenario.name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return checkDirektivId('workflow id', `traffic-${slug || 'run'}`);
}

/** The scenario's traffic workflow YAML (what `--output` writes and `driveTraffic` uploads). */
export function trafficWorkflow(opts: {
  scenario: Pick<Scenario, 'name'>;
  knativeImage?: string | null;
  isolatedImage?: string | null;
  knativeCmd?: string | null;
  isolatedCmd?: string | null;
}): string {
  return trafficWorkflowYaml({
    id: trafficWorkflowId(opts.scenario),
    knativeImage: opts.knativeImage,
    isolatedImage: opts.isolatedImage,
    knativeCmd: opts.knativeCmd,
    isolatedCmd: opts.isolatedCmd,
  });
}
