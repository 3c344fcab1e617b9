// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the texts are GitHub Actions and shell syntax
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { PROFILE_NAMES } from '../../scenarios/index.ts';
import {
  type CheckContext,
  checkWorkflows,
  documentedFlags,
  E2E_FLAGS,
  type Finding,
  formatFinding,
  longFlagsIn,
  npmScriptsIn,
  projectContext,
  readWorkflows,
  type WorkflowFile,
} from '../../scripts/lib/ci/workflow-check.ts';

const root = process.cwd();
const real = readWorkflows(root);
const ctx: CheckContext = projectContext(root);

/** The real workflow files with one edited; the edit must change something. */
function mutate(file: string, from: string | RegExp, to: string): WorkflowFile[] {
  return real.map((f) => {
    if (!f.path.endsWith(file)) return f;
    const text = f.text.replace(from, to);
    assert.is.not(text, f.text, `the mutation of ${file} did not apply`);
    return { ...f, text };
  });
}

function only(findings: Finding[], re: RegExp): Finding {
  const hit = findings.filter((f) => re.test(formatFinding(f)));
  assert.ok(
    hit.length >= 1,
    `expected a finding matching ${re}; got:\n${findings.map(formatFinding).join('\n')}`,
  );
  return hit[0] as Finding;
}

test("the project's own workflows pass every rule", () => {
  const paths = real.map((f) => f.path);
  for (const w of ['ci.yml', 'e2e-leg.yml', 'nightly.yml'])
    assert.ok(paths.includes(`.github/workflows/${w}`), w);
  const findings = checkWorkflows(real, ctx);
  assert.equal(findings.map(formatFinding), []);
});

test('every profile is a nightly leg, plus strict and documentation legs', () => {
  const nightly = parse(real.find((f) => f.path.endsWith('nightly.yml'))?.text ?? '') as {
    jobs: { matrix: { strategy: { matrix: { include: Record<string, unknown>[] } } } };
  };
  const legs = nightly.jobs.matrix.strategy.matrix.include;
  for (const p of PROFILE_NAMES) {
    assert.ok(
      legs.some((l) => l.profile === p && l.mode === 'corrected' && l.strict === false),
      `no corrected leg for ${p}`,
    );
  }
  assert.ok(legs.some((l) => l.profile === 'full-mtls' && l.strict === true));
  assert.ok(
    legs.some((l) => l.profile === 'full-mtls' && l.mode === 'as-documented' && l.documentation === true),
  );
  assert.is(legs.length, PROFILE_NAMES.length + 2);
});

test('a profile without a leg is reported with its name and line', () => {
  const files = mutate('nightly.yml', /\n {10}- leg: grpc-mtls\n( {12}\S[^\n]*\n)+/, '\n');
  const f = only(checkWorkflows(files, ctx), /profile grpc-mtls has no nightly leg/);
  assert.is(f.file, '.github/workflows/nightly.yml');
  assert.ok(f.line && f.line > 1, 'the finding carries a line number');
});

test('a schema violation fails with its path (step with both uses and run)', () => {
  const files = mutate(
    'ci.yml',
    '      - name: npm ci\n        run: npm ci --no-audit --no-fund',
    '      - name: npm ci\n        uses: actions/setup-node@820762786026740c76f36085b0efc47a31fe5020\n        run: npm ci --no-audit --no-fund',
  );
  const findings = checkWorkflows(files, ctx);
  const f = only(findings, /schema: matches more than one allowed form/);
  assert.match(f.where, /^jobs\.test\.steps\[\d+\]$/);
});

test('an unknown key deep in the triggers is reported at its own path', () => {
  const files = mutate(
    'nightly.yml',
    '        default: all\n',
    '        default: all\n        colour: red\n',
  );
  const f = only(checkWorkflows(files, ctx), /schema: Additional property 'colour' is not allowed/);
  assert.is(f.where, 'on.workflow_dispatch.inputs.profile');
});

test('a misspelt job key is a schema error', () => {
  const files = mutate('e2e-leg.yml', '    runs-on: ubuntu-24.04', '    run-on: ubuntu-24.04');
  only(checkWorkflows(files, ctx), /schema: .*run-on/);
});

test('broken YAML is reported with its line', () => {
  const files = mutate('ci.yml', 'node: [20, 22, 24]', 'node: [20, 22, 24');
  const f = only(checkWorkflows(files, ctx), /not valid YAML/);
  assert.ok(f.line !== undefined);
});

test('an npm script that package.json lacks is reported', () => {
  const files = mutate(
    'ci.yml',
    'sudo -E env "PATH=$PATH" npm test',
    'sudo -E env "PATH=$PATH" npm run tests',
  );
  const findings = checkWorkflows(files, ctx);
  only(findings, /npm script 'tests' does not exist in package\.json/);
  // Without `npm test` the CI rule fires too.
  only(findings, /no job runs `npm test`/);
});

test('an e2e flag the CLI does not document is reported', () => {
  const files = mutate('e2e-leg.yml', 'args=(--profile "$PROFILE"', 'args=(--profle "$PROFILE"');
  only(checkWorkflows(files, ctx), /'--profle' is not a documented flag of `npm run e2e`/);
});

test('a chart-check flag the CLI does not document is reported', () => {
  const files = mutate('nightly.yml', 'args=(--profiles all', 'args=(--all-profiles');
  only(checkWorkflows(files, ctx), /'--all-profiles' is not a documented flag of `npm run chart-check`/);
});

test('an action pinned by tag is reported', () => {
  const files = mutate(
    'e2e-leg.yml',
    'actions/checkout@3d3c42e5aac5ba805825da76410c181273ba90b1 # v7.0.1',
    'actions/checkout@v7',
  );
  only(checkWorkflows(files, ctx), /actions\/checkout@v7: pin third-party actions by full commit sha/);
});

test('fail-fast true is reported', () => {
  const files = mutate('nightly.yml', '      fail-fast: false', '      fail-fast: true');
  only(checkWorkflows(files, ctx), /fail-fast must be false/);
});

test('an input spliced into shell text is reported', () => {
  const files = mutate(
    'e2e-leg.yml',
    'npm run e2e -- "${args[@]}"',
    'npm run e2e -- "${args[@]}" --direktiv-ref ${{ inputs.direktiv-ref }}',
  );
  only(checkWorkflows(files, ctx), /script injection/);
});

test('an as-documented leg that is not a documentation leg is reported', () => {
  const files = mutate(
    'nightly.yml',
    '            documentation: true\n',
    '            documentation: false\n',
  );
  only(checkWorkflows(files, ctx), /runs as-documented but is not a documentation leg/);
});

test('an unknown profile in the matrix is reported', () => {
  const files = mutate(
    'nightly.yml',
    'leg: plain\n            profile: plain\n',
    'leg: plain\n            profile: plaintext\n',
  );
  const findings = checkWorkflows(files, ctx);
  only(findings, /unknown profile 'plaintext'/);
  only(findings, /profile plain has no nightly leg/);
});

test('a reusable-workflow call with an undeclared input is reported', () => {
  const files = mutate(
    'nightly.yml',
    '      direktiv-ref: ${{ inputs.direktiv-ref }}\n',
    '      direktiv-rev: x\n',
  );
  const findings = checkWorkflows(files, ctx);
  only(findings, /input 'direktiv-rev' is not declared by \.\/\.github\/workflows\/e2e-leg\.yml/);
});

test('a missing required input of the called workflow is reported', () => {
  const files = mutate(
    'e2e-leg.yml',
    '      profile:\n        description: One of the six profiles (scenarios/profiles.ts)\n        type: string\n        required: true\n',
    '',
  );
  // The leg no longer declares profile, so the callers' with.profile is undeclared.
  only(checkWorkflows(files, ctx), /input 'profile' is not declared/);
});

test('the CI workflow must cover Node 20, 22 and 24', () => {
  const files = mutate('ci.yml', 'node: [20, 22, 24]', 'node: [20, 22]');
  only(checkWorkflows(files, ctx), /npm test must run on Node 20, 22, 24; missing 24/);
});

test('a job without timeout-minutes is reported', () => {
  const files = mutate('ci.yml', '    timeout-minutes: 30\n', '');
  only(checkWorkflows(files, ctx), /jobs\.test: set timeout-minutes/);
});

test('a missing nightly workflow is reported', () => {
  const files = real.filter((f) => !f.path.endsWith('nightly.yml'));
  only(checkWorkflows(files, ctx), /nightly\.yml .*workflow file is missing/);
});

test('documented flags: in the option spec AND named in the help text', () => {
  const spec = { profile: {}, 'keep-on-failure': {}, keep: {}, secret: {} };
  const help = 'Usage: x --profile <p> [--keep-on-failure]\n  --keep      keep it\n';
  assert.equal(documentedFlags(spec, help), ['--profile', '--keep-on-failure', '--keep']);
  // The nightly legs' flags are all documented by the real e2e CLI.
  for (const f of [
    '--profile',
    '--mode',
    '--strict',
    '--output',
    '--junit',
    '--markdown',
    '--json',
    '--direktiv-ref',
  ]) {
    assert.ok(E2E_FLAGS.includes(f), f);
  }
});

test('shell text parsing: npm scripts and long flags', () => {
  assert.equal(npmScriptsIn('npm ci && npm test; npm run e2e -- --x; npm run-script chart-check'), [
    'e2e',
    'chart-check',
    'test',
  ]);
  assert.equal(longFlagsIn('args=(--profile "$P" --mode x)\nargs+=(--strict)\nnpm run e2e -- "${args[@]}"'), [
    '--profile',
    '--mode',
    '--strict',
  ]);
  assert.equal(longFlagsIn('x --a=1 "--b" a--c'), ['--a', '--b']);
});

test.run();
