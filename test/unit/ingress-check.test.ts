/** Whether the gateway trusts an address as its proxy, as GATEWAY_TRUSTED_PROXIES says. */
import { describe, expect, it } from 'vitest';
import { isTrustedProxy } from '../../src/runtime/ingress-check.ts';

const IMAGE_DEFAULT = '10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,100.64.0.0/10,127.0.0.1,::1'.split(',');

describe('isTrustedProxy', () => {
  it('should match addresses inside the ranges, IPv4-mapped ones included, and loopback entries exactly', () => {
    for (const address of ['10.0.4.17', '172.17.0.1', '172.31.255.255', '192.168.1.2', '100.64.0.1', '::ffff:172.17.0.1', '127.0.0.1', '::1'])
      expect(isTrustedProxy(address, IMAGE_DEFAULT), address).toBe(true);
  });

  it('should refuse addresses outside them', () => {
    for (const address of ['198.18.0.1', '172.32.0.1', '169.254.1.1', '127.0.0.2', '8.8.8.8', 'fe80::1', 'not an address', ''])
      expect(isTrustedProxy(address, IMAGE_DEFAULT), address).toBe(false);
  });
});
