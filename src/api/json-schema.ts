// A JSON Schema from `response_format.json_schema` (chat) or `text.format` (responses), checked
// before it becomes a grammar. node-llama-cpp quietly turns what it does not know into "any
// value", so an invalid schema, or a rule the grammar cannot enforce, is a 400 here instead of
// output that does not match. Returns the schema in the subset the grammar builder reads.
import { BadRequest } from "../errors.ts";

type Schema = Record<string, unknown>;

const TYPES = ["string", "number", "integer", "boolean", "null", "object", "array"];
/** String formats the grammar enforces; any other format is an annotation (as JSON Schema says) and dropped. */
const FORMATS = ["date-time", "date", "time"];
const ANNOTATIONS = ["$schema", "$id", "$comment", "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "contentEncoding", "contentMediaType", "strict"];
const COUNTS = ["minItems", "maxItems", "minLength", "maxLength", "minProperties", "maxProperties"];
/** Assertions a grammar cannot express (or that node-llama-cpp does not implement). */
const UNENFORCEABLE = [
  "pattern",
  "patternProperties",
  "multipleOf",
  "uniqueItems",
  "contains",
  "minContains",
  "maxContains",
  "not",
  "if",
  "then",
  "else",
  "allOf",
  "propertyNames",
  "dependentRequired",
  "dependentSchemas",
  "dependencies",
  "unevaluatedProperties",
  "unevaluatedItems",
];
const BOUNDS = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];

/** The checked schema, or a BadRequest naming `param` and where in the schema the problem is. */
export function grammarSchema(schema: unknown, param: string): object {
  const fail = (path: string, problem: string): never => {
    throw new BadRequest(`Invalid '${param}': ${path ? `at ${path}, ` : ""}${problem}.`, param, "invalid_json_schema");
  };
  if (!isObject(schema)) fail("", "the schema must be a JSON object");
  const root = schema as Schema;
  const defs = { ...(isObject(root.definitions) ? root.definitions : {}), ...(isObject(root.$defs) ? root.$defs : {}) } as Schema;

  const walk = (node: unknown, path: string): Schema => {
    if (node === true || (isObject(node) && Object.keys(node).length === 0)) return {};
    if (!isObject(node)) return fail(path, "a schema must be a JSON object");
    const out: Schema = {};
    const at = (key: string) => (path ? `${path}.${key}` : key);
    for (const [key, value] of Object.entries(node)) {
      if (ANNOTATIONS.includes(key)) {
        if (key === "description" && typeof value === "string") out.description = value;
        continue;
      }
      if (UNENFORCEABLE.includes(key)) fail(path, `"${key}" cannot be enforced by the grammar that constrains generation; remove it and check that rule yourself`);
      switch (key) {
        case "type": {
          const list = Array.isArray(value) ? value : [value];
          if (list.length === 0 || list.some((t) => typeof t !== "string" || !TYPES.includes(t))) {
            fail(at("type"), `"type" must be one of ${TYPES.join(", ")} (or a list of them); got ${JSON.stringify(value)}`);
          }
          out.type = value;
          break;
        }
        case "enum":
          if (!Array.isArray(value) || value.length === 0) fail(at("enum"), `"enum" must be a non-empty array`);
          out.enum = value;
          break;
        case "const":
          out.const = value;
          break;
        case "properties":
          if (!isObject(value)) fail(at("properties"), `"properties" must be an object of schemas`);
          out.properties = Object.fromEntries(Object.entries(value as Schema).map(([name, sub]) => [name, walk(sub, `${at("properties")}.${name}`)]));
          break;
        case "required":
          if (!Array.isArray(value) || value.some((r) => typeof r !== "string")) fail(at("required"), `"required" must be an array of property names`);
          out.required = value;
          break;
        case "additionalProperties":
          if (typeof value === "boolean") out.additionalProperties = value;
          else out.additionalProperties = walk(value, at("additionalProperties"));
          break;
        case "items":
          if (value === false) out.maxItems = 0;
          else out.items = walk(value, at("items"));
          break;
        case "prefixItems":
          if (!Array.isArray(value)) fail(at("prefixItems"), `"prefixItems" must be an array of schemas`);
          out.prefixItems = (value as unknown[]).map((sub, i) => walk(sub, `${at("prefixItems")}.${i}`));
          break;
        case "anyOf":
        case "oneOf": {
          if (!Array.isArray(value) || value.length === 0) fail(at(key), `"${key}" must be a non-empty array of schemas`);
          // A grammar producing one matching branch satisfies anyOf as well as oneOf.
          out.oneOf = (value as unknown[]).map((sub, i) => walk(sub, `${at(key)}.${i}`));
          break;
        }
        case "$ref": {
          const name = typeof value === "string" ? /^#\/(?:\$defs|definitions)\/(.+)$/.exec(value)?.[1] : undefined;
          if (!name || !(decodePointer(name) in defs)) fail(at("$ref"), `"$ref" must point to an entry of "$defs" (like "#/$defs/Name"); ${JSON.stringify(value)} does not`);
          out.$ref = `#/$defs/${name}`;
          break;
        }
        case "$defs":
        case "definitions":
          break; // checked once, from the root, below
        case "format":
          if (typeof value !== "string") fail(at("format"), `"format" must be a string`);
          if (FORMATS.includes(value as string)) out.format = value;
          break;
        default:
          if (COUNTS.includes(key)) {
            if (!Number.isInteger(value) || (value as number) < 0) fail(at(key), `"${key}" must be a non-negative integer`);
            out[key] = value;
          } else if (BOUNDS.includes(key)) {
            if (typeof value !== "number") fail(at(key), `"${key}" must be a number`);
            // zod's .int() adds bounds at ±(2^53 - 1): about JavaScript's precision, not a rule of the
            // schema, so they are accepted (and, like any bound, not enforced).
            if (Math.abs(value as number) < Number.MAX_SAFE_INTEGER) fail(path, `"${key}" cannot be enforced by the grammar that constrains generation; remove it and check that rule yourself`);
          }
        // Unknown keywords are ignored, as JSON Schema says.
      }
    }
    return splitTypeList(out);
  };

  const result = walk(root, "");
  if (Object.keys(defs).length) result.$defs = Object.fromEntries(Object.entries(defs).map(([name, sub]) => [name, walk(sub, `$defs.${name}`)]));
  return result;
}

/**
 * `type: ["string", "null"]` becomes a oneOf with one branch per type: node-llama-cpp reads a type
 * list only for scalars and then ignores the other keywords (maxLength...), which a branch keeps.
 */
function splitTypeList(schema: Schema): Schema {
  const { type, ...rest } = schema;
  if (!Array.isArray(type)) return schema;
  if (type.length === 1) return { ...rest, type: type[0] };
  const { description, ...constraints } = rest;
  return { ...(description ? { description } : {}), oneOf: type.map((t) => ({ ...constraints, type: t })) };
}

function decodePointer(segment: string): string {
  return decodeURIComponent(segment).replaceAll("~1", "/").replaceAll("~0", "~");
}

function isObject(value: unknown): value is Schema {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
