// Runs the given uvu test files in this one process (what `uvu` does for a single folder),
// so the whole suite pays tsx's start-up once. Used by scripts/run-tests.mjs.
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const g = globalThis as unknown as {
  UVU_DEFER: number;
  UVU_INDEX: number;
  UVU_QUEUE: unknown[][];
  /** Teardowns of fixtures shared by several files (the control-plane tier's one cluster). */
  UVU_TEARDOWN?: (() => Promise<void>)[];
};
g.UVU_DEFER = 1;
const uvu = await import('uvu');
let idx = 0;
for (const file of process.argv.slice(2)) {
  g.UVU_INDEX = idx++;
  g.UVU_QUEUE.push([file]);
  await import(pathToFileURL(resolve(file)).href);
}
await uvu.exec(false);
for (const teardown of g.UVU_TEARDOWN ?? []) {
  await teardown().catch((e: Error) => process.stderr.write(`teardown: ${e.message}\n`));
}
