/**
 * The header that carries the authenticated identity from the Worker to the
 * Agent with a proxied request (the router sets it after Access or the local
 * sign-in; clients' own copies are dropped first).
 */
export const IDENTITY_HEADER = 'x-ondemand-identity';
