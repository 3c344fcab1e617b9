// `npm run errata [-- --json] [-- --profile p]`: where Direktiv's TLS page fails as written, and
// what the corrected mode applies instead, grouped by kind. Reads scenarios/errata.ts only.

import { ERRATA, type Erratum, type ErratumKind, errataFor, getProfile } from '../scenarios/index.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';

const HELP = `npm run errata [-- options]

Lists the errata of Direktiv's TLS page (docs/config/ssl.md @ 493de14, Direktiv v0.4.x) with,
for each, what breaks when the page is followed verbatim (--mode as-documented) and the fix the
corrected mode (the default) applies. Grouped by kind:
  page         the page is wrong; as-documented reproduces it
  environment  needed on any kind cluster; applied in both modes
  harness      the page omits a path or behaviour; the harness covers it in both modes

Options:
  --profile <name>  only the errata that concern this profile's features
  --json            machine-readable output (groups with their errata)
  -h, --help        this text
`;

export const KIND_ORDER: readonly ErratumKind[] = ['page', 'environment', 'harness'];

export const KIND_DOCS: Record<ErratumKind, string> = {
  page: 'the page is wrong; --mode as-documented reproduces it, --mode corrected applies the fix',
  environment: 'needed on any kind cluster whatever the page says; applied in both modes',
  harness: 'the page omits a path or a behaviour; the harness covers it in both modes',
};

export interface ErrataGroup {
  kind: ErratumKind;
  description: string;
  errata: Erratum[];
}

export function groupErrata(errata: readonly Erratum[]): ErrataGroup[] {
  return KIND_ORDER.map((kind) => ({
    kind,
    description: KIND_DOCS[kind],
    errata: errata.filter((e) => e.kind === kind).sort((a, b) => a.id - b.id),
  })).filter((g) => g.errata.length > 0);
}

/** Wraps `text` to `width` columns, continuation lines indented by `indent`. */
function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join(`\n${indent}`);
}

export function errataText(groups: readonly ErrataGroup[], scope?: string): string {
  const total = groups.reduce((n, g) => n + g.errata.length, 0);
  const out: string[] = [
    `Errata of Direktiv's TLS page (docs/config/ssl.md @ 493de14)${scope ? ` for ${scope}` : ''}: ${total}`,
    '',
  ];
  for (const g of groups) {
    out.push(`${g.kind} (${g.errata.length}): ${g.description}`, '');
    for (const e of g.errata) {
      // Continuation lines align under the text after the 16-column label.
      const pad = ' '.repeat(16);
      out.push(`  ${String(e.id).padStart(2)}. ${e.title}`);
      out.push(`      features: ${e.features.length ? e.features.join(', ') : 'all profiles'}`);
      out.push(`      breaks:   ${wrap(e.breaks, 86, pad)}`);
      out.push(`      fix:      ${wrap(e.fix, 86, pad)}`);
      out.push(`      source:   ${wrap(e.source, 86, pad)}`);
      out.push(`      the page's own example hits it: ${e.exampleBreaks ? 'yes' : 'no'}`);
      out.push('');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

export function errataMain(argv: string[], write: (s: string) => void): number {
  const { values } = parseCli(argv, {
    json: { type: 'boolean' },
    profile: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    write(HELP);
    return 0;
  }
  const profile = values.profile === undefined ? undefined : getProfile(values.profile);
  const errata = profile ? errataFor(profile.features) : [...ERRATA];
  const groups = groupErrata(errata);
  if (values.json) write(`${JSON.stringify({ profile: profile?.name ?? null, groups }, null, 2)}\n`);
  else write(errataText(groups, profile ? `profile ${profile.name}` : undefined));
  return 0;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  await runMain(async () => errataMain(process.argv.slice(2), (s) => process.stdout.write(s)));
}
