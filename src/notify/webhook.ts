/**
 * Posts an operator notification (a JSON object) to NOTIFY_WEBHOOK_URL: the
 * cost guard's threshold crossings, a stop blocked by failing backups.
 * Failures are logged, never thrown: a notification must not break what it
 * reports on.
 */
import { errorMessage } from '../errors.ts';
import { boundLog } from '../log.ts';

export type Fetcher = (input: string, init: RequestInit) => Promise<Response>;

const log = boundLog({});

/** Sends `body` to `url`; resolves true when the receiver accepted it. */
export async function postWebhook(url: string, body: Record<string, unknown>, fetcher: Fetcher = (i, init) => fetch(i, init)): Promise<boolean> {
  try {
    const response = await fetcher(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    await response.body?.cancel();
    if (!response.ok) log('notify:failed', { event: body.event, status: response.status });
    return response.ok;
  } catch (error) {
    log('notify:failed', { event: body.event, message: errorMessage(error) });
    return false;
  }
}
