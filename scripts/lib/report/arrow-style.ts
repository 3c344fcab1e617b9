// How a verdict looks in the pictures (the HTML diagram and heat map, the Markdown's Mermaid
// chart): one class per arrow, decided from the verdict alone, with its colour and legend words.
// One place, so the diagram, the heat map, the legend and the browser test agree.

export type ArrowClass = 'mtls' | 'tls' | 'plain' | 'warn' | 'fail' | 'inconclusive' | 'unchecked' | 'exempt';

/** The fields of a path verdict this reads (structural: a saved JSON report has them). */
export interface VerdictLike {
  status: string;
  observed?: string;
  expected: { state: string };
  basis?: readonly string[];
}

export interface ArrowStyle {
  colour: string;
  /** SVG stroke-dasharray, when the line is not solid. */
  dash?: string;
  width: number;
  symbol: string;
  legend: string;
}

export const ARROW_STYLES: Record<ArrowClass, ArrowStyle> = {
  mtls: {
    colour: '#116329',
    width: 3,
    symbol: '✓',
    legend: 'mTLS verified: TLS, client certificate required',
  },
  tls: { colour: '#2da44e', width: 2.5, symbol: '✓', legend: 'TLS verified (https: port 80 only redirects)' },
  plain: { colour: '#57606a', width: 2, symbol: '✓', legend: 'plaintext, as the profile expects' },
  warn: {
    colour: '#bf8700',
    width: 2.5,
    symbol: '!',
    legend: 'passes with a warning (e.g. TLS, plain port still open)',
  },
  fail: {
    colour: '#cf222e',
    width: 3,
    symbol: '✗',
    legend: 'fails: plaintext where TLS was expected, or another check',
  },
  inconclusive: {
    colour: '#8250df',
    dash: '7 4',
    width: 2.5,
    symbol: '?',
    legend: 'inconclusive: the evidence could not decide',
  },
  unchecked: {
    colour: '#8c959f',
    dash: '2 4',
    width: 2,
    symbol: '–',
    legend: 'not checked: no evidence (counts as a failure)',
  },
  exempt: {
    colour: '#b0b8c1',
    dash: '5 4',
    width: 1.5,
    symbol: '',
    legend: 'always plaintext, exempt (no setting in Direktiv v0.4.x)',
  },
};

/** Legend order: encrypted first, then what needs a look. */
export const ARROW_CLASSES: readonly ArrowClass[] = [
  'mtls',
  'tls',
  'plain',
  'warn',
  'fail',
  'inconclusive',
  'unchecked',
  'exempt',
];

/** The class of a judged path's arrow; `undefined`: the report has no verdict for it. */
export function arrowClass(v: VerdictLike | undefined): ArrowClass {
  if (!v) return 'unchecked';
  if (v.status === 'inconclusive') return 'inconclusive';
  if (v.status === 'fail') return (v.basis?.length ?? 0) === 0 ? 'unchecked' : 'fail';
  if (v.status === 'warn') return 'warn';
  const seen = v.observed ?? v.expected.state;
  if (seen === 'mtls') return 'mtls';
  if (seen === 'plain') return 'plain';
  return 'tls';
}

/** The state a cell or label prints: what the wire showed, and what was wanted when it differs. */
export function stateText(v: VerdictLike | undefined): string {
  if (!v) return 'not run';
  const seen = v.observed ?? v.expected.state;
  const want = v.status !== 'pass' && v.status !== 'warn' && seen !== v.expected.state;
  return want ? `${seen} (want ${v.expected.state})` : seen;
}
