/**
 * `clawctl doctor`: a pre-flight of a deployment, before and after `wrangler
 * deploy`, that says in plain words what to fix. It compares wrangler.jsonc
 * with Terraform's outputs (`terraform output -json`), asks the Cloudflare API
 * (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID — the deploy's own) which
 * secrets the Worker has (names only) and what the backup bucket's R2 token
 * may reach, and asks the deployed Agent (GET /api/doctor) which Node and
 * OpenClaw its container runs and from which address the gateway sees the
 * Worker's requests. A check whose input is missing is skipped, saying what
 * it needs.
 */

export type DoctorResult = 'ok' | 'fail' | 'skip';

export interface DoctorFinding {
  check: string;
  result: DoctorResult;
  detail: string;
  /** What to do about a failure (or to run a skipped check). */
  fix?: string;
}

/** What the Worker's configuration says (wrangler.jsonc, top-level environment). */
export interface DeployedConfig {
  scriptName: string;
  vars: Record<string, string>;
  bucketName: string | null;
}

export interface DoctorInputs {
  config: DeployedConfig;
  /** `terraform output -json`, or null when not given. */
  terraform: Record<string, { value?: unknown }> | null;
  /** The Cloudflare API (null: no token or account given). */
  api: { url: string; token: string; accountId: string } | null;
  /** GET /api/doctor of the deployment (null: not asked). */
  remote: (() => Promise<RemoteDoctor>) | null;
  expected: { openclaw: string; contract: number };
}

/** What GET /api/doctor answers. */
export interface RemoteDoctor {
  state: string;
  contract: number;
  container: { node: string; openclaw: string; gh: string; ingress: { address: string | null; trusted: boolean; trustedProxies: string[] } } | null;
}

/** Cloudflare's permission groups "Workers R2 Storage Bucket Item Read" and "… Write" (terraform/r2.tf). */
const R2_ITEM_GROUPS = new Set(['6a018a9f2fc74eb6b293b0c548f38b39', '2efd5506f9c8494dacb1fa10a3e7d5b6']);
const MODEL_SECRETS = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY'];

type Fetcher = (url: string, init?: RequestInit) => Promise<Response>;

const output = (inputs: DoctorInputs, name: string): string | null => {
  const value = inputs.terraform?.[name]?.value;
  return typeof value === 'string' && value ? value : null;
};

/** A Cloudflare API call: its `result`, or an Error saying what the API answered. */
async function cloudflare<T>(api: NonNullable<DoctorInputs['api']>, path: string, fetcher: Fetcher): Promise<T> {
  const r = await fetcher(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.token}` } });
  const body = (await r.json().catch(() => null)) as { success?: boolean; result?: T; errors?: Array<{ code?: number; message?: string }> } | null;
  if (!r.ok || !body?.success) {
    const message = body?.errors?.map((e) => `${e.message ?? 'error'}${e.code ? ` (${e.code})` : ''}`).join('; ') || `HTTP ${r.status}`;
    throw Object.assign(new Error(message), { status: r.status });
  }
  return body.result as T;
}

function configChecks(inputs: DoctorInputs): DoctorFinding[] {
  if (!inputs.terraform)
    return [
      {
        check: 'wrangler.jsonc against Terraform',
        result: 'skip',
        detail: 'no Terraform outputs given',
        fix: 'terraform -chdir=terraform output -json > tf.json, then clawctl doctor --terraform tf.json',
      },
    ];
  const { vars, bucketName } = inputs.config;
  const findings: DoctorFinding[] = [];
  const compare = (check: string, ours: string | null, theirs: string | null, fix: string) => {
    if (theirs === null) findings.push({ check, result: 'skip', detail: 'Terraform has no such output' });
    else if (!ours) findings.push({ check, result: 'ok', detail: `set at deploy from Terraform (${theirs}); wrangler.jsonc leaves it empty` });
    else if (ours === theirs) findings.push({ check, result: 'ok', detail: theirs });
    else findings.push({ check, result: 'fail', detail: `wrangler.jsonc says ${ours}, Terraform ${theirs}`, fix });
  };
  const hostname = output(inputs, 'hostname');
  const origins = (vars.PUBLIC_ORIGINS ?? '')
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  if (hostname) {
    const origin = `https://${hostname}`;
    findings.push(
      origins.includes(origin)
        ? { check: 'hostname', result: 'ok', detail: `${origin} is in PUBLIC_ORIGINS` }
        : {
            check: 'hostname',
            result: 'fail',
            detail: `PUBLIC_ORIGINS (${origins.join(', ') || 'empty'}) lacks ${origin}`,
            fix: `set PUBLIC_ORIGINS to ${origin} (the deploy workflow passes it as --var)`,
          },
    );
  }
  compare(
    'backup bucket (binding)',
    bucketName,
    output(inputs, 'backup_bucket_name'),
    'set r2_buckets[0].bucket_name in wrangler.jsonc to the Terraform output backup_bucket_name',
  );
  compare(
    'backup bucket (BACKUP_BUCKET_NAME)',
    vars.BACKUP_BUCKET_NAME ?? null,
    output(inputs, 'backup_bucket_name'),
    'set BACKUP_BUCKET_NAME to the Terraform output backup_bucket_name',
  );
  compare('Access AUD', vars.ACCESS_AUD ?? null, output(inputs, 'access_aud'), 'set ACCESS_AUD to the Terraform output access_aud');
  compare('Access team domain', vars.ACCESS_TEAM_DOMAIN ?? null, output(inputs, 'team_domain'), 'set ACCESS_TEAM_DOMAIN to the Terraform output team_domain');
  return findings;
}

async function secretChecks(inputs: DoctorInputs, fetcher: Fetcher): Promise<DoctorFinding[]> {
  const check = 'Worker secrets';
  if (!inputs.api)
    return [
      { check, result: 'skip', detail: 'no Cloudflare API token', fix: 'set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID (the ones wrangler deploys with)' },
    ];
  let names: string[];
  try {
    const secrets = await cloudflare<Array<{ name: string }>>(
      inputs.api,
      `/accounts/${inputs.api.accountId}/workers/scripts/${inputs.config.scriptName}/secrets`,
      fetcher,
    );
    names = secrets.map((s) => s.name);
  } catch (error) {
    const status = (error as { status?: number }).status;
    if (status === 404)
      return [
        {
          check,
          result: 'fail',
          detail: `the Worker ${inputs.config.scriptName} is not deployed in this account`,
          fix: 'run the deploy workflow (or wrangler deploy) first',
        },
      ];
    return [
      {
        check,
        result: 'fail',
        detail: `the Cloudflare API refused to list them: ${(error as Error).message}`,
        fix: 'the API token needs "Workers Scripts: Read" on this account',
      },
    ];
  }
  const required = ['OPENCLAW_GATEWAY_TOKEN', ...(inputs.config.vars.BACKUP_TRANSFER === 'binding' ? [] : ['R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY'])];
  const missing = required.filter((n) => !names.includes(n));
  if (!MODEL_SECRETS.some((n) => names.includes(n)) && !inputs.config.vars.OPENAI_BASE_URL)
    missing.push(`${MODEL_SECRETS.join(' or ')} (or the var OPENAI_BASE_URL)`);
  if (missing.length)
    return [
      { check, result: 'fail', detail: `missing: ${missing.join(', ')}`, fix: `wrangler secret put ${missing[0]?.split(' ')[0]} (docs/runbook.md: secrets)` },
    ];
  return [{ check, result: 'ok', detail: `present: ${names.sort().join(', ')}` }];
}

async function r2TokenCheck(inputs: DoctorInputs, fetcher: Fetcher): Promise<DoctorFinding> {
  const check = "R2 token's scope";
  const tokenId = output(inputs, 'r2_access_key_id');
  const bucket = output(inputs, 'backup_bucket_name') ?? inputs.config.bucketName;
  if (!inputs.api || !tokenId || !bucket)
    return { check, result: 'skip', detail: 'needs the Cloudflare API token and the Terraform outputs r2_access_key_id and backup_bucket_name' };
  let token: {
    status?: string;
    policies?: Array<{ effect?: string; permission_groups?: Array<{ id: string; name?: string }>; resources?: Record<string, unknown> }>;
  };
  try {
    token = await cloudflare(inputs.api, `/accounts/${inputs.api.accountId}/tokens/${tokenId}`, fetcher);
  } catch (error) {
    return {
      check,
      result: 'fail',
      detail: `the Cloudflare API refused to show it: ${(error as Error).message}`,
      fix: 'the API token needs "Account API Tokens: Read" to check this (or check the token in the dashboard)',
    };
  }
  if (token.status && token.status !== 'active')
    return {
      check,
      result: 'fail',
      detail: `the token is ${token.status}`,
      fix: 'terraform apply (it recreates the token), then wrangler secret put R2_ACCESS_KEY_ID / R2_SECRET_ACCESS_KEY',
    };
  const own = `com.cloudflare.edge.r2.bucket.${inputs.api.accountId}_default_${bucket}`;
  const wider: string[] = [];
  for (const policy of token.policies ?? []) {
    if (policy.effect === 'deny') continue;
    for (const resource of Object.keys(policy.resources ?? {})) if (resource !== own) wider.push(`resource ${resource}`);
    for (const group of policy.permission_groups ?? []) if (!R2_ITEM_GROUPS.has(group.id)) wider.push(`permission ${group.name ?? group.id}`);
  }
  if (wider.length)
    return {
      check,
      result: 'fail',
      detail: `it reaches more than the objects of ${bucket}: ${wider.join(', ')}`,
      fix: 'let Terraform own it (terraform/r2.tf): bucket item read/write on this bucket only',
    };
  return { check, result: 'ok', detail: `object read/write on ${bucket} only` };
}

function versionAtLeast(version: string, major: number, minor: number): boolean {
  const m = /^v?(\d+)\.(\d+)/.exec(version);
  return !!m && (Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) >= minor));
}

async function remoteChecks(inputs: DoctorInputs): Promise<DoctorFinding[]> {
  if (!inputs.remote) return [];
  let remote: RemoteDoctor;
  try {
    remote = await inputs.remote();
  } catch (error) {
    return [{ check: 'the deployment', result: 'fail', detail: `GET /api/doctor: ${(error as Error).message}` }];
  }
  const findings: DoctorFinding[] = [];
  if (remote.contract !== inputs.expected.contract)
    findings.push({
      check: 'Worker version',
      result: 'fail',
      detail: `the deployed Worker speaks container contract v${remote.contract}, this checkout v${inputs.expected.contract}`,
      fix: 'deploy this checkout',
    });
  const c = remote.container;
  if (!c)
    return [
      ...findings,
      {
        check: 'the container',
        result: 'skip',
        detail: `the assistant is ${remote.state}: nothing runs to look at`,
        fix: 'clawctl wake, then clawctl doctor again',
      },
    ];
  findings.push(
    versionAtLeast(c.node, 24, 16)
      ? { check: "the image's Node", result: 'ok', detail: c.node }
      : {
          check: "the image's Node",
          result: 'fail',
          detail: `${c.node || 'none'} (OpenClaw needs >= 24.16)`,
          fix: 'rebuild the image (container/install-node.sh pins its own Node)',
        },
  );
  findings.push(
    c.openclaw.includes(inputs.expected.openclaw)
      ? { check: "the image's OpenClaw", result: 'ok', detail: c.openclaw }
      : {
          check: "the image's OpenClaw",
          result: 'fail',
          detail: `${c.openclaw || 'none'}, this checkout pins ${inputs.expected.openclaw}`,
          fix: 'deploy this checkout (the image is built from its Dockerfile)',
        },
  );
  const ingress = c.ingress;
  findings.push(
    ingress.address && ingress.trusted
      ? {
          check: 'proxy source address',
          result: 'ok',
          detail: `the gateway sees the Worker's requests from ${ingress.address}, inside GATEWAY_TRUSTED_PROXIES`,
        }
      : {
          check: 'proxy source address',
          result: 'fail',
          detail: ingress.address
            ? `the gateway sees the Worker's requests from ${ingress.address}, which is not in GATEWAY_TRUSTED_PROXIES (${ingress.trustedProxies.join(', ')})`
            : 'the container did not say where the requests come from',
          fix: 'add that address (or its range) to GATEWAY_TRUSTED_PROXIES in the Dockerfile and deploy again',
        },
  );
  return findings;
}

/** Runs every check whose inputs are there. */
export async function runDoctor(inputs: DoctorInputs, fetcher: Fetcher = fetch): Promise<DoctorFinding[]> {
  return [...configChecks(inputs), ...(await secretChecks(inputs, fetcher)), await r2TokenCheck(inputs, fetcher), ...(await remoteChecks(inputs))];
}

/** One line a finding, and what to do under a failure. */
export function formatFindings(findings: DoctorFinding[]): string {
  const mark: Record<DoctorResult, string> = { ok: 'ok  ', fail: 'FAIL', skip: 'skip' };
  return findings.map((f) => `${mark[f.result]}  ${f.check}: ${f.detail}${f.fix && f.result !== 'ok' ? `\n      → ${f.fix}` : ''}`).join('\n');
}
