/** Discord's path into OpenClaw: the agent hook's request, and what counts as OpenClaw taking a message. */
import { describe, expect, it } from 'vitest';
import { discordHookAdopted, discordHookRequest, discordHookToken, type KeptDiscordMessage } from '../../src/inbox/discord-hooks.ts';

const kept: KeptDiscordMessage = { id: '1579373022161141762', channelId: '3300000000000000003', guildId: null, authorId: '22', content: 'hello, marker-1' };

describe('the Discord agent hook', () => {
  it('should derive a hook token from the bot token that is stable, distinct per bot, and not the token', async () => {
    const a = await discordHookToken('bot-token-a');
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(await discordHookToken('bot-token-a')).toBe(a);
    expect(await discordHookToken('bot-token-b')).not.toBe(a);
  });

  it("should ask for the message's turn in the channel's own session, keyed by the message id, and wait for it", async () => {
    const r = discordHookRequest(JSON.stringify(kept), 'hook-token');
    expect(new URL(r.url).pathname).toBe('/hooks/agent');
    expect(r.headers.get('authorization')).toBe('Bearer hook-token');
    expect(r.headers.get('idempotency-key')).toBe('discord:1579373022161141762');
    expect(await r.json()).toMatchObject({
      message: 'hello, marker-1',
      channel: 'discord',
      to: 'channel:3300000000000000003',
      sessionMode: 'persistent',
      sessionKey: 'hook:discord:3300000000000000003',
      waitForCompletion: true,
    });
  });

  it('should take only a turn that ran as adopted; a refusal, a failed turn or an unreadable answer throws with what it said', async () => {
    const ok = { ok: true, runId: 'r', completion: { status: 'ok', replyDisposition: 'visible', delivered: true } };
    await expect(discordHookAdopted(Response.json(ok))).resolves.toBeUndefined();
    // A silent turn (no answer to send) still ran: the message is OpenClaw's.
    await expect(discordHookAdopted(Response.json({ ...ok, completion: { status: 'ok', replyDisposition: 'silent' } }))).resolves.toBeUndefined();
    await expect(discordHookAdopted(Response.json({ ...ok, completion: { status: 'error', replyDisposition: 'empty' } }))).rejects.toThrow('turn error');
    await expect(discordHookAdopted(Response.json({ ok: true, runId: 'r' }))).rejects.toThrow('answered 200');
    await expect(discordHookAdopted(Response.json({ ok: false, error: 'channel must be last' }, { status: 400 }))).rejects.toThrow(
      'answered 400: channel must be last',
    );
    await expect(discordHookAdopted(new Response('Unauthorized', { status: 401 }))).rejects.toThrow('answered 401: Unauthorized');
    // The answer comes from the container: a long one is not read past its bound.
    await expect(discordHookAdopted(new Response('x'.repeat(100_000), { status: 200 }))).rejects.toThrow('answered 200');
  });
});
