/**
 * A Durable Object context with a fake `ctx.container`, for Node tests of the
 * production Sandbox class (the pattern of @cloudflare/containers' own
 * tests): SQL storage on node:sqlite, KV on a Map, an alarm slot, and a
 * container whose start/signal/destroy/monitor behave like the platform's
 * (start flips `running`, a SIGTERM or destroy ends it and resolves monitor()).
 */
import { DatabaseSync } from 'node:sqlite';

export interface FakeContainerControl {
  running: boolean;
  starts: number;
  /** The options of the last start (the container's environment among them). */
  lastStart: { env?: Record<string, string> } | null;
  signals: number[];
  destroys: number;
  /** Hosts the container's outbound requests are intercepted for, with the ContainerProxy props they go to. */
  intercepted: Map<string, unknown>;
  /** The same for HTTPS (`interceptHttps`): the platform terminates TLS with its CA for these hosts. */
  interceptedHttps: Map<string, unknown>;
  /** Ends the container as if its process exited by itself. */
  crash(exitCode: number): void;
  /** Answers fetches to a container port (the Sandbox control port included). */
  handler: (port: number, request: Request) => Promise<Response>;
}

export function makeFakeCtx(name = 'default') {
  const db = new DatabaseSync(':memory:');
  const kv = new Map<string, unknown>();
  let alarm: number | null = null;
  let finish: (() => void) | null = null;
  let fail: ((error: Error) => void) | null = null;
  let monitorPromise: Promise<void> = Promise.resolve();

  const end = (exitCode: number) => {
    if (!control.running) return;
    control.running = false;
    if (exitCode === 0) finish?.();
    else fail?.(Object.assign(new Error(`container exited with code ${exitCode}`), { exitCode }));
  };

  const control: FakeContainerControl = {
    running: false,
    starts: 0,
    lastStart: null,
    signals: [],
    destroys: 0,
    intercepted: new Map(),
    interceptedHttps: new Map(),
    crash: (exitCode) => end(exitCode),
    handler: async () => new Response('ok'),
  };

  const container = {
    get running() {
      return control.running;
    },
    start(options?: { env?: Record<string, string> }) {
      control.running = true;
      control.starts += 1;
      control.lastStart = options ?? null;
      monitorPromise = new Promise<void>((resolve, reject) => {
        finish = resolve;
        fail = reject;
      });
      monitorPromise.catch(() => {});
    },
    monitor: () => monitorPromise,
    signal(signal: number) {
      control.signals.push(signal);
      if (signal === 15 || signal === 9) end(0);
    },
    async destroy() {
      control.destroys += 1;
      end(0);
    },
    getTcpPort(port: number) {
      return {
        fetch: async (input: RequestInfo | URL, init?: RequestInit) => {
          const response = await control.handler(port, new Request(input as string, init));
          // workerd responses carry `webSocket: null` unless upgraded.
          return Object.assign(response, { webSocket: null });
        },
      };
    },
    // The platform's outbound interception: which host goes to which ContainerProxy fetcher (its props kept).
    async interceptOutboundHttp(host: string, fetcher: { props?: unknown }) {
      control.intercepted.set(host, fetcher.props ?? null);
    },
    async interceptOutboundHttps(host: string, fetcher: { props?: unknown }) {
      control.interceptedHttps.set(host, fetcher.props ?? null);
    },
    async interceptAllOutboundHttp(fetcher: { props?: unknown }) {
      control.intercepted.set('*', fetcher.props ?? null);
    },
  };

  const sql = {
    exec(query: string, ...values: unknown[]) {
      const statement = db.prepare(query);
      const bindings = values.map((v) => (v === undefined ? null : v)); // workerd binds undefined as NULL
      let rows: Record<string, unknown>[] = [];
      if (/^\s*(select|pragma|with)/i.test(query) || /returning/i.test(query)) rows = statement.all(...(bindings as never[])) as Record<string, unknown>[];
      else statement.run(...(bindings as never[]));
      return Object.assign(rows[Symbol.iterator](), {
        toArray: () => rows,
        one: () => rows[0],
        raw: () => rows.map((r) => Object.values(r))[Symbol.iterator](),
        [Symbol.iterator]() {
          return rows[Symbol.iterator]();
        },
      });
    },
    get databaseSize() {
      return 0;
    },
  };

  const storage = {
    sql,
    // The synchronous KV of SQLite-backed objects: the same data as get/put.
    kv: {
      get: (key: string) => structuredClone(kv.get(key)),
      put: (key: string, value: unknown) => void kv.set(key, structuredClone(value)),
      delete: (key: string) => kv.delete(key),
      list: () => new Map(kv).entries(),
    },
    async get(key: string | string[]) {
      if (Array.isArray(key)) return new Map(key.filter((k) => kv.has(k)).map((k) => [k, structuredClone(kv.get(k))]));
      return kv.has(key) ? structuredClone(kv.get(key)) : undefined;
    },
    async put(key: string | Record<string, unknown>, value?: unknown) {
      if (typeof key === 'object') for (const [k, v] of Object.entries(key)) kv.set(k, structuredClone(v));
      else kv.set(key, structuredClone(value));
    },
    async delete(key: string | string[]) {
      const keys = Array.isArray(key) ? key : [key];
      let n = 0;
      for (const k of keys) if (kv.delete(k)) n += 1;
      return Array.isArray(key) ? n : n > 0;
    },
    async list() {
      return new Map(kv);
    },
    async setAlarm(at: number | Date) {
      alarm = typeof at === 'number' ? at : at.getTime();
    },
    async getAlarm() {
      return alarm;
    },
    async deleteAlarm() {
      alarm = null;
    },
    async sync() {},
    async transaction<T>(fn: (txn: unknown) => Promise<T>): Promise<T> {
      return fn(storage);
    },
    transactionSync<T>(fn: () => T): T {
      return fn();
    },
  };

  const ctx = {
    id: { name, toString: () => `fake-${name}`, equals: () => false },
    storage,
    container,
    props: {},
    // ctx.exports.ContainerProxy({ props }): a loopback fetcher to the Worker's ContainerProxy entrypoint (only its props matter here).
    exports: {
      ContainerProxy: (options: { props: unknown }) => ({
        props: options.props,
        fetch: async () => new Response('the fake platform sends no outbound requests', { status: 502 }),
      }),
    },
    async blockConcurrencyWhile<T>(fn: () => Promise<T>): Promise<T> {
      return fn();
    },
    waitUntil(_promise: Promise<unknown>) {},
    abort() {},
  };
  return { ctx, control, storage, kv, alarm: () => alarm };
}
