// Starts the test stack (testkit's `stack` binary, built by .ci/test): the model stand-ins and
// two release servers, one open and one behind a stand-in Identity-Aware Proxy. The stack is
// the same Rust code the server tests use, so environment, keys and tokens have one source.
// It prints one JSON line of variables for the tests and stops when the run ends.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

const root = resolve(__dirname, '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');

function need(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: build it first (see .ci/test)`);
  return path;
}

export default async function globalSetup() {
  const site = need(resolve(root, process.env.LEPTOS_SITE_ROOT ?? 'target/site'));
  // stdin stays open: the stack ends when it closes, so it cannot outlive a crashed run.
  const stack = spawn(need(join(targetDir, 'release/stack')), [site], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const vars = await new Promise<Record<string, string>>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error('the test stack did not start in 60 s')), 60_000);
    stack.once('exit', (code) => fail(new Error(`the test stack exited (${code}) before it was ready`)));
    createInterface({ input: stack.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      ok(JSON.parse(line));
    });
  });
  Object.assign(process.env, vars);

  return async () => {
    stack.kill('SIGTERM');
  };
}
