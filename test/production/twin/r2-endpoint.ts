/**
 * The twin's `<account>.r2.cloudflarestorage.com`: the S3 API the Sandbox
 * SDK's presigned backup transfers use, over the very bucket the Worker's
 * `BACKUP_BUCKET` binding reads (each object is read and written through
 * miniflare's local explorer API on wrangler's port, so the SDK's own
 * checks through the binding after an upload see what was uploaded).
 *
 * Every request must carry a valid AWS SigV4 signature for the Worker's R2
 * key — in the query (presigned, and then not expired) or in the
 * Authorization header (as the Durable Object signs its own multipart calls)
 * — recomputed with aws4fetch, the signer the SDK uses. Operations: PUT, GET
 * (with Range), HEAD, and multipart create / upload part / complete / abort,
 * the parts held in memory until completed (the twin's archives are small).
 * Hand-written: the SDK's own S3 handler for R2 bindings needs a Worker,
 * which `wrangler dev` cannot route requests to when it is not the first.
 *
 * Both callers reach it as the hostname's stand-in (a plain-HTTP server on
 * the Docker bridge): the container (presigned PUTs and GETs, the Bun fetch
 * of multipart parts) through the sidecar, the Durable Object's own
 * multipart calls from workerd through the twin's internet front
 * (internet-front.ts), each with TLS from the twin's CA.
 *
 * A control server on loopback serves tests: `GET /log` (what it served),
 * `PUT /clock {skewMs}` (its clock moved: presigned URLs expire), `PUT
 * /secret {secret|null}` (signatures checked against another secret: a
 * wrong key).
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsV4Signer } from 'aws4fetch';

export interface R2Served {
  at: string;
  method: string;
  path: string;
  /** The operation's query keys (the signature's own left out), e.g. `uploads`, `partNumber&uploadId`. */
  query: string;
  range: string | null;
  status: number;
  error?: string;
}

export interface R2Endpoint {
  host: string;
  /** The plain-HTTP address the hostname's stand-in is (`IP:port`). */
  standInAddress: string;
  /** The control server's URL (loopback). */
  controlUrl: string;
  close(): Promise<void>;
}

export interface R2EndpointOptions {
  /** `<account>.r2.cloudflarestorage.com`. */
  host: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The Docker bridge's gateway address, where the endpoint listens. */
  bridge: string;
  /** The bucket's objects in miniflare's local explorer API (`…/api/r2/buckets/<bucket>/objects`). */
  objectsApi: () => string;
  log: (line: string) => void;
}

/** Header-signed requests may be this far from the endpoint's clock (S3's own allowance). */
const HEADER_SKEW_MS = 15 * 60_000;
const LOG_LIMIT = 2000;

/** `20261206T120000Z` → epoch ms, or NaN. */
function amzDate(value: string | null | undefined): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '');
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : Number.NaN;
}

class S3Error extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const etagOf = (data: Buffer) => `"${createHash('md5').update(data).digest('hex')}"`;

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startR2Endpoint(options: R2EndpointOptions): Promise<R2Endpoint> {
  const knobs: { skewMs: number; secret: string | null } = { skewMs: 0, secret: null };
  const served: R2Served[] = [];
  const uploads = new Map<string, { key: string; parts: Map<number, Buffer> }>();
  /** The last object read whole, for the ranged GETs that follow (a restore reads one archive in 8+ ranges). */
  let cached: { key: string; etag: string; data: Buffer } | null = null;

  const objectUrl = (key: string) => `${options.objectsApi()}/${encodeURIComponent(key)}`;

  /** Throws an S3Error when the request's signature does not hold. */
  async function verify(method: string, url: URL, headers: IncomingMessage['headers']): Promise<void> {
    const secretAccessKey = knobs.secret ?? options.secretAccessKey;
    const now = Date.now() + knobs.skewMs;
    const header = (name: string) => {
      const value = headers[name.toLowerCase()];
      return Array.isArray(value) ? value.join(',') : (value ?? '');
    };
    const q = url.searchParams;
    if (q.has('X-Amz-Signature')) {
      if (!(q.get('X-Amz-Credential') ?? '').startsWith(`${options.accessKeyId}/`))
        throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
      const datetime = q.get('X-Amz-Date') ?? '';
      const expires = Number(q.get('X-Amz-Expires'));
      if (!Number.isFinite(amzDate(datetime)) || !(expires > 0)) throw new S3Error(403, 'AccessDenied', 'Malformed presigned URL.');
      if (now > amzDate(datetime) + expires * 1000) throw new S3Error(403, 'AccessDenied', 'Request has expired');
      const unsigned = new URL(url);
      unsigned.searchParams.delete('X-Amz-Signature');
      const signed = (q.get('X-Amz-SignedHeaders') ?? 'host').split(';').filter((h) => h !== 'host');
      const signer = new AwsV4Signer({
        url: unsigned.toString(),
        method,
        accessKeyId: options.accessKeyId,
        secretAccessKey,
        service: 's3',
        region: 'auto',
        signQuery: true,
        datetime,
        headers: signed.map((h) => [h, header(h)] as [string, string]),
      });
      if ((await signer.sign()).url.searchParams.get('X-Amz-Signature') !== q.get('X-Amz-Signature'))
        throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
      return;
    }
    const auth = /^AWS4-HMAC-SHA256 Credential=([^,]+), ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(header('authorization'));
    if (!auth) throw new S3Error(403, 'AccessDenied', 'Anonymous access is forbidden.');
    if (!auth[1]!.startsWith(`${options.accessKeyId}/`))
      throw new S3Error(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    const datetime = header('x-amz-date');
    if (!(Math.abs(now - amzDate(datetime)) <= HEADER_SKEW_MS))
      throw new S3Error(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    const signer = new AwsV4Signer({
      url: url.toString(),
      method,
      accessKeyId: options.accessKeyId,
      secretAccessKey,
      service: 's3',
      region: 'auto',
      datetime,
      headers: auth[2]!
        .split(';')
        .filter((h) => h !== 'host')
        .map((h) => [h, header(h)] as [string, string]),
    });
    if ((await signer.authHeader()) !== header('authorization'))
      throw new S3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }

  async function readObject(key: string): Promise<{ data: Buffer; etag: string }> {
    const r = await fetch(objectUrl(key));
    if (r.status === 404) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    if (!r.ok) throw new S3Error(502, 'InternalError', `the local bucket answered ${r.status}`);
    const data = Buffer.from(await r.arrayBuffer());
    const etag = etagOf(data);
    cached = { key, etag, data };
    return { data, etag };
  }

  async function writeObject(key: string, data: Buffer, contentType: string | undefined): Promise<string> {
    const r = await fetch(objectUrl(key), { method: 'PUT', headers: { 'content-type': contentType ?? 'application/octet-stream' }, body: data });
    if (!r.ok) throw new S3Error(502, 'InternalError', `the local bucket answered ${r.status}: ${await r.text()}`);
    cached = null;
    return etagOf(data);
  }

  /** The S3 operation: its status, headers and body. */
  async function operate(
    method: string,
    url: URL,
    key: string,
    headers: IncomingMessage['headers'],
    body: Buffer,
  ): Promise<{ status: number; headers?: Record<string, string>; body?: Buffer | string }> {
    const q = url.searchParams;
    if (method === 'POST' && q.has('uploads')) {
      const id = randomUUID();
      uploads.set(id, { key, parts: new Map() });
      return {
        status: 200,
        headers: { 'content-type': 'application/xml' },
        body: xml(
          `<InitiateMultipartUploadResult><Bucket>${options.bucket}</Bucket><Key>${key}</Key><UploadId>${id}</UploadId></InitiateMultipartUploadResult>`,
        ),
      };
    }
    const uploadId = q.get('uploadId');
    if (uploadId !== null) {
      const upload = uploads.get(uploadId);
      if (!upload || upload.key !== key) throw new S3Error(404, 'NoSuchUpload', 'The specified multipart upload does not exist.');
      if (method === 'PUT') {
        const part = Number(q.get('partNumber'));
        if (!Number.isInteger(part) || part < 1 || part > 10_000)
          throw new S3Error(400, 'InvalidArgument', 'Part number must be an integer between 1 and 10000.');
        upload.parts.set(part, body);
        return { status: 200, headers: { etag: etagOf(body) } };
      }
      if (method === 'DELETE') {
        uploads.delete(uploadId);
        return { status: 204 };
      }
      if (method === 'POST') {
        const listed = [...body.toString('utf8').matchAll(/<Part>\s*<PartNumber>(\d+)<\/PartNumber>\s*<ETag>([^<]+)<\/ETag>\s*<\/Part>/g)].map((m) => ({
          n: Number(m[1]),
          etag: m[2]!.replace(/&quot;/g, '"'),
        }));
        if (listed.length === 0) throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed.');
        const data: Buffer[] = [];
        for (const { n, etag } of listed) {
          const part = upload.parts.get(n);
          if (!part || etagOf(part) !== etag) throw new S3Error(400, 'InvalidPart', `Part ${n} was not uploaded or its ETag does not match.`);
          data.push(part);
        }
        const etag = await writeObject(key, Buffer.concat(data), undefined);
        uploads.delete(uploadId);
        return {
          status: 200,
          headers: { 'content-type': 'application/xml' },
          body: xml(
            `<CompleteMultipartUploadResult><Location>https://${options.host}/${options.bucket}/${key}</Location><Bucket>${options.bucket}</Bucket><Key>${key}</Key><ETag>${etag}</ETag></CompleteMultipartUploadResult>`,
          ),
        };
      }
    }
    if (method === 'PUT') {
      const type = headers['content-type'];
      return { status: 200, headers: { etag: await writeObject(key, body, typeof type === 'string' ? type : undefined) } };
    }
    if (method === 'GET' || method === 'HEAD') {
      const object = cached?.key === key ? cached : await readObject(key);
      const base = { etag: object.etag, 'accept-ranges': 'bytes', 'content-type': 'application/octet-stream' };
      const range = /^bytes=(\d+)-(\d*)$/.exec(String(headers.range ?? ''));
      if (range && method === 'GET') {
        const start = Number(range[1]);
        const end = Math.min(range[2] ? Number(range[2]) : object.data.length - 1, object.data.length - 1);
        if (start > end) throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable');
        return {
          status: 206,
          headers: { ...base, 'content-range': `bytes ${start}-${end}/${object.data.length}` },
          body: object.data.subarray(start, end + 1),
        };
      }
      return { status: 200, headers: { ...base, 'content-length': String(object.data.length) }, body: method === 'GET' ? object.data : undefined };
    }
    if (method === 'DELETE') {
      await fetch(objectUrl(key), { method: 'DELETE' });
      cached = null;
      return { status: 204 };
    }
    throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const method = req.method ?? 'GET';
    const url = new URL(req.url ?? '/', `https://${options.host}`);
    const record: R2Served = {
      at: new Date().toISOString(),
      method,
      path: url.pathname,
      query: [...url.searchParams.keys()].filter((k) => !k.startsWith('X-Amz-')).join('&'),
      range: typeof req.headers.range === 'string' ? req.headers.range : null,
      status: 0,
    };
    try {
      const body = await readBody(req);
      const [, bucket, ...rest] = url.pathname.split('/');
      const key = decodeURIComponent(rest.join('/'));
      await verify(method, url, req.headers);
      if (bucket !== options.bucket || !key) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist.');
      const answer = await operate(method, url, key, req.headers, body);
      record.status = answer.status;
      res.writeHead(answer.status, answer.headers);
      res.end(answer.body);
    } catch (error) {
      const e = error instanceof S3Error ? error : new S3Error(500, 'InternalError', error instanceof Error ? error.message : String(error));
      record.status = e.status;
      record.error = `${e.code}: ${e.message}`;
      options.log(`r2 endpoint: ${method} ${url.pathname}: ${record.error}`);
      if (!res.headersSent) res.writeHead(e.status, { 'content-type': 'application/xml' });
      res.end(method === 'HEAD' ? undefined : xml(`<Error><Code>${e.code}</Code><Message>${e.message}</Message></Error>`));
    }
    served.push(record);
    if (served.length > LOG_LIMIT) served.splice(0, served.length - LOG_LIMIT);
  };

  const control = createServer(async (req, res) => {
    const path = req.url ?? '';
    if (req.method === 'GET' && path === '/log') {
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(served));
    }
    let update: { skewMs?: number; secret?: string | null } = {};
    try {
      update = JSON.parse((await readBody(req)).toString('utf8') || '{}');
    } catch {
      res.writeHead(400);
      return res.end();
    }
    if (req.method === 'PUT' && path === '/clock') knobs.skewMs = Number(update.skewMs ?? 0) || 0;
    else if (req.method === 'PUT' && path === '/secret') knobs.secret = update.secret ?? null;
    else {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(knobs));
  });
  const listen = (server: Server, port: number, host: string) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
  const plain = createServer((req, res) => void handle(req, res));
  await listen(plain, 0, options.bridge);
  await listen(control, 0, '127.0.0.1');
  const close = (server: Server) =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return {
    host: options.host,
    standInAddress: `${options.bridge}:${(plain.address() as AddressInfo).port}`,
    controlUrl: `http://127.0.0.1:${(control.address() as AddressInfo).port}`,
    close: async () => {
      await Promise.all([close(plain), close(control)]);
    },
  };
}
