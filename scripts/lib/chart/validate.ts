// Validates rendered objects against their real schemas: cert-manager and core kinds with
// kubernetes-models (generated from the upstream OpenAPI/CRD schemas), Contour's
// TLSCertificateDelegation with ajv against the CRD schema of Contour 1.14 (no kubernetes-models
// package for Contour runs on Node 20: @kubernetes-models/contour 6.x needs Node 22).
// Like the CRDs (structural, pruning), these schemas accept unknown fields: tests check the
// field names the harness relies on separately.
import { readFileSync } from 'node:fs';
import { Certificate, ClusterIssuer, Issuer } from '@kubernetes-models/cert-manager/cert-manager.io/v1';
import { Ajv, type ValidateFunction } from 'ajv';
import { ConfigMap, Namespace, Secret } from 'kubernetes-models/v1';
import { type K8sObject, objectRef } from './render.ts';

let delegationSchema: ValidateFunction | undefined;
function delegationValidator(): ValidateFunction {
  if (!delegationSchema) {
    const schema = JSON.parse(
      readFileSync(new URL('./schemas/contour-v1.14-tlscertificatedelegation.json', import.meta.url), 'utf8'),
    );
    delegationSchema = new Ajv({ allErrors: true, strict: false }).compile(schema);
  }
  return delegationSchema;
}

type Model = { validate(): void };
// biome-ignore lint/suspicious/noExplicitAny: the model constructors take their own typed shapes.
const MODELS: Record<string, new (o: any) => Model> = {
  'cert-manager.io/v1 Certificate': Certificate,
  'cert-manager.io/v1 ClusterIssuer': ClusterIssuer,
  'cert-manager.io/v1 Issuer': Issuer,
  'v1 ConfigMap': ConfigMap,
  'v1 Namespace': Namespace,
  'v1 Secret': Secret,
};

type ObjectLike = Pick<K8sObject, 'apiVersion' | 'kind' | 'metadata'>;

/** Schema errors of one object (or patch document); throws for a kind without a known schema. */
export function schemaErrors(o: ObjectLike): string[] {
  const key = `${o.apiVersion} ${o.kind}`;
  if (key === 'projectcontour.io/v1 TLSCertificateDelegation') {
    const v = delegationValidator();
    if (v(o)) return [];
    return (v.errors ?? []).map((e) => `${objectRef(o)}: ${e.instancePath || '/'} ${e.message}`);
  }
  const M = MODELS[key];
  if (!M) throw new Error(`${objectRef(o)}: no schema known for ${key}`);
  try {
    new M(o).validate();
    return [];
  } catch (e) {
    return [`${objectRef(o)}: ${(e as Error).message}`];
  }
}

export function validateObjects(objects: readonly ObjectLike[]): string[] {
  return objects.flatMap(schemaErrors);
}
