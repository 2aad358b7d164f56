/**
 * SandboxRuntime against a recording fake of the Sandbox it drives: which
 * platform call each runtime operation makes, in which order, with which
 * arguments. (The production twin runs the same code against a real
 * container.)
 */
import { describe, expect, it } from 'vitest';
import { CONTAINER_CONTRACT_VERSION, GATEWAY_PID_FILE, READINESS_PATH, START_PROCESS_ID, TERMINATING_FILE } from '../../src/contract/boot-status.ts';
import { RESTORE_DIR, SNAPSHOT_DIR, START_SILENCE_MS, STATUS_READ_INTERVAL_MS, SandboxRuntime, type SandboxApi } from '../../src/runtime/sandbox-runtime.ts';

interface Recorder {
  calls: string[];
  running: boolean;
  gatewayAnswers: number | null;
  processStatus: string;
  backupHandle: { id: string; dir: string; localBucket?: boolean };
  lastBackupOptions: Record<string, unknown> | null;
  lastRestore: Record<string, unknown> | null;
  /** The start script's status file (null: not written). */
  statusFile: string | null;
  /** The start process's pid as the Sandbox reports it (undefined: none yet). */
  pid?: number;
  /** The init's termination marker (null: none). */
  terminating: string | null;
}

function fakeHost(overrides: Partial<Recorder> = {}) {
  const r: Recorder = {
    calls: [],
    running: true,
    gatewayAnswers: 200,
    processStatus: 'running',
    backupHandle: { id: '6f1c2b4e-0000-4000-8000-000000000001', dir: SNAPSHOT_DIR },
    lastBackupOptions: null,
    lastRestore: null,
    statusFile: `{"phase":"starting-gateway","at":"","contract":${CONTAINER_CONTRACT_VERSION}}`,
    terminating: null,
    ...overrides,
  };
  const host: SandboxApi = {
    startProcess: async () => {
      r.calls.push('startProcess');
      r.processStatus = 'running';
    },
    getProcess: async (id) => {
      r.calls.push(`getProcess ${id}`);
      return { status: r.processStatus, exitCode: r.processStatus === 'running' ? null : 0, pid: r.pid };
    },
    readFile: async (path) => {
      r.calls.push(`readFile ${path}`);
      if (path === TERMINATING_FILE) {
        if (r.terminating === null) throw new Error(`ENOENT: ${path}`);
        return { content: r.terminating };
      }
      if (r.statusFile === null) throw new Error(`File not found: ${path}`);
      return { content: r.statusFile };
    },
    containerFetch: async (request, port) => {
      r.calls.push(`containerFetch ${port} ${new URL(request.url).pathname} ${request.headers.get('upgrade') ?? ''}`.trim());
      return new Response('from the gateway');
    },
    probePort: async (port, path) => {
      r.calls.push(`probePort ${port} ${path}`);
      return r.gatewayAnswers;
    },
    stopContainer: async () => {
      r.calls.push('stopContainer');
      r.running = false;
    },
    containerRunning: () => r.running,
    startContainer: async () => {
      r.calls.push('startContainer');
      r.running = true;
    },
    exec: async (command) => {
      r.calls.push(`exec ${command}`);
      if (command.startsWith('kill -TERM')) r.processStatus = 'completed';
      if (command.includes('snapshot-state.ts snapshot'))
        return { exitCode: 0, stdout: '{"changed":true,"fingerprint":"abcdef0123456789","files":3}\n', stderr: '' };
      return { exitCode: 0, stdout: '', stderr: '' };
    },
    createBackup: async (options) => {
      r.calls.push('createBackup');
      r.lastBackupOptions = options;
      return { ...r.backupHandle, ...(options.localBucket ? { localBucket: true } : {}) };
    },
    restoreBackup: async (backup) => {
      r.calls.push('restoreBackup');
      r.lastRestore = backup as unknown as Record<string, unknown>;
    },
  };
  return { host, r };
}

const options = { gatewayPort: 18789, backupTransfer: 'presigned' as const, drainTimeoutMs: 2_000 };

describe('SandboxRuntime', () => {
  describe('fetch', () => {
    it('should send a WebSocket upgrade through containerFetch, as an HTTP request is', async () => {
      const { host, r } = fakeHost();
      const runtime = new SandboxRuntime(host, options);
      const answer = await runtime.fetch(new Request('https://poc.example.com/ws', { headers: { upgrade: 'websocket' } }));
      expect(await answer.text()).toBe('from the gateway');
      expect(r.calls).toEqual(['containerFetch 18789 /ws websocket']);
    });

    it('should refuse, without starting anything, when the container is not running', async () => {
      const { host, r } = fakeHost({ running: false });
      const runtime = new SandboxRuntime(host, options);
      await expect(runtime.fetch(new Request('https://poc.example.com/v1/models'))).rejects.toMatchObject({ code: 'runtime_unreachable' });
      expect(r.calls).toEqual([]);
    });
  });

  describe('probe', () => {
    it('should call a gateway that answers ready with one request to its port and nothing else', async () => {
      const { host, r } = fakeHost();
      expect(await new SandboxRuntime(host, options).probe()).toEqual({ status: 'ready' });
      expect(r.calls).toEqual([`probePort 18789 ${READINESS_PATH}`]);
    });

    it('should read the boot phase only while the gateway does not answer yet', async () => {
      const { host, r } = fakeHost({ gatewayAnswers: null });
      expect(await new SandboxRuntime(host, options).probe()).toEqual({ status: 'starting', phase: 'starting-gateway' });
      expect(r.calls).toContain(`getProcess ${START_PROCESS_ID}`);
    });
  });

  describe('probe while booting', () => {
    it('should ask the gateway port at every probe but read the start script status at most once a second', async () => {
      const { host, r } = fakeHost({ gatewayAnswers: null });
      let now = 0;
      const runtime = new SandboxRuntime(host, options, () => now);
      for (let i = 0; i < 10; i++) {
        expect(await runtime.probe()).toMatchObject({ status: 'starting', phase: 'starting-gateway' });
        now += 100; // a 100 ms poll
      }
      expect(r.calls.filter((c) => c.startsWith('probePort'))).toHaveLength(10);
      expect(r.calls.filter((c) => c.startsWith('readFile'))).toHaveLength(1);
      await runtime.probe();
      expect(r.calls.filter((c) => c.startsWith('readFile'))).toHaveLength(2);
      r.gatewayAnswers = 200;
      expect(await runtime.probe()).toEqual({ status: 'ready' });
    });

    it('should fail the boot, retryable and saying both versions, when the container speaks another contract (a rollout under way)', async () => {
      for (const statusFile of ['{"phase":"starting-gateway","at":""}', `{"phase":"configuring","at":"","contract":${CONTAINER_CONTRACT_VERSION + 1}}`]) {
        const { host } = fakeHost({ gatewayAnswers: null, statusFile });
        const probe = await new SandboxRuntime(host, options).probe();
        expect(probe).toMatchObject({ status: 'failed', retryable: true, error: { code: 'contract_mismatch' } });
        expect(probe.status === 'failed' && probe.error.message).toContain(`this Worker v${CONTAINER_CONTRACT_VERSION}`);
      }
    });

    it('should notice a start script that stopped at the next status read', async () => {
      const { host, r } = fakeHost({ gatewayAnswers: null });
      let now = 0;
      const runtime = new SandboxRuntime(host, options, () => now);
      await runtime.probe();
      r.processStatus = 'completed';
      now += 1_000;
      expect(await runtime.probe()).toMatchObject({ status: 'stopped' });
    });

    it('should fail the boot, retryable, when the start script it started has written no status for START_SILENCE_MS', async () => {
      const { host, r } = fakeHost({ gatewayAnswers: null, statusFile: null, processStatus: 'completed' });
      let now = 0;
      const runtime = new SandboxRuntime(host, options, () => now);
      await runtime.start({ agentId: 'default', attempt: 1, env: {} });
      expect(r.calls).toContain('startProcess');
      now += START_SILENCE_MS - STATUS_READ_INTERVAL_MS;
      expect(await runtime.probe()).toEqual({ status: 'starting', phase: 'launching' });
      now += STATUS_READ_INTERVAL_MS;
      const silent = await runtime.probe();
      expect(silent).toMatchObject({ status: 'failed', retryable: true, error: { code: 'runtime_start_failed' } });
      expect(silent.status === 'failed' && silent.error.message).toContain('wrote no status 60 s after it was started');
      expect(silent.status === 'failed' && silent.error.message).toContain('no pid: its shell never spawned it');
      r.pid = 4242;
      now += STATUS_READ_INTERVAL_MS;
      const withPid = await runtime.probe();
      expect(withPid.status === 'failed' && withPid.error.message).toContain('pid 4242');
    });

    it('should keep waiting on a slow start script that has written its status, and on one it did not start itself', async () => {
      // Written, then slow past START_SILENCE_MS: the boot deadline governs it, not the silence rule.
      const written = fakeHost({ gatewayAnswers: null, processStatus: 'completed' });
      let now = 0;
      const runtime = new SandboxRuntime(written.host, options, () => now);
      await runtime.start({ agentId: 'default', attempt: 1, env: {} });
      now += 3 * START_SILENCE_MS;
      expect(await runtime.probe()).toEqual({ status: 'starting', phase: 'starting-gateway' });
      // A start process found running (this runtime did not start it: no start time to measure silence from).
      const found = fakeHost({ gatewayAnswers: null, statusFile: null });
      const adopted = new SandboxRuntime(found.host, options, () => now);
      await adopted.start({ agentId: 'default', attempt: 1, env: {} });
      expect(found.r.calls).not.toContain('startProcess');
      now += 3 * START_SILENCE_MS;
      expect(await adopted.probe()).toEqual({ status: 'starting', phase: 'launching' });
    });
  });

  describe('terminationNotice', () => {
    it("should say when the container's init held a SIGTERM from the platform, and nothing otherwise", async () => {
      const { host, r } = fakeHost();
      const runtime = new SandboxRuntime(host, options);
      expect(await runtime.terminationNotice()).toBeNull();
      r.terminating = '2026-12-06T07:00:00.000Z\n';
      expect(await runtime.terminationNotice()).toBe('2026-12-06T07:00:00.000Z');
      r.terminating = 'x'.repeat(100_000);
      expect(await runtime.terminationNotice()).toBe('unknown time');
      r.running = false;
      expect(await runtime.terminationNotice()).toBeNull();
    });
  });

  describe('recover', () => {
    it('should find nothing to recover in a running container whose home is empty (a new container), and store no backup', async () => {
      const { host, r } = fakeHost();
      host.exec = async (command) => {
        r.calls.push(`exec ${command}`);
        return { exitCode: 0, stdout: '{"changed":true,"fingerprint":"e3b0c44298fc1c14","files":0}\n', stderr: '' };
      };
      expect(await new SandboxRuntime(host, options).recover({ fingerprint: 'older', atMs: 0 })).toBeNull();
      expect(r.calls.some((c) => c.startsWith('createBackup'))).toBe(false);
    });

    it('should look at nothing when the container is not running', async () => {
      const { host, r } = fakeHost({ running: false });
      expect(await new SandboxRuntime(host, options).recover(null)).toBeNull();
      expect(r.calls).toEqual([]);
    });
  });

  describe('provision', () => {
    it('should start a stopped container (not the gateway) and leave a running one alone', async () => {
      const { host, r } = fakeHost({ running: false });
      const runtime = new SandboxRuntime(host, options);
      await runtime.provision();
      await runtime.provision();
      expect(r.calls).toEqual(['startContainer']);
    });
  });

  describe('drain and stop', () => {
    it('should give the gateway its SIGTERM and wait for it to exit, leaving the container (and its disk) to the backup', async () => {
      const { host, r } = fakeHost();
      const runtime = new SandboxRuntime(host, options);
      const report = await runtime.drain();
      expect(report).toMatchObject({ drained: true, gatewayExitCode: 0 });
      expect(r.calls).toContain(`exec kill -TERM "$(cat ${GATEWAY_PID_FILE})"`);
      expect(r.calls).not.toContain('stopContainer');
      expect(r.running).toBe(true);
      await runtime.stop('sleep');
      expect(r.calls.at(-1)).toBe('stopContainer');
    });

    it('should give up waiting after the drain time when the gateway does not exit', async () => {
      const { host, r } = fakeHost();
      // SIGTERM ignored
      host.exec = async (command) => {
        r.calls.push(`exec ${command}`);
        return { exitCode: 0, stdout: '', stderr: '' };
      };
      const report = await new SandboxRuntime(host, { ...options, drainTimeoutMs: 300 }).drain();
      expect(report).toMatchObject({ drained: false });
      expect(report?.note).toMatch(/still draining after 300 ms/);
    });
  });

  describe('backup', () => {
    it('should archive the snapshot directory, through the R2 binding when so configured', async () => {
      const { host, r } = fakeHost();
      const archive = await new SandboxRuntime(host, { ...options, backupTransfer: 'binding' }).backup(null);
      expect(r.lastBackupOptions).toMatchObject({ dir: SNAPSHOT_DIR, localBucket: true });
      expect(archive?.handle).toMatchObject({ localBucket: true });
    });

    it('should use presigned transfers by default', async () => {
      const { host, r } = fakeHost();
      await new SandboxRuntime(host, options).backup(null);
      expect(r.lastBackupOptions).not.toHaveProperty('localBucket');
    });
  });

  describe('prepare', () => {
    it('should restore into its own directory, never the snapshot directory, and unmount it once copied', async () => {
      const { host, r } = fakeHost();
      const handle = { id: '6f1c2b4e-0000-4000-8000-000000000001', dir: SNAPSHOT_DIR };
      await new SandboxRuntime(host, options).prepare({ body: null, sha256: handle.id, handle });
      expect(RESTORE_DIR).not.toBe(SNAPSHOT_DIR);
      expect(r.lastRestore).toMatchObject({ id: handle.id, dir: RESTORE_DIR });
      const apply = r.calls.findIndex((c) => c.includes(`apply ${RESTORE_DIR}`));
      const unmount = r.calls.findIndex((c) => c.includes(`fusermount3 -uz ${RESTORE_DIR}`));
      expect(apply).toBeGreaterThan(r.calls.indexOf('restoreBackup'));
      expect(unmount).toBeGreaterThan(apply);
    });
  });
});
