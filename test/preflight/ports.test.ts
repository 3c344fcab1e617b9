import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  checkHostPorts,
  checkPortFree,
  ingressPorts,
  PreflightError,
} from '../../scripts/lib/preflight/index.ts';

async function listen(): Promise<Server> {
  const s = createServer();
  await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
  return s;
}

test('port in use (really bound on 127.0.0.1): the message names the port and the option to change it', async () => {
  const busy = await listen();
  const port = (busy.address() as AddressInfo).port;
  try {
    const problems = await checkHostPorts(ingressPorts(port, port + 1 === 65536 ? port - 1 : port + 1));
    const forHttp = problems.find((p) => p.message.includes(String(port)));
    assert.ok(forHttp, 'the busy port is reported');
    assert.instance(forHttp, PreflightError);
    assert.is(forHttp!.check, 'ports');
    assert.is(
      forHttp!.message,
      `host port ${port} on 127.0.0.1 (the ingress HTTP mapping to the kind node) is already in use.`,
    );
    assert.match(forHttp!.hint, '--http-port <port>');
  } finally {
    await new Promise<void>((done) => busy.close(() => done()));
  }
});

test('a free port passes, and is free again afterwards', async () => {
  const s = await listen();
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((done) => s.close(() => done()));
  await checkPortFree({ port, purpose: 'test', flag: '--https-port' });
  await checkPortFree({ port, purpose: 'test', flag: '--https-port' }); // released by the first check
});

test('the same port for HTTP and HTTPS is reported', async () => {
  const s = await listen();
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((done) => s.close(() => done()));
  const problems = await checkHostPorts(ingressPorts(port, port));
  assert.is(problems.length, 1);
  assert.is(problems[0]!.message, `--http-port and --https-port are both ${port}.`);
});

test.run();
