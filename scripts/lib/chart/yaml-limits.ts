// Limits for every YAML the harness reads from outside (rendered charts, which may come from a
// chart under test, and downloaded manifests): an alias bomb stops at the alias count instead of
// expanding, so reading stays bounded in time and memory. (kind/images.yaml sets its own.)
export const YAML_READ_LIMITS = { maxAliasCount: 100 } as const;
