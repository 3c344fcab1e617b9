// The chart-check CLI's options: one list the CLI parses and the workflow check reads.
export const CHART_CHECK_OPTIONS = {
  chart: { type: 'string' },
  against: { type: 'string' },
  'direktiv-ref': { type: 'string' },
  profile: { type: 'string' },
  profiles: { type: 'string' },
  mode: { type: 'string' },
  namespace: { type: 'string' },
  json: { type: 'boolean' },
  markdown: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const CHART_CHECK_FLAGS: readonly string[] = Object.keys(CHART_CHECK_OPTIONS).map((k) => `--${k}`);
