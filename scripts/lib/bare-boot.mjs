/**
 * One bare gateway boot for the benches: `openclaw gateway run` alone in an
 * image at an instance type's CPU and memory limits, timed inside by
 * scripts/bare-gateway-boot.mjs (start → /startupz, its CPU-seconds).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from './root.mjs';

/**
 * @param {string} image
 * @param {{ vcpu: number, memoryMiB: number }} size
 * @param {{ baseUrl: string, model: string }} model the OpenAI-compatible endpoint the gateway is configured with
 * @returns {{ result: Record<string, unknown> | null, failure: string }} the boot's figures, or why there are none
 */
export function bareGatewayBoot(image, size, model) {
  const r = spawnSync(
    'docker',
    [
      'run',
      '--rm',
      `--cpus=${size.vcpu}`,
      `--memory=${size.memoryMiB}m`,
      '-e',
      'OPENCLAW_HOME=/home/openclaw',
      '-e',
      `OPENAI_BASE_URL=${model.baseUrl}`,
      '-e',
      `OPENAI_MODEL=${model.model}`,
      '-v',
      `${join(ROOT, 'scripts')}:/bench:ro`,
      '--entrypoint',
      'node',
      image,
      '/bench/bare-gateway-boot.mjs',
    ],
    { encoding: 'utf8', timeout: 600_000 },
  );
  const line = r.stdout.trim().split('\n').at(-1) ?? '';
  if (line.startsWith('{')) return { result: JSON.parse(line), failure: '' };
  const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' | ').slice(0, 400);
  return { result: null, failure: `exit ${r.status}${r.error ? `, ${r.error.message}` : ''}: ${why}` };
}
