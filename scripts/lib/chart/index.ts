// The profile chart library: render, read certificates, validate schemas, check consistency.
export * from './cert-specs.ts';
export * from './consistency.ts';
export * from './helm.ts';
export * from './render.ts';
export * from './validate.ts';
