/** Runs the project's clawctl (bin/clawctl) as a user would, for the e2e tests. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../scripts/lib/local-stack.ts';

export interface ClawctlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** clawctl with `args` and `env` on top of this process's environment; killed after `timeoutMs`. */
export function clawctl(args: string[], env: Record<string, string> = {}, timeoutMs = 300_000): Promise<ClawctlRun> {
  return new Promise((resolve) => {
    const child = spawn('sh', [join(ROOT, 'bin', 'clawctl'), ...args], {
      env: { ...process.env, OPENCLAW_ONDEMAND_SKIP_INSTALL: '1', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
