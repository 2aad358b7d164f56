// workerd globals the Sandbox/Container packages use, for Node unit tests.
const g = globalThis as Record<string, unknown>;
g.IdentityTransformStream ??= TransformStream;
