/**
 * Another Unix account on this machine, for the local mode's hostile tests:
 * `openclaw-other` (created with useradd when missing), which runs
 * test/support/other-account-probe.mjs through `setpriv` with its own uid,
 * gid and no supplementary groups. Needs root (CI runs as root); without it,
 * `otherAccount()` says why and the tests skip loudly.
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, chmodSync, constants, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../../scripts/lib/local-stack.ts';

export const OTHER_ACCOUNT = 'openclaw-other';

export interface OtherAccount {
  name: string;
  uid: number;
  gid: number;
  /** Runs the probes as this account; their results, in order. */
  probe(probes: Array<Record<string, unknown>>): Promise<unknown[]>;
}

function idsOf(name: string): { uid: number; gid: number } | null {
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
    return Number.isInteger(uid) && Number.isInteger(gid) ? { uid, gid } : null;
  } catch {
    return null;
  }
}

/** The other account, or the reason there is none here (not root, no setpriv, node not executable by it). */
export function otherAccount(): OtherAccount | string {
  if (process.getuid?.() !== 0) return 'these tests need root, to run a client as a second Unix account (CI runs as root)';
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'setpriv (util-linux) is not installed';
  }
  let ids = idsOf(OTHER_ACCOUNT);
  if (!ids) {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', OTHER_ACCOUNT], { stdio: 'pipe' });
    } catch (error) {
      return `cannot create the account ${OTHER_ACCOUNT}: ${(error as Error).message}`;
    }
    ids = idsOf(OTHER_ACCOUNT);
    if (!ids) return `the account ${OTHER_ACCOUNT} was not created`;
  }
  // The probe, where the other account can read it (the checkout may sit in a home it cannot enter).
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-other-probe-'));
  chmodSync(dir, 0o755);
  const script = join(dir, 'probe.mjs');
  copyFileSync(join(ROOT, 'test', 'support', 'other-account-probe.mjs'), script);
  chmodSync(script, 0o644);
  const { uid, gid } = ids;
  const asOther = ['--reuid', String(uid), '--regid', String(gid), '--clear-groups', '--', process.execPath];
  try {
    accessSync(process.execPath, constants.R_OK);
    execFileSync('setpriv', [...asOther, '-e', '0'], { stdio: 'pipe', cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir } });
  } catch (error) {
    return `${process.execPath} does not run as ${OTHER_ACCOUNT}: ${(error as Error).message}`;
  }
  return {
    name: OTHER_ACCOUNT,
    uid,
    gid,
    probe: (probes) =>
      new Promise((resolve, reject) => {
        const child = spawn('setpriv', [...asOther, script], { cwd: dir, env: { PATH: process.env.PATH ?? '', HOME: dir }, stdio: ['pipe', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d.toString()));
        child.stderr.on('data', (d: Buffer) => (err += d.toString()));
        child.on('error', reject);
        child.on('exit', (code) => {
          try {
            const parsed = JSON.parse(out) as { uid: number; results: unknown[] };
            if (parsed.uid !== uid) return reject(new Error(`the probe ran as uid ${parsed.uid}, not ${uid}`));
            resolve(parsed.results);
          } catch {
            reject(new Error(`the probe exited ${code}: ${err || out}`));
          }
        });
        child.stdin.end(JSON.stringify(probes));
      }),
  };
}
