// The installed command: bin/regentctl.mjs run as a child process, from the repository root and from elsewhere.
import { execFile, spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { ExitCode } from './exit-codes.js';
import { FAKE_TOKEN, type FakeAdmin, startFakeAdmin } from './testing/fake-admin.js';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const bin = join('tools', 'regentctl', 'bin', 'regentctl.mjs');

interface Exit {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function regentctl(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Exit> {
  return new Promise((done) => {
    const cwd = options.cwd ?? repoRoot;
    const script = cwd === repoRoot ? bin : join(repoRoot, bin);
    const env = { PATH: process.env.PATH ?? '', ...options.env };
    execFile(process.execPath, [script, ...args], { cwd, env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

let fake: FakeAdmin;
beforeAll(async () => {
  fake = await startFakeAdmin({
    watchEvents: async function* (_req, ctx) {
      yield { item: { case: 'resync', value: { index: 41n, groups: [] } } };
      await new Promise((resolve) => ctx.signal.addEventListener('abort', resolve));
    },
  });
});
afterAll(async () => {
  await fake.close();
});

describe('bin/regentctl.mjs', () => {
  it('prints the controller metadata as JSON, leader included', async () => {
    const r = await regentctl(['metadata', '--json', '--gateway', fake.address], {
      env: { REGENT_ADMIN_TOKEN: FAKE_TOKEN },
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(ExitCode.Ok);
    const json = JSON.parse(r.stdout);
    expect(json).toMatchObject({
      leaderId: '2',
      leaderAddress: '127.0.0.1:7102',
      isLeader: false,
      term: '7',
    });
    expect(json.peers).toHaveLength(3);
  });

  it('exits 3 without the admin token, from any directory', async () => {
    const r = await regentctl(['metadata', '--gateway', fake.address], { cwd: tmpdir() });
    expect(r.code).toBe(ExitCode.Unauthorized);
    expect(r.stderr).toContain('regentctl: unauthenticated');
  });

  it('exits 2 on a usage error', async () => {
    const r = await regentctl(['elect']);
    expect(r.code).toBe(ExitCode.Usage);
    expect(r.stderr).toContain("missing required argument 'group'");
  });

  it('ends `watch` with exit 0 when Ctrl-C reaches its process group', async () => {
    const child = spawn(process.execPath, [bin, 'watch', '--gateway', fake.address], {
      cwd: repoRoot,
      env: { PATH: process.env.PATH ?? '', REGENT_ADMIN_TOKEN: FAKE_TOKEN },
      detached: true, // its own process group, as a shell gives a foreground job
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGKILL');
    });
    let stdout = '';
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    await new Promise<void>((started) =>
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('resync at #41')) started();
      }),
    );
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(ExitCode.Ok);
    expect(stdout).toBe('resync at #41: 0 groups\n');
  });
});
