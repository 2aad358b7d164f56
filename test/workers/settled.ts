/**
 * How long a workerd test waits (vi.waitFor) for the Agent to get somewhere: a
 * bound for a hang, not a measure. The fake runtime answers in milliseconds,
 * but on a loaded machine (CI shares two cores with whatever else runs) a
 * Durable Object's restart or a boot through the fake container has taken
 * over 5 s. No assertion in these tests is about how long something took.
 */
export const SETTLED = { timeout: 30_000, interval: 20 } as const;
