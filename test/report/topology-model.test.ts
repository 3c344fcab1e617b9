// The pictures' model: every path and exempt connection of scenarios/ becomes an arrow, and an
// arrow's class follows from its verdict alone (the rule the HTML, the heat map and Mermaid share).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EXEMPTIONS, PATH_IDS, PATHS, TOPOLOGY } from '../../scenarios/index.ts';
import { ARROW_CLASSES, ARROW_STYLES, arrowClass, stateText } from '../../scripts/lib/report/arrow-style.ts';
import { buildDiagram } from '../../scripts/lib/report/diagram.ts';
import { renderMermaid } from '../../scripts/lib/report/mermaid.ts';
import { profileMatrix } from '../lab/helpers/matrix.ts';

const ns = { namespace: 'ns1', serviceNamespace: 'svc1' };

test('every path and every exempt hop of the model is an arrow between boxes of the topology', () => {
  const d = buildDiagram({ scenario: ns, verdicts: [] });
  const nodes = new Set(d.nodes.map((n) => n.id));
  for (const id of PATH_IDS) {
    const e = d.edges.filter((x) => x.path === id);
    assert.is(e.length, 1, id);
    assert.is(e[0]!.from, PATHS[id].client);
    assert.is(e[0]!.to, PATHS[id].server);
    assert.is(e[0]!.cls, 'unchecked', 'no verdict: not checked');
  }
  for (const x of EXEMPTIONS) {
    assert.is(d.edges.filter((e) => e.exemption === x.id).length, x.hops.length, x.id);
    assert.ok(x.hops.length > 0, `${x.id} has something to draw`);
  }
  for (const e of d.edges) assert.ok(nodes.has(e.from) && nodes.has(e.to), e.id);
  // Namespaces come from the scenario; every box sits in one.
  const labels = d.groups.map((g) => g.label);
  assert.ok(labels.includes('ns1') && labels.includes('svc1'), labels.join());
  for (const n of d.nodes)
    assert.ok(
      d.groups.some((g) => g.id === n.group),
      n.id,
    );
  assert.equal(Object.keys(TOPOLOGY).sort(), [...nodes].sort());
});

test('arrow classes: encrypted, plain, warning, failure, inconclusive, not checked', () => {
  const v = (status: string, expected: string, observed?: string, basis = ['active']) => ({
    status,
    expected: { state: expected },
    ...(observed ? { observed } : {}),
    basis,
  });
  assert.is(arrowClass(v('pass', 'mtls', 'mtls')), 'mtls');
  assert.is(arrowClass(v('pass', 'tls', 'tls')), 'tls');
  assert.is(arrowClass(v('pass', 'https', 'https')), 'tls');
  assert.is(arrowClass(v('pass', 'plain', 'plain')), 'plain');
  assert.is(arrowClass(v('pass', 'tls')), 'tls', 'passive only: the expected state');
  assert.is(arrowClass(v('warn', 'tls', 'tls+plain')), 'warn');
  assert.is(arrowClass(v('fail', 'mtls', 'plain')), 'fail');
  assert.is(arrowClass(v('fail', 'mtls', undefined, [])), 'unchecked', 'no evidence at all');
  assert.is(arrowClass(v('inconclusive', 'tls')), 'inconclusive');
  assert.is(arrowClass(undefined), 'unchecked');
  assert.is(stateText(v('fail', 'mtls', 'plain')), 'plain (want mtls)');
  assert.is(stateText(v('warn', 'tls', 'tls+plain')), 'tls+plain');
  assert.is(
    new Set(ARROW_CLASSES.map((c) => ARROW_STYLES[c].colour)).size,
    ARROW_CLASSES.length,
    'colours differ',
  );
});

test('Mermaid chart: one link per arrow, styled with the colour of its verdict', async () => {
  const [plain, , , , , full] = await profileMatrix();
  for (const r of [plain!, full!]) {
    const d = buildDiagram(r);
    const m = renderMermaid(d);
    const links = m.split('\n').filter((l) => / -->\|| -\.->\|/.test(l));
    assert.is(links.length, d.edges.length);
    d.edges.forEach((e, i) => {
      const style = m.split('\n').find((l) => l.trim().startsWith(`linkStyle ${i} `));
      assert.ok(style?.includes(`stroke:${ARROW_STYLES[e.cls].colour}`), `${e.id}: ${style}`);
      if (e.path) {
        const v = r.verdicts.find((x) => x.path === e.path);
        assert.is(e.cls, arrowClass(v), e.id);
      }
    });
  }
  const fullDiagram = buildDiagram(full!);
  assert.is(fullDiagram.edges.find((e) => e.path === 'api->engine')?.cls, 'mtls');
  assert.is(fullDiagram.edges.find((e) => e.path === 'engine->knative')?.cls, 'warn');
  assert.is(buildDiagram(plain!).edges.find((e) => e.path === 'api->engine')?.cls, 'plain');
});

test.run();
