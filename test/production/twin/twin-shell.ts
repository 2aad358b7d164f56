/**
 * What every part of the production twin shares: its paths, progress lines,
 * the Docker CLI, and the Docker engine it needs (found, or started when the
 * machine has one installed but not running).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../../../scripts/lib/root.mjs';

export { ROOT };

export const TWIN_DIR = join(ROOT, 'test', 'production', 'twin');
/** Caches and logs of the twin (ignored by git). */
export const TOOLS_DIR = join(ROOT, '.tools', 'prodtwin');

export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Runs the Docker CLI; returns stdout. @throws with stderr on failure. */
export function docker(args: string[], options: { input?: string } = {}): string {
  const r = spawnSync('docker', args, { encoding: 'utf8', input: options.input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`docker ${args[0]}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`docker ${args.join(' ').slice(0, 200)} exited ${r.status}: ${r.stderr.trim().slice(0, 500)}`);
  return r.stdout;
}

export function dockerOk(args: string[]): boolean {
  return spawnSync('docker', args, { stdio: 'ignore' }).status === 0;
}

function engineAnswers(): boolean {
  return dockerOk(['info', '--format', '{{.ServerVersion}}']);
}

/** Why the twin cannot run here, or null when a Docker engine answers (started here if it was installed but stopped). */
export async function ensureDockerEngine(): Promise<string | null> {
  if (spawnSync('sh', ['-c', 'command -v docker'], { stdio: 'ignore' }).status !== 0) return 'no Docker CLI (apt-get install docker.io)';
  if (engineAnswers()) return null;
  const haveDaemon = spawnSync('sh', ['-c', 'command -v dockerd'], { stdio: 'ignore' }).status === 0;
  if (!haveDaemon || process.getuid?.() !== 0) return 'no Docker engine answers (install docker.io and start dockerd)';
  mkdirSync(TOOLS_DIR, { recursive: true });
  const logFile = join(TOOLS_DIR, 'dockerd.log');
  progress(`twin: starting dockerd (log ${logFile})`);
  // A fixed bridge address: without one, Docker 20.10 reports no gateway and workerd cannot reach its sidecar.
  const daemon = spawn('dockerd', ['--bip', '172.17.0.1/16'], { detached: true, stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')] });
  daemon.unref();
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 500));
    if (engineAnswers()) return null;
  }
  return `dockerd did not answer within 30 s (see ${logFile})`;
}

/** The Docker bridge's gateway address (where containers reach this host). */
export function bridgeGateway(): string {
  const gateway = docker(['network', 'inspect', 'bridge', '--format', '{{range .IPAM.Config}}{{.Gateway}}{{end}}']).trim();
  if (!gateway) throw new Error('the Docker bridge has no gateway address: start dockerd with --bip 172.17.0.1/16');
  return gateway;
}
