/**
 * Offline validation of terraform/ (no provider download needed): every
 * resource type, argument, required argument, nested structure and enum value
 * is checked against the Cloudflare provider v5 resource schema (data in
 * ../shared/terraform/), plus an isolation check: every created name carries
 * the PoC's prefix/suffix (local.name) and no resource targets a hostname other
 * than the PoC's (local.hostname). Values that are expressions (`${...}`:
 * variables, references, `for`, conditionals) are type-checked no further.
 *
 * CLI: node cli/terraform-check.ts [terraform-dir] [schema.json]
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
// Loaded without its typings: they pull in the DOM lib, which clashes with the Workers types.
const HCL2JSON = '@cdktf/hcl2json';
const { parse } = (await import(HCL2JSON)) as { parse: (file: string, text: string) => Promise<unknown> };

export interface SchemaAttribute {
  kind: string;
  required?: boolean;
  optional?: boolean;
  computed?: boolean;
  enum?: string[];
  enum_case_sensitive?: boolean;
  attributes?: Record<string, SchemaAttribute>;
}

export interface ProviderSchema {
  version: string;
  resources: Record<string, { attributes: Record<string, SchemaAttribute> }>;
}

const META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider']);
/** Arguments whose values name or address something this PoC creates. */
const NAME_ARGS = new Set(['name', 'bucket_name']);
const HOST_ARGS = new Set(['hostname', 'domain', 'uri']);

const isExpression = (v: unknown) => typeof v === 'string' && v.includes('${');

function checkValue(path: string, value: unknown, attr: SchemaAttribute, errors: string[]): void {
  if (isExpression(value)) return;
  const nested = attr.attributes;
  switch (attr.kind) {
    case 'string':
      if (typeof value !== 'string') errors.push(`${path}: expected a string`);
      else if (attr.enum && !attr.enum.some((e) => (attr.enum_case_sensitive ? e === value : e.toLowerCase() === value.toLowerCase()))) {
        errors.push(`${path}: "${value}" is not one of ${attr.enum.join(', ')}`);
      }
      return;
    case 'bool':
      if (typeof value !== 'boolean') errors.push(`${path}: expected true or false`);
      return;
    case 'int64':
    case 'float64':
      if (typeof value !== 'number') errors.push(`${path}: expected a number`);
      return;
    case 'single_nested':
      // A single nested attribute is an object (`x = { ... }`); a block-style `x { ... }` parses to a list.
      if (Array.isArray(value)) errors.push(`${path}: v5 expects an attribute \`= { ... }\`, not a block (v4 syntax)`);
      else if (typeof value !== 'object' || value === null) errors.push(`${path}: expected an object`);
      else if (nested) checkObject(path, value as Record<string, unknown>, nested, errors);
      return;
    case 'list_nested':
    case 'set_nested':
      if (!Array.isArray(value)) {
        errors.push(`${path}: expected a list of objects`);
        return;
      }
      value.forEach((item, i) => {
        if (isExpression(item)) return;
        if (typeof item !== 'object' || item === null || Array.isArray(item)) errors.push(`${path}[${i}]: expected an object`);
        else if (nested) checkObject(`${path}[${i}]`, item as Record<string, unknown>, nested, errors);
      });
      return;
    case 'list':
    case 'set':
      if (!Array.isArray(value)) errors.push(`${path}: expected a list`);
      return;
    default:
      return;
  }
}

function checkObject(path: string, object: Record<string, unknown>, attrs: Record<string, SchemaAttribute>, errors: string[], topLevel = false): void {
  for (const [name, value] of Object.entries(object)) {
    if (topLevel && META_ARGUMENTS.has(name)) continue;
    const attr = attrs[name];
    if (!attr) {
      errors.push(`${path}.${name}: no such argument in provider v5`);
      continue;
    }
    if (attr.computed && !attr.optional && !attr.required) {
      errors.push(`${path}.${name}: read-only (computed) in provider v5`);
      continue;
    }
    checkValue(`${path}.${name}`, value, attr, errors);
  }
  for (const [name, attr] of Object.entries(attrs)) {
    if (attr.required && !(name in object)) errors.push(`${path}: missing required argument "${name}"`);
  }
}

export interface TerraformFindings {
  errors: string[];
  isolation: string[];
  resources: Array<{ type: string; name: string }>;
  outputs: Record<string, { sensitive?: boolean; value?: unknown }>;
  locals: Record<string, unknown>;
}

/** Parses every .tf file of `dir` and checks it against `schema`. */
export async function checkTerraform(dir: string, schema: ProviderSchema): Promise<TerraformFindings> {
  const findings: TerraformFindings = { errors: [], isolation: [], resources: [], outputs: {}, locals: {} };
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.tf'))
    .sort()) {
    let parsed: Record<string, unknown>;
    try {
      parsed = (await parse(file, readFileSync(join(dir, file), 'utf8'))) as Record<string, unknown>;
    } catch (error) {
      findings.errors.push(`${file}: does not parse: ${(error as Error).message}`);
      continue;
    }
    for (const block of (parsed.locals as Array<Record<string, unknown>>) ?? []) Object.assign(findings.locals, block);
    for (const [name, blocks] of Object.entries((parsed.output as Record<string, Array<Record<string, unknown>>>) ?? {})) {
      findings.outputs[name] = blocks[0] as { sensitive?: boolean; value?: unknown };
    }
    const resources = (parsed.resource as Record<string, Record<string, Array<Record<string, unknown>>>>) ?? {};
    for (const [type, byName] of Object.entries(resources)) {
      for (const [name, blocks] of Object.entries(byName)) {
        findings.resources.push({ type, name });
        const where = `${file}: ${type}.${name}`;
        const resource = schema.resources[type];
        if (!resource) {
          findings.errors.push(
            `${where}: no resource type "${type}" in provider v${schema.version}${type.startsWith('cloudflare_access_') || type === 'cloudflare_record' ? ' (a v4 name)' : ''}`,
          );
          continue;
        }
        for (const body of blocks) {
          checkObject(where, body, resource.attributes, findings.errors, true);
          for (const [arg, value] of Object.entries(body)) {
            if (NAME_ARGS.has(arg) && !(typeof value === 'string' && /\$\{(local\.name|cloudflare_r2_bucket\.[\w]+\.name)\}/.test(value))) {
              findings.isolation.push(`${where}.${arg} = ${JSON.stringify(value)}: a created name must carry local.name (prefix + suffix)`);
            }
            if (HOST_ARGS.has(arg) && value !== '${local.hostname}')
              findings.isolation.push(`${where}.${arg}: targets ${JSON.stringify(value)}, not the PoC hostname (local.hostname)`);
            if (arg === 'destinations' && Array.isArray(value)) {
              for (const d of value as Array<Record<string, unknown>>) {
                // The PoC's hostname, or a path under it (an application for one path, e.g. Telegram's webhook).
                const uri = String(d.uri);
                if (uri !== '${local.hostname}' && !/^\$\{local\.hostname\}\/[\w/.-]+$/.test(uri))
                  findings.isolation.push(`${where}.destinations: uri ${JSON.stringify(d.uri)} is not the PoC hostname`);
              }
            }
            if (type === 'cloudflare_ai_gateway' && arg === 'id' && value !== '${local.name}') findings.isolation.push(`${where}.id must be local.name`);
          }
        }
      }
    }
  }
  return findings;
}

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url).href));
/** The provider's v5.22.0 schema: ../shared/terraform/ when present, else the copy kept in terraform/schema/. */
export const SCHEMA_PATH = [
  resolve(ROOT, '..', 'shared', 'terraform', 'cloudflare-v5.22.0-schema.json'),
  resolve(ROOT, 'terraform', 'schema', 'cloudflare-v5.22.0-schema.json'),
].find((p) => existsSync(p)) as string;

if (import.meta.url === `file://${process.argv[1]}`) {
  const dir = process.argv[2] ?? join(ROOT, 'terraform');
  const schema = JSON.parse(readFileSync(process.argv[3] ?? SCHEMA_PATH, 'utf8')) as ProviderSchema;
  const findings = await checkTerraform(dir, schema);
  for (const line of [...findings.errors, ...findings.isolation]) console.log(line);
  console.log(
    `${findings.resources.length} resources checked against provider v${schema.version}: ${findings.errors.length} schema errors, ${findings.isolation.length} isolation findings`,
  );
  process.exit(findings.errors.length + findings.isolation.length ? 1 : 0);
}
