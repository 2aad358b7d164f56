import { describe, expect, it } from 'vitest';
import { parsePreferWait, streamRequested } from '../../src/agent/ready-wait.ts';

describe('ready-wait', () => {
  describe('parsePreferWait', () => {
    it('should read the wait preference among others, as RFC 7240 writes it', () => {
      expect(parsePreferWait('wait=120')).toBe(120);
      expect(parsePreferWait('respond-async, wait=5')).toBe(5);
      expect(parsePreferWait('WAIT = "30"; x=y, return=minimal')).toBe(30);
      expect(parsePreferWait('return=minimal, wait=0')).toBe(0);
    });

    it('should ignore a missing or malformed wait', () => {
      for (const value of [null, '', 'respond-async', 'wait', 'wait=', 'wait=-1', 'wait=1.5', 'wait=ten', 'waiting=10', 'wait=9999999999'])
        expect(parsePreferWait(value), String(value)).toBeNull();
    });
  });

  describe('streamRequested', () => {
    const post = (body: string, headers: Record<string, string>) =>
      new Request('https://poc.example.com/v1/chat/completions', { method: 'POST', body, headers: { 'content-length': String(body.length), ...headers } });

    it('should see an event-stream client by its Accept or its JSON body, and keep the body to forward', async () => {
      const byBody = await streamRequested(post('{"stream":true,"messages":[]}', { 'content-type': 'application/json' }));
      expect(byBody.stream).toBe(true);
      expect(await byBody.request.text()).toBe('{"stream":true,"messages":[]}');
      const byAccept = await streamRequested(post('{}', { 'content-type': 'application/json', accept: 'text/event-stream' }));
      expect(byAccept.stream).toBe(true);
      expect(await byAccept.request.text()).toBe('{}');
      const plain = await streamRequested(post('{"stream":false}', { 'content-type': 'application/json' }));
      expect(plain.stream).toBe(false);
    });

    it('should not read a body too large to hold or of unknown length (that client waits without keep-alive lines)', async () => {
      const big = 'x'.repeat(1024 * 1024 + 1);
      const tooLarge = await streamRequested(post(big, { 'content-type': 'application/json', accept: 'text/event-stream' }));
      expect(tooLarge.stream).toBe(false);
      expect(tooLarge.request.bodyUsed).toBe(false);
    });
  });
});
