/**
 * The project's layering, checked in npm test (`depcruise`):
 * - no import cycles (type-only imports included: a cycle of types is still a knot in the floor plan);
 * - the lifecycle machine (machines/) is pure: it imports nothing from src/ but the wire contracts (src/contract/:
 *   the error codes it stores), and those are leaves: they import nothing else of the project (the Agent's RPC
 *   contract names its payloads by their owners' types: type imports only);
 * - product code (src/, machines/, container/, cli/) imports nothing from test/ or scripts/;
 * - the Agent's rooms: durable-object/ (the classes, the RPC surface, the request path) holds the rest of
 *   src/agent/ and nothing there reaches back up into it; records/ (what is kept beside the machine) start
 *   no effects/;
 * - nothing imports a module that is not declared in package.json.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: split the shared part out, or pass it in.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'machine-is-pure',
      severity: 'error',
      comment: 'machines/ is the pure lifecycle machine: its settings come in as input, not from src/.',
      from: { path: '^machines/' },
      to: { path: '^src/', pathNot: '^src/contract/' },
    },
    {
      name: 'contracts-are-leaves',
      severity: 'error',
      comment: 'src/contract/ holds the wire contracts (codes, shapes, bounds): data and types, importing nothing else of the project.',
      from: { path: '^src/contract/', pathNot: '^src/contract/agent-rpc[.]ts$' },
      to: { path: '^(src|machines|container|cli|scripts|test)/', pathNot: '^src/contract/' },
    },
    {
      name: 'rpc-contract-names-types-only',
      severity: 'error',
      comment:
        "src/contract/agent-rpc.ts (the Agent's RPC surface and its answers) names its payloads by the modules that own them: type imports only, nothing at run time.",
      from: { path: '^src/contract/agent-rpc[.]ts$' },
      to: { path: '^(src|machines|container|cli|scripts|test)/', pathNot: '^src/contract/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'product-not-from-tests-or-scripts',
      severity: 'error',
      comment: 'What ships (and the CLI) must not depend on test support or the dev scripts.',
      from: { path: '^(src|machines|container|cli)/' },
      to: { path: '^(test|scripts)/' },
    },
    {
      name: 'agent-records-below-effects',
      severity: 'error',
      comment: 'records/ keep what the effects write: they do not start effects.',
      from: { path: '^src/agent/records/' },
      to: { path: '^src/agent/effects/' },
    },
    {
      name: 'agent-classes-at-the-top',
      severity: 'error',
      comment: 'The controller, its parts, effects and records are what the Durable Object classes hold; they do not reach back up into them.',
      from: { path: '^src/agent/', pathNot: '^src/agent/durable-object/' },
      to: { path: '^src/agent/durable-object/' },
    },
    {
      name: 'no-undeclared-dependencies',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|\\.tools|test/production/vendor|test-results)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default', 'workerd'] },
  },
};
