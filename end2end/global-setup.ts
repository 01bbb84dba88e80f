// Starts the vLLM stand-in and the release server (both built by .ci/test) on free ports with a
// fresh SQLite file, and stops them when the run ends.
import { spawn, ChildProcess } from 'node:child_process';
import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
const targetDir = process.env.CARGO_TARGET_DIR ?? join(root, 'target');

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => ok(port));
    });
    srv.on('error', fail);
  });
}

function need(path: string): string {
  if (!existsSync(path)) throw new Error(`${path} is missing: build it first (see .ci/test)`);
  return path;
}

async function waitFor(url: string, what: string) {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not come up at ${url}`);
}

export default async function globalSetup() {
  const children: ChildProcess[] = [];

  const standinPort = await freePort();
  const standin = spawn(need(join(targetDir, 'release/examples/standin')), [String(standinPort)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  children.push(standin);
  const standinUrl = `http://127.0.0.1:${standinPort}`;
  await waitFor(`${standinUrl}/health`, 'the vLLM stand-in');

  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), 'hybrid-chat-e2e-'));

  // A service-account key made for this run; its token_uri is the stand-in's OAuth endpoint,
  // so gcp_auth's real flow (sign a JWT, exchange it for a token) runs end to end.
  const { privateKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  const keyFile = join(data, 'service-account.json');
  writeFileSync(
    keyFile,
    JSON.stringify({
      type: 'service_account',
      project_id: 'standin-project',
      private_key_id: 'e2e-key',
      private_key: privateKey,
      client_email: 'hybrid-chat@standin-project.iam.gserviceaccount.com',
      client_id: '1',
      token_uri: `${standinUrl}/token`,
    }),
  );
  const startServer = async (port: number, db: string, extra: Record<string, string>) => {
    const server = spawn(need(join(targetDir, 'release/hybrid-chat')), [], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: {
        PATH: process.env.PATH,
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: need(join(root, 'target/site')),
        LEPTOS_OUTPUT_NAME: 'hybrid-chat',
        SQLITE_PATH: join(data, db),
        VLLM_BASE_URL: standinUrl,
        VERTEX_BASE_URL: standinUrl,
        GOOGLE_APPLICATION_CREDENTIALS: keyFile,
        MODEL_TIMEOUT_SECS: '5',
        MODEL_PROBE_INTERVAL_SECS: '1',
        RUST_LOG: 'warn',
        ...extra,
      },
    });
    children.push(server);
    const url = `http://127.0.0.1:${port}`;
    await waitFor(`${url}/readyz`, 'hybrid-chat');
    return url;
  };
  const baseUrl = await startServer(port, 'chat.sqlite3', {});

  // A second server behind "Identity-Aware Proxy": it trusts tokens signed by a key made here
  // and published at the stand-in's JWKS endpoint, and limits each person to 3 turns an hour (one fixed window for the whole run).
  const iapKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...iapKey.publicKey.export({ format: 'jwk' }), kid: 'e2e-iap', alg: 'ES256', use: 'sig' };
  const published = await fetch(`${standinUrl}/iap/jwk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ keys: [jwk] }),
  });
  if (!published.ok) throw new Error('could not publish the IAP test key');
  const audience = '/projects/123456/global/backendServices/42';
  const b64 = (v: object | Buffer) =>
    (Buffer.isBuffer(v) ? v : Buffer.from(JSON.stringify(v))).toString('base64url');
  const token = (email: string) => {
    const now = Math.floor(Date.now() / 1000);
    const head = b64({ alg: 'ES256', typ: 'JWT', kid: 'e2e-iap' });
    const body = b64({
      iss: 'https://cloud.google.com/iap', aud: audience, sub: `accounts.google.com:${email}`,
      email, iat: now, exp: now + 3600,
    });
    const signature = sign('sha256', Buffer.from(`${head}.${body}`), {
      key: iapKey.privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    return `${head}.${body}.${b64(signature)}`;
  };
  process.env.HC_IAP_URL = await startServer(await freePort(), 'iap.sqlite3', {
    IAP_AUDIENCE: audience,
    IAP_JWKS_URL: `${standinUrl}/iap/jwk`,
    TURNS_PER_WINDOW: '3',
    TURN_WINDOW_SECS: '3600',
  });
  for (const who of ['alice', 'bob', 'carol']) {
    process.env[`HC_TOKEN_${who.toUpperCase()}`] = token(`${who}@example.com`);
  }
  // Credentials are looked for in the background; wait until Gemini can be picked.
  const deadline = Date.now() + 20_000;
  while (!(await (await fetch(baseUrl)).text()).includes('<option value="gemini">')) {
    if (Date.now() > deadline) throw new Error('Gemini never became available');
    await new Promise((r) => setTimeout(r, 100));
  }

  process.env.HC_BASE_URL = baseUrl;
  process.env.STANDIN_URL = standinUrl;

  return async () => {
    for (const child of children) child.kill('SIGTERM');
  };
}
