/**
 * How the assistant reaches its model, for the status and for the backups:
 *
 * - the route, from the Worker's own settings (never from the container): an
 *   API key, an OpenAI-compatible endpoint, or, with neither, the operator's
 *   ChatGPT/Codex subscription, signed in inside the gateway;
 * - the subscription's sign-in as the gateway last reported it
 *   (`models.authStatus`: profile, state, expiry; never a token);
 * - whether the stored OAuth credentials of any provider (the subscription's,
 *   a Claude subscription's signed in through the Control UI) changed since
 *   the last look (a sign-in, a refresh that rotated the refresh token): the
 *   change check asks, whatever the route, and a
 *   change is backed up at once rather than after BACKUP_DEBOUNCE, so a
 *   restore never brings back a refresh token the provider already revoked.
 *
 * The gateway's answer is untrusted input: it only decides whether a backup
 * is taken early (bounded: at most one per CREDENTIAL_BACKUP_MIN_MS) and what
 * the status shows.
 */
import { boundedText, record, text } from '../contract/untrusted-input.ts';
import type { GatewayRpc, ModelAuthStatus } from '../runtime/gateway-rpc.ts';

/** Credential changes are backed up at once at most this often (a container that fakes changes gets the debounce). */
export const CREDENTIAL_BACKUP_MIN_MS = 60_000;
/** The reason of a backup taken because the stored credentials changed. */
export const CREDENTIALS_BACKUP_REASON = 'credentials changed';
/** The reason of the backup taken when the operator's sign-in is stored. */
export const SIGN_IN_BACKUP_REASON = 'model sign-in stored';
/** The provider the subscription signs in to. */
const SUBSCRIPTION_PROVIDER = 'openai';
/** The most of a 400 chat answer read for its error type. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;
const SIGN_IN_HINT = 'sign in with `clawctl login codex` (or the Control UI: Settings → Models → Connect provider)';

export type ModelRoute = 'subscription' | 'api-key' | 'compatible-endpoint';

export interface ModelSignInRecord {
  profile: string | null;
  /** The gateway's word for it: `ok`, `expiring`, `expired`, `missing`. */
  status: string;
  reasonCode: string | null;
  expiresAt: string | null;
  /** When the gateway said so. */
  checkedAt: string;
}

export interface ModelAccessRecord {
  signIn: ModelSignInRecord | null;
  /** The credentials' fingerprint (profile ids and expiries) at the last look: what a change is measured against. */
  fingerprint: string | null;
  /** The last backup taken because they changed (or a sign-in was stored). */
  lastCredentialBackup: { at: string; id: string | null; result: string } | null;
}

export interface ModelStatus {
  route: ModelRoute;
  /** The model the route defaults to, when the Worker's settings name it. */
  model: string | null;
  signIn: ModelSignInRecord | null;
  lastCredentialBackup: ModelAccessRecord['lastCredentialBackup'];
  /** In words: what serves the model, or that none is connected and how to connect one. */
  detail: string;
}

/** The route the Worker's settings give the container (what configure-openclaw.mjs does with them). */
export function modelRoute(containerEnv: Record<string, string>): { route: ModelRoute; model: string | null } {
  const model = containerEnv.OPENCLAW_MODEL ?? null;
  // In configure-openclaw.mjs's order: an Anthropic key, then the endpoint (its key is OPENAI_API_KEY), then an OpenAI key.
  if (containerEnv.ANTHROPIC_API_KEY) return { route: 'api-key', model };
  if (containerEnv.OPENAI_BASE_URL) return { route: 'compatible-endpoint', model: model ?? `compat/${containerEnv.OPENAI_MODEL ?? 'default'}` };
  if (containerEnv.OPENAI_API_KEY) return { route: 'api-key', model };
  return { route: 'subscription', model: model ?? 'openai/gpt-6-astra' };
}

/**
 * The stored credentials of every provider in one string: which OAuth and
 * token profiles, until when, refused or not. Any provider's: a Claude
 * subscription signed in through the Control UI rotates its refresh token too.
 */
function fingerprintOf(providers: Map<string, ModelAuthStatus>): string {
  return [...providers]
    .flatMap(([provider, auth]) =>
      auth.profiles
        .filter((p) => p.type === 'oauth' || p.type === 'token')
        .map((p) => `${provider}/${p.id}@${p.expiresAtMs ?? ''}:${p.status === 'expired' ? 'expired' : 'valid'}`),
    )
    .sort()
    .join(',');
}

export class ModelAccess {
  readonly #env: Record<string, string>;
  readonly #now: () => number;
  readonly #record: ModelAccessRecord;
  #lastEarlyBackupAt = 0;
  #pending = false;

  constructor(containerEnv: Record<string, string>, now: () => number, record?: ModelAccessRecord) {
    this.#env = containerEnv;
    this.#now = now;
    this.#record = record ? structuredClone(record) : { signIn: null, fingerprint: null, lastCredentialBackup: null };
  }

  get route(): ModelRoute {
    return modelRoute(this.#env).route;
  }

  /**
   * Asks the gateway for its sign-ins (`refresh`: reread its store first) and
   * keeps what it says of the subscription's. @returns whether the credentials
   * changed since the last look and may be backed up now (a change within
   * CREDENTIAL_BACKUP_MIN_MS of the last early backup waits for the debounce).
   */
  async look(gateway: GatewayRpc, refresh = false): Promise<boolean> {
    const providers = await gateway.modelAuth(refresh);
    const auth = providers.get(SUBSCRIPTION_PROVIDER) ?? null;
    const fingerprint = fingerprintOf(providers);
    const oauth = auth?.profiles.find((p) => p.type === 'oauth' || p.type === 'token') ?? null;
    this.#record.signIn = {
      profile: oauth?.id || null,
      status: oauth?.status ?? auth?.status ?? 'missing',
      reasonCode: oauth?.reasonCode ?? null,
      expiresAt: oauth?.expiresAtMs ? new Date(oauth.expiresAtMs).toISOString() : null,
      checkedAt: new Date(this.#now()).toISOString(),
    };
    if (fingerprint === '' || fingerprint === this.#record.fingerprint) {
      this.#pending = false;
      return false;
    }
    // Changed (or seen for the first time). Within the limit's time it stays a change to back up at a later look.
    if (this.#now() - this.#lastEarlyBackupAt < CREDENTIAL_BACKUP_MIN_MS) {
      this.#pending = true;
      return false;
    }
    this.#record.fingerprint = fingerprint;
    this.#pending = false;
    this.#lastEarlyBackupAt = this.#now();
    return true;
  }

  /** A change was seen that the limit kept from being backed up at once: the next change check looks again. */
  get pending(): boolean {
    return this.#pending;
  }

  /** The credential backup just taken. */
  backedUp(event: { result: string; id?: string | undefined }): void {
    this.#record.lastCredentialBackup = { at: new Date(this.#now()).toISOString(), id: event.id ?? null, result: event.result };
  }

  status(): ModelStatus {
    const { route, model } = modelRoute(this.#env);
    const signIn = this.#record.signIn;
    let detail: string;
    const broken = signIn?.profile && (signIn.status === 'expired' || signIn.status === 'missing');
    const also = !signIn?.profile
      ? ''
      : broken
        ? `; also signed in to the ChatGPT/Codex subscription as ${signIn.profile}, which no longer works${signIn.reasonCode ? ` (${signIn.reasonCode})` : ''}: sign in again; ${SIGN_IN_HINT}`
        : `; also signed in to the ChatGPT/Codex subscription as ${signIn.profile} (${signIn.status})`;
    if (route === 'api-key') detail = `an API key (a Worker secret)${also}`;
    else if (route === 'compatible-endpoint') detail = `an OpenAI-compatible endpoint (OPENAI_BASE_URL)${also}`;
    else if (!signIn?.profile) detail = `no model connected: the ChatGPT/Codex subscription is not signed in; ${SIGN_IN_HINT}`;
    else if (broken) {
      detail = `the subscription's sign-in ${signIn.profile} no longer works${signIn.reasonCode ? ` (${signIn.reasonCode})` : ''}: sign in again; ${SIGN_IN_HINT}`;
    } else detail = `the ChatGPT/Codex subscription, signed in as ${signIn.profile}`;
    return { route, model, signIn, lastCredentialBackup: this.#record.lastCredentialBackup, detail };
  }

  /**
   * Whether a chat turn's error answer is the model's sign-in failing, to be
   * answered in plain words (`model_not_connected`, the status's detail):
   * on the subscription route a 401 while it is not signed in or its sign-in
   * no longer works; on any route, once a stored sign-in no longer works, a
   * 400 or 401 that OpenClaw types as a model authentication failure
   * (`authentication_error`, or `permission_error` when the provider refused
   * the refresh for good). A 403 is never one: OpenClaw's own refusals (a
   * tool not allowed, a proxy it does not trust) answer 403.
   */
  signInFailed(status: number, errorType: string | null): boolean {
    const signIn = this.#record.signIn;
    const broken = Boolean(signIn?.profile) && (signIn?.status === 'expired' || signIn?.status === 'missing');
    if (this.route === 'subscription' && (broken || !signIn?.profile) && status === 401) return true;
    return broken && (status === 400 || status === 401) && (errorType === 'authentication_error' || errorType === 'permission_error');
  }

  toJSON(): ModelAccessRecord {
    return structuredClone(this.#record);
  }
}

/**
 * A chat turn's error answer from the gateway, or, when it is the model's
 * sign-in failing (ModelAccess.signInFailed), 401 `model_not_connected` with
 * the status's detail in place of OpenClaw's words ("No route-compatible
 * authentication source…", "OAuth token refresh failed…"). A 400's or 401's
 * error type is read from a copy of its body, bounded; any other answer
 * passes unchanged.
 */
export async function noModelAnswer(model: ModelAccess, request: Request, response: Response): Promise<Response> {
  const chat = /^\/v1\/(chat\/completions|responses)$/.test(new URL(request.url).pathname);
  if (!chat || !(response.headers.get('content-type') ?? '').includes('application/json')) return response;
  let errorType: string | null = null;
  if (response.status === 400 || response.status === 401) {
    try {
      errorType = text(record(record(JSON.parse(await boundedText(response.clone().body, MAX_ERROR_BODY_BYTES))).error).type, 64) || null;
    } catch {
      errorType = null;
    }
  }
  if (!model.signInFailed(response.status, errorType)) return response;
  void response.body?.cancel();
  return Response.json(
    { error: { message: model.status().detail, type: 'authentication_error', code: 'model_not_connected' } },
    { status: 401, headers: { 'cache-control': 'no-store' } },
  );
}
