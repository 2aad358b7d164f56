/** The gateway's reading of a path, as the Worker and the Agent's forwarder use it. */
import { describe, expect, it } from 'vitest';
import { CDP_PATH_PREFIX } from '../../src/browser/cdp-passthrough.ts';
import { pathCandidates, pathOwner, WORKER_NAMESPACES } from '../../src/runtime/gateway-path.ts';
import { STATUS_PAGE_PATH } from '../../src/ui/status-page.ts';

describe('pathCandidates', () => {
  it('should read a path as the gateway does: lowercased, decoded again and again, dot-segments resolved, slashes merged', () => {
    expect(pathCandidates('/X/..%252FAPI//v1/').candidates).toEqual(expect.arrayContaining(['/x/..%252fapi/v1', '/api/v1']));
    expect(pathCandidates('/assets/Index-B7xQ.js')).toEqual({ candidates: ['/assets/index-b7xq.js'], decodeLimitReached: false });
  });
});

describe('pathOwner', () => {
  it('should name the Worker namespace any reading falls into, else the gateway', () => {
    expect(pathOwner('/api/status')).toBe('/api');
    expect(pathOwner('/%61PI%2Fv1')).toBe('/api');
    expect(pathOwner('/_ondemand/')).toBe('/_ondemand');
    expect(pathOwner('/v1/chat/completions')).toBe('gateway');
    expect(pathOwner('/apis')).toBe('gateway');
    let deep = '/%61pi';
    for (let i = 0; i < 33; i++) deep = deep.replace(/%/g, '%25');
    expect(pathOwner(deep)).toBe('refused');
  });

  it('should keep the namespaces the Worker serves: the API, the status page and the browser passthrough', () => {
    expect(WORKER_NAMESPACES).toEqual(['/api', STATUS_PAGE_PATH.replace(/\/$/, ''), CDP_PATH_PREFIX.replace(/\/$/, '')]);
  });
});
