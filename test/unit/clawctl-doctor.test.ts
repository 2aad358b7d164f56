/**
 * clawctl doctor against recorded Cloudflare API answers (the shapes the API
 * gives: `{ success, errors, messages, result }`) and recorded /api/doctor
 * answers: a deployment in order, and each thing an operator can get wrong.
 */
import { describe, expect, it } from 'vitest';
import { formatFindings, runDoctor, type DoctorInputs, type RemoteDoctor } from '../../cli/doctor.ts';

const ACCOUNT = '023e105f4ecef8ad9ca31a8372d0c353';
const BUCKET = 'openclaw-ondemand-poc-backups';
const TOKEN_ID = '9a7806061c88ada191ed06f989cc3dac';
const API = 'https://api.cloudflare.test/client/v4';

const ok = (result: unknown) => Response.json({ success: true, errors: [], messages: [], result });
const failed = (status: number, code: number, message: string) =>
  Response.json({ success: false, errors: [{ code, message }], messages: [], result: null }, { status });

const goodSecrets = ['OPENCLAW_GATEWAY_TOKEN', 'R2_ACCESS_KEY_ID', 'R2_SECRET_ACCESS_KEY', 'ANTHROPIC_API_KEY'].map((name) => ({ name, type: 'secret_text' }));
const goodToken = {
  id: TOKEN_ID,
  name: 'openclaw-ondemand-poc-backups',
  status: 'active',
  policies: [
    {
      id: 'f267e341f3dd4697bd3b9f71dd96247f',
      effect: 'allow',
      permission_groups: [
        { id: '6a018a9f2fc74eb6b293b0c548f38b39', name: 'Workers R2 Storage Bucket Item Read' },
        { id: '2efd5506f9c8494dacb1fa10a3e7d5b6', name: 'Workers R2 Storage Bucket Item Write' },
      ],
      resources: { [`com.cloudflare.edge.r2.bucket.${ACCOUNT}_default_${BUCKET}`]: '*' },
    },
  ],
};
const goodRemote: RemoteDoctor = {
  state: 'ready',
  contract: 2,
  container: {
    node: 'v24.21.0',
    openclaw: 'OpenClaw 2026.9.6 (3f1a2b4)',
    gh: 'gh version 2.4.0+dfsg1',
    ingress: { address: '10.0.4.17', trusted: true, trustedProxies: ['10.0.0.0/8', '172.16.0.0/12'] },
  },
};

function inputs(
  answers: {
    secrets?: () => Response;
    token?: () => Response;
    remote?: RemoteDoctor;
    terraform?: DoctorInputs['terraform'];
    vars?: Record<string, string>;
  } = {},
) {
  const calls: string[] = [];
  const fetcher = async (url: string, init?: RequestInit) => {
    calls.push(url);
    expect(new Headers(init?.headers).get('authorization')).toBe('Bearer cf-api-token');
    if (url === `${API}/accounts/${ACCOUNT}/workers/scripts/openclaw-ondemand-poc/secrets`) return (answers.secrets ?? (() => ok(goodSecrets)))();
    if (url === `${API}/accounts/${ACCOUNT}/tokens/${TOKEN_ID}`) return (answers.token ?? (() => ok(goodToken)))();
    return failed(404, 7003, 'Could not route to /client/v4/nonexistent, perhaps your object identifier is invalid?');
  };
  const doctorInputs: DoctorInputs = {
    config: {
      scriptName: 'openclaw-ondemand-poc',
      vars: { PUBLIC_ORIGINS: 'https://openclaw-poc.example.com', BACKUP_BUCKET_NAME: BUCKET, ACCESS_AUD: '', BACKUP_TRANSFER: 'presigned', ...answers.vars },
      bucketName: BUCKET,
    },
    terraform:
      answers.terraform === undefined
        ? {
            hostname: { value: 'openclaw-poc.example.com' },
            backup_bucket_name: { value: BUCKET },
            access_aud: { value: 'aud-123' },
            r2_access_key_id: { value: TOKEN_ID },
          }
        : answers.terraform,
    api: { url: API, token: 'cf-api-token', accountId: ACCOUNT },
    remote: async () => answers.remote ?? goodRemote,
    expected: { openclaw: '2026.9.6', contract: 2 },
  };
  return { doctorInputs, fetcher, calls };
}

const byCheck = async (i: ReturnType<typeof inputs>) => Object.fromEntries((await runDoctor(i.doctorInputs, i.fetcher)).map((f) => [f.check, f]));

describe('clawctl doctor', () => {
  it('should find a deployment in order, and say so line by line', async () => {
    const i = inputs();
    const findings = await runDoctor(i.doctorInputs, i.fetcher);
    expect(findings.filter((f) => f.result === 'fail')).toEqual([]);
    const text = formatFindings(findings);
    expect(text).toContain('ok    Worker secrets: present: ANTHROPIC_API_KEY, OPENCLAW_GATEWAY_TOKEN, R2_ACCESS_KEY_ID, R2_SECRET_ACCESS_KEY');
    expect(text).toContain(`ok    R2 token's scope: object read/write on ${BUCKET} only`);
    expect(text).toContain("ok    proxy source address: the gateway sees the Worker's requests from 10.0.4.17, inside GATEWAY_TRUSTED_PROXIES");
    expect(text).toContain('ok    Access AUD: set at deploy from Terraform (aud-123)');
  });

  it('should name missing secrets, never their values', async () => {
    const f = await byCheck(
      inputs({
        secrets: () =>
          ok([
            { name: 'OPENCLAW_GATEWAY_TOKEN', type: 'secret_text' },
            { name: 'R2_ACCESS_KEY_ID', type: 'secret_text' },
          ]),
      }),
    );
    expect(f['Worker secrets']).toMatchObject({
      result: 'fail',
      detail: 'missing: R2_SECRET_ACCESS_KEY, ANTHROPIC_API_KEY or OPENAI_API_KEY (or the var OPENAI_BASE_URL)',
      fix: expect.stringContaining('wrangler secret put R2_SECRET_ACCESS_KEY'),
    });
  });

  it('should say plainly when the API token cannot read the secrets, and when the Worker is not deployed', async () => {
    const denied = await byCheck(inputs({ secrets: () => failed(403, 10000, 'Authentication error') }));
    expect(denied['Worker secrets']).toMatchObject({
      result: 'fail',
      detail: 'the Cloudflare API refused to list them: Authentication error (10000)',
      fix: expect.stringContaining('Workers Scripts: Read'),
    });
    const absent = await byCheck(inputs({ secrets: () => failed(404, 10007, 'workers.api.error.script_not_found') }));
    expect(absent['Worker secrets']).toMatchObject({ result: 'fail', detail: 'the Worker openclaw-ondemand-poc is not deployed in this account' });
  });

  it("should fail an R2 token that reaches more than the backup bucket's objects, or is not active", async () => {
    const wide = {
      ...goodToken,
      policies: [
        {
          ...goodToken.policies[0],
          resources: { [`com.cloudflare.api.account.${ACCOUNT}`]: '*' },
          permission_groups: [...goodToken.policies[0]!.permission_groups, { id: 'bf7481a1826f439697cb59a20b22293e', name: 'Workers R2 Storage Write' }],
        },
      ],
    };
    const f = await byCheck(inputs({ token: () => ok(wide) }));
    expect(f["R2 token's scope"]).toMatchObject({ result: 'fail' });
    expect(f["R2 token's scope"]?.detail).toContain(`resource com.cloudflare.api.account.${ACCOUNT}`);
    expect(f["R2 token's scope"]?.detail).toContain('permission Workers R2 Storage Write');
    expect((await byCheck(inputs({ token: () => ok({ ...goodToken, status: 'expired' }) })))["R2 token's scope"]).toMatchObject({
      result: 'fail',
      detail: 'the token is expired',
    });
    expect((await byCheck(inputs({ token: () => failed(403, 9109, 'Unauthorized to access requested resource') })))["R2 token's scope"]).toMatchObject({
      result: 'fail',
      detail: expect.stringContaining('Unauthorized to access requested resource (9109)'),
    });
  });

  it('should fail wrangler.jsonc where it disagrees with Terraform, and skip what it has no input for', async () => {
    const f = await byCheck(inputs({ vars: { PUBLIC_ORIGINS: 'https://other.example.com', BACKUP_BUCKET_NAME: 'openclaw-ondemand-backups' } }));
    expect(f.hostname).toMatchObject({ result: 'fail', detail: 'PUBLIC_ORIGINS (https://other.example.com) lacks https://openclaw-poc.example.com' });
    expect(f['backup bucket (BACKUP_BUCKET_NAME)']).toMatchObject({
      result: 'fail',
      detail: `wrangler.jsonc says openclaw-ondemand-backups, Terraform ${BUCKET}`,
    });
    const none = await byCheck(inputs({ terraform: null }));
    expect(none['wrangler.jsonc against Terraform']).toMatchObject({ result: 'skip' });
    expect(none["R2 token's scope"]).toMatchObject({ result: 'skip' });
  });

  it('should fail an image on Node 22 or another OpenClaw, a proxy address outside the trusted ranges, and skip a sleeping assistant', async () => {
    const bad = await byCheck(
      inputs({
        remote: {
          ...goodRemote,
          container: {
            ...goodRemote.container!,
            node: 'v22.21.1',
            openclaw: 'OpenClaw 2026.8.1',
            ingress: { address: '198.18.0.1', trusted: false, trustedProxies: ['10.0.0.0/8'] },
          },
        },
      }),
    );
    expect(bad["the image's Node"]).toMatchObject({ result: 'fail', detail: 'v22.21.1 (OpenClaw needs >= 24.16)' });
    expect(bad["the image's OpenClaw"]).toMatchObject({ result: 'fail' });
    expect(bad['proxy source address']).toMatchObject({
      result: 'fail',
      detail: expect.stringContaining('from 198.18.0.1, which is not in GATEWAY_TRUSTED_PROXIES (10.0.0.0/8)'),
    });
    const asleep = await byCheck(inputs({ remote: { state: 'sleeping', contract: 2, container: null } }));
    expect(asleep['the container']).toMatchObject({ result: 'skip', fix: 'clawctl wake, then clawctl doctor again' });
  });
});
