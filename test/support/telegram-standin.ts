/**
 * A recorded stand-in of Telegram's Bot API (https://core.telegram.org/bots/api)
 * on loopback, for the Worker's own calls and the gateway's (through the
 * Worker's egress): every call is recorded with the token it carried; a
 * token other than the bot's is refused as Telegram refuses it (401
 * Unauthorized). The answers have Telegram's shapes: `{ok, result}`, a
 * Message for sendMessage, a User for getMe; a method it does not know
 * answers `{ok: true, result: true}` and is recorded, so a test can say
 * what the gateway called.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BotApiCall {
  method: string;
  token: string;
  body: Record<string, unknown>;
  at: number;
}

export interface TelegramStandIn {
  origin: string;
  calls: BotApiCall[];
  /** The messages the bot sent (sendMessage), in order. */
  sent(): Array<{ chat: string; text: string }>;
  close(): Promise<void>;
}

export const STANDIN_BOT = { id: 7_000_000_001, is_bot: true, first_name: 'Ondemand test bot', username: 'ondemand_test_bot' };

/** Reads a Bot API request's parameters: JSON, a form, or the query. */
function params(raw: string, contentType: string, query: URLSearchParams): Record<string, unknown> {
  if (contentType.includes('application/json') && raw) return JSON.parse(raw) as Record<string, unknown>;
  const form = contentType.includes('application/x-www-form-urlencoded') ? new URLSearchParams(raw) : query;
  return Object.fromEntries(form.entries());
}

/** Where a test in another process reads the calls (GET → JSON array of BotApiCall). */
export const STANDIN_CALLS_PATH = '/_standin/calls';

export async function startTelegramStandIn(token: string, host = '127.0.0.1'): Promise<TelegramStandIn> {
  const calls: BotApiCall[] = [];
  let messageId = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://standin');
      if (url.pathname === STANDIN_CALLS_PATH) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(calls));
        return;
      }
      const m = /^\/bot([^/]+)\/(\w+)$/.exec(url.pathname);
      const send = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (!m) return send(404, { ok: false, error_code: 404, description: 'Not Found' });
      const [, given, method] = m as unknown as [string, string, string];
      let body: Record<string, unknown> = {};
      try {
        body = params(Buffer.concat(chunks).toString('utf8'), req.headers['content-type'] ?? '', url.searchParams);
      } catch {
        return send(400, { ok: false, error_code: 400, description: 'Bad Request: can not parse JSON' });
      }
      calls.push({ method, token: given, body, at: Date.now() });
      if (given !== token) return send(401, { ok: false, error_code: 401, description: 'Unauthorized' });
      const now = Math.floor(Date.now() / 1000);
      switch (method) {
        case 'getMe':
          return send(200, { ok: true, result: { ...STANDIN_BOT, can_join_groups: true, can_read_all_group_messages: false, supports_inline_queries: false } });
        case 'sendMessage':
          messageId += 1;
          return send(200, {
            ok: true,
            result: { message_id: messageId, from: STANDIN_BOT, chat: { id: Number(body.chat_id), type: 'private' }, date: now, text: String(body.text ?? '') },
          });
        case 'getWebhookInfo':
          return send(200, { ok: true, result: { url: '', has_custom_certificate: false, pending_update_count: 0 } });
        case 'getUpdates':
          return send(200, { ok: true, result: [] });
        default:
          return send(200, { ok: true, result: true });
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  return {
    origin: `http://${host}:${(server.address() as AddressInfo).port}`,
    calls,
    sent: () =>
      calls.filter((c) => c.method === 'sendMessage' && c.token === token).map((c) => ({ chat: String(c.body.chat_id), text: String(c.body.text ?? '') })),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
