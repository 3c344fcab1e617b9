// The six documented profiles: a ladder from plain to full mTLS, each adding one page section.

import { UsageError } from './errors.ts';
import type { Feature } from './features.ts';

export const PROFILE_NAMES = [
  'plain',
  'ingress-tls',
  'upstream-tls',
  'grpc-tls',
  'grpc-mtls',
  'full-mtls',
] as const;
export type ProfileName = (typeof PROFILE_NAMES)[number];

export interface Profile {
  name: ProfileName;
  features: Feature[];
  /** The section of the TLS page the profile adds. */
  adds: string;
}

export const PROFILES: Record<ProfileName, Profile> = {
  plain: {
    name: 'plain',
    features: [],
    adds: 'nothing: the baseline and the sanity leg (detectors must see plaintext)',
  },
  'ingress-tls': { name: 'ingress-tls', features: ['ingress'], adds: 'Proxy' },
  'upstream-tls': { name: 'upstream-tls', features: ['ingress', 'upstream'], adds: 'Proxy - API/UI' },
  'grpc-tls': {
    name: 'grpc-tls',
    features: ['ingress', 'upstream', 'grpc-tls'],
    adds: 'API - Engine - Controller (TLS)',
  },
  'grpc-mtls': {
    name: 'grpc-mtls',
    features: ['ingress', 'upstream', 'grpc-tls', 'grpc-mtls'],
    adds: 'the mTLS variant of the same section',
  },
  'full-mtls': {
    name: 'full-mtls',
    features: ['ingress', 'upstream', 'grpc-tls', 'grpc-mtls', 'services'],
    adds: 'Direktiv - Knative and Direktiv - Pods ("Simple example using cert-manager")',
  },
};

export function isProfileName(s: string): s is ProfileName {
  return (PROFILE_NAMES as readonly string[]).includes(s);
}

export function getProfile(name: string): Profile {
  if (!isProfileName(name)) {
    throw new UsageError(`unknown profile '${name}'`, `valid profiles: ${PROFILE_NAMES.join(', ')}`);
  }
  return PROFILES[name];
}

/** Parses `--profiles a,b` or `all`. */
export function parseProfileList(input: string): ProfileName[] {
  if (input.trim() === 'all') return [...PROFILE_NAMES];
  const names = input
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (names.length === 0)
    throw new UsageError('--profiles is empty', `valid profiles: all, ${PROFILE_NAMES.join(', ')}`);
  return names.map((n) => getProfile(n).name);
}
