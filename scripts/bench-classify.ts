// npm run bench:classify -- [--size-mb N] [--mss N] [--file path] [--keep] [--runs N]
// Throughput of the capture classifier on a capture of at least 100 MB made here, side by side
// with tshark reading the same file with a TLS display filter. The capture is synthetic but
// shaped like a node capture: Linux cooked v2 (`tcpdump -i any`), many concurrent flows
// interleaved packet by packet (TLS 1.2/1.3 with application data, HTTP/1, h2c gRPC, Postgres),
// MSS-sized segments with a pure ACK for every second one (delayed ACKs). Not a test: timings vary by machine; the printed figures are the result.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { UsageError } from '../scenarios/errors.ts';
import { analyzeCaptureFile } from './lib/capture/analyze.ts';
import {
  clientHello,
  frame,
  pcapHeader,
  pcapRecord,
  serverHello,
  TcpConversation,
  tlsRecord,
} from './lib/capture/craft.ts';
import { parseCli } from './lib/cli/args.ts';
import { runMain } from './lib/cli/main.ts';

const H2_PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');
const RANDOM = randomBytes(4 * 1024 * 1024);
let randomAt = 0;
function random(n: number): Buffer {
  if (randomAt + n > RANDOM.length) randomAt = 0;
  const b = RANDOM.subarray(randomAt, randomAt + n);
  randomAt += n;
  return b;
}

function h2frame(type: number, flags: number, stream: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(9);
  h.writeUIntBE(payload.length, 0, 3);
  h[3] = type;
  h[4] = flags;
  h.writeUInt32BE(stream, 5);
  return Buffer.concat([h, payload]);
}

type Kind = 'tls13' | 'tls12' | 'http1' | 'grpc' | 'postgres';

/** One flow's IP packets, by kind, with `size` bytes of payload (roughly) each way. */
function makeFlow(kind: Kind, n: number, size: number): Buffer[] {
  const client = { ip: `10.244.${(n >> 8) & 255}.${n & 255}`, port: 32768 + (n % 28000) };
  const ip = (last: number) => `10.244.200.${last}`;
  const chunks = (total: number, piece: number, make: (n: number) => Buffer) => {
    const out: Buffer[] = [];
    for (let left = total; left > 0; left -= piece) out.push(make(Math.min(piece, left)));
    return Buffer.concat(out);
  };
  switch (kind) {
    case 'tls13':
    case 'tls12': {
      const c = new TcpConversation(client, { ip: ip(1), port: 443 }).handshake();
      c.send('c', clientHello({ sni: `svc-${n % 50}.direktiv-services-direktiv`, alpn: ['h2', 'http/1.1'] }));
      c.send(
        's',
        Buffer.concat([serverHello(kind === 'tls13' ? 0x0304 : 0x0303), tlsRecord(20, Buffer.from([1]))]),
      );
      c.send(
        'c',
        chunks(size / 4, 16384, (k) => tlsRecord(23, random(k))),
        MSS,
        2,
      );
      c.send(
        's',
        chunks(size, 16384, (k) => tlsRecord(23, random(k))),
        MSS,
        2,
      );
      return c.close().packets;
    }
    case 'http1': {
      const c = new TcpConversation(client, { ip: ip(2), port: 8080 }).handshake();
      const body = Buffer.from(
        `{"namespace":"demo","workflow":"wf-${n}","items":[${'"x",'.repeat(Math.max(1, size / 8))}"y"]}`,
      );
      c.send(
        'c',
        Buffer.from(
          `GET /api/namespaces/demo/tree/wf-${n} HTTP/1.1\r\nHost: api\r\nAccept: application/json\r\n\r\n`,
        ),
      );
      c.send(
        's',
        Buffer.concat([
          Buffer.from(
            `HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
          ),
          body,
        ]),
        MSS,
        2,
      );
      return c.close().packets;
    }
    case 'grpc': {
      const c = new TcpConversation(client, { ip: ip(3), port: 7777 }).handshake();
      const headers = Buffer.concat([
        Buffer.from([0x83, 0x86, 0x00, 5]),
        Buffer.from(':path'),
        Buffer.from([24]),
        Buffer.from('/direktiv_flow.Flow/Send'),
        Buffer.from([0x00, 12]),
        Buffer.from('content-type'),
        Buffer.from([16]),
        Buffer.from('application/grpc'),
      ]);
      const msg = (k: number) => {
        const m = Buffer.alloc(5 + k, 0x41);
        m.writeUInt32BE(k, 1);
        return h2frame(0, 0, 1, m);
      };
      c.send('c', Buffer.concat([H2_PREFACE, h2frame(4, 0, 0, Buffer.alloc(0)), h2frame(1, 4, 1, headers)]));
      c.send('c', chunks(size / 4, 16000, msg), MSS, 2);
      c.send('s', Buffer.concat([h2frame(4, 0, 0, Buffer.alloc(0)), chunks(size, 16000, msg)]), MSS, 2);
      return c.close().packets;
    }
    case 'postgres': {
      const c = new TcpConversation(client, { ip: ip(4), port: 5432 }).handshake();
      const startup = Buffer.from('\0\0\0\x29\0\x03\0\0user\0direktiv\0database\0direktiv\0\0', 'latin1');
      c.send('c', Buffer.from('0000000804d2162f', 'hex')).send('s', Buffer.from('N')).send('c', startup);
      const row = Buffer.from('D\0\0\0\x1e\0\x01\0\0\0\x14some plaintext value', 'latin1');
      c.send(
        's',
        chunks(size, row.length, () => row),
        MSS,
        2,
      );
      return c.close().packets;
    }
  }
}

/** Segment size (set by --mss): smaller segments mean more packets per MiB, the harder case. */
let MSS = 1448;

const KINDS: Kind[] = ['tls13', 'tls13', 'tls13', 'tls12', 'http1', 'http1', 'grpc', 'postgres'];

/** Writes a Linux cooked v2 capture of at least `targetBytes`; returns flows made per kind. */
function generate(path: string, targetBytes: number): Record<Kind, number> {
  const made: Record<Kind, number> = { tls13: 0, tls12: 0, http1: 0, grpc: 0, postgres: 0 };
  const fd = openSync(path, 'w');
  let written = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    const b = Buffer.concat(pending);
    writeSync(fd, b);
    written += b.length;
    pending = [];
    pendingBytes = 0;
  };
  const emit = (b: Buffer) => {
    pending.push(b);
    pendingBytes += b.length;
    if (pendingBytes > 8 * 1024 * 1024) flush();
  };
  emit(pcapHeader({ linkType: 276 }));
  // 48 concurrent flows, interleaved packet by packet, replaced as they finish.
  const active: Array<{ packets: Buffer[]; at: number }> = [];
  let n = 0;
  let ts = 1_700_000_000;
  const next = () => {
    const kind = KINDS[n % KINDS.length]!;
    made[kind]++;
    const size = 4096 + ((n * 7919) % 600) * 1024; // 4 KB .. 600 KB, deterministic
    return { packets: makeFlow(kind, n++, size), at: 0 };
  };
  for (let i = 0; i < 48; i++) active.push(next());
  let done = false;
  while (active.length) {
    for (let i = 0; i < active.length; i++) {
      const f = active[i]!;
      ts += 0.00001;
      emit(pcapRecord({ ts, data: frame(276, f.packets[f.at++]!) }));
      if (f.at === f.packets.length) {
        if (!done && written + pendingBytes < targetBytes) active[i] = next();
        else {
          done = true;
          active.splice(i--, 1);
        }
      }
    }
  }
  flush();
  closeSync(fd);
  return made;
}

function tsharkVersion(): string | null {
  const r = spawnSync('tshark', ['-v'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0] ?? 'tshark';
}

async function main(): Promise<number> {
  const { values } = parseCli(process.argv.slice(2), {
    'size-mb': { type: 'string' },
    file: { type: 'string' },
    keep: { type: 'boolean' },
    runs: { type: 'string' },
    mss: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    process.stdout.write(
      'Usage: npm run bench:classify -- [--size-mb 110] [--mss 1448] [--file path] [--keep] [--runs 3]\n' +
        'Makes a synthetic capture (or reuses --file if it exists), times the classifier on it, then\n' +
        'tshark -n -r <file> -Y "tls.handshake.type == 1" on the same file, and prints the ratio.\n',
    );
    return 0;
  }
  const sizeMb = Number(values['size-mb'] ?? 110);
  const runs = Number(values.runs ?? 3);
  MSS = Number(values.mss ?? 1448);
  if (!Number.isInteger(MSS) || MSS < 64 || MSS > 65000)
    throw new UsageError('--mss must be 64..65000', 'e.g. --mss 536');
  if (!(sizeMb >= 1) || !(runs >= 1))
    throw new UsageError('--size-mb and --runs must be positive numbers', 'e.g. --size-mb 110 --runs 3');
  const file = values.file ?? join(tmpdir(), 'bench-classify', 'bench.pcap');
  mkdirSync(dirname(file), { recursive: true });
  let made: Record<Kind, number> | null = null;
  if (!existsSync(file)) {
    const t = Date.now();
    made = generate(file, sizeMb * 1024 * 1024);
    process.stdout.write(
      `generated ${file} in ${((Date.now() - t) / 1000).toFixed(1)} s: flows ${JSON.stringify(made)}\n`,
    );
  } else {
    process.stdout.write(`reusing ${file}\n`);
  }
  const size = statSync(file).size;
  const mb = size / 1024 / 1024;
  process.stdout.write(`capture: ${mb.toFixed(1)} MiB\n`);

  const times: number[] = [];
  let tlsFlows = 0;
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    const a = analyzeCaptureFile(file);
    times.push(Number(process.hrtime.bigint() - t) / 1e9);
    tlsFlows = a.flows.filter((f) => f.class === 'tls').length;
    if (i === 0) {
      const byClass: Record<string, number> = {};
      for (const f of a.flows) byClass[f.class] = (byClass[f.class] ?? 0) + 1;
      process.stdout.write(
        `classifier: ${a.capture.packets} packets, ${a.flows.length} flows ${JSON.stringify(byClass)}\n`,
      );
      if (made && tlsFlows !== made.tls12 + made.tls13) {
        process.stdout.write(
          `WARNING: ${tlsFlows} TLS flows classified, ${made.tls12 + made.tls13} generated\n`,
        );
      }
    }
  }
  const best = Math.min(...times);
  process.stdout.write(
    `classifier: best of ${runs}: ${best.toFixed(2)} s = ${(mb / best).toFixed(0)} MiB/s (runs: ${times.map((t) => t.toFixed(2)).join(', ')} s)\n`,
  );

  const version = tsharkVersion();
  if (version === null) {
    process.stdout.write(
      'tshark: not found, no comparison made (install it: apt-get install tshark). The classifier figures above stand.\n',
    );
  } else {
    const filter = 'tls.handshake.type == 1';
    const t = process.hrtime.bigint();
    const r = spawnSync('tshark', ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'tcp.stream'], {
      encoding: 'utf8',
      maxBuffer: 256 * 1024 * 1024,
    });
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    if (r.status !== 0) {
      process.stdout.write(`tshark failed (exit ${r.status}): ${r.stderr.trim().split('\n').at(-1)}\n`);
    } else {
      const hellos = r.stdout.split('\n').filter((l) => l.trim()).length;
      process.stdout.write(
        `tshark (${version}) -Y "${filter}": ${secs.toFixed(2)} s = ${(mb / secs).toFixed(0)} MiB/s, ${hellos} ClientHellos (classifier: ${tlsFlows} TLS flows)\n`,
      );
      process.stdout.write(
        `ratio: the classifier is ${(secs / best).toFixed(1)}x faster than tshark on this file\n`,
      );
    }
  }
  if (!values.keep && !values.file) rmSync(dirname(file), { recursive: true, force: true });
  return 0;
}

await runMain(main);
