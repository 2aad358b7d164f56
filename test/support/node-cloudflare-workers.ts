/**
 * `cloudflare:workers` for Node tests of the production Sandbox class: the
 * base classes the containers and sandbox packages extend, nothing more.
 */
export class DurableObject<Env = unknown> {
  ctx: unknown;
  env: Env;
  constructor(ctx: unknown, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}

export class WorkerEntrypoint<Env = unknown> {
  ctx: unknown;
  env: Env;
  constructor(ctx: unknown, env: Env) {
    this.ctx = ctx;
    this.env = env;
  }
}

export class RpcTarget {}

export const env = {};
export const tracing = undefined;
