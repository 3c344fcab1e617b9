// The scenario model: profiles and paths as data. Everything else reads it from here.
export * from './certificates.ts';
export * from './errata.ts';
export * from './errors.ts';
export * from './exemptions.ts';
export * from './expected.ts';
export * from './features.ts';
export * from './paths.ts';
export * from './profiles.ts';
export * from './scenario.ts';
export * from './topology.ts';
