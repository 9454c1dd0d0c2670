/**
 * A JSON Schema of a CloudEvent in the JSON format, written from CloudEvents 1.0.2 (spec.md,
 * "Context Attributes", and formats/json-format.md): the four required attributes and their types,
 * the optional ones berth uses, and extension names of lowercase letters and digits.
 */
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const nonEmpty = { type: 'string', minLength: 1 } as const;

export const CLOUDEVENT_SCHEMA = {
  type: 'object',
  required: ['specversion', 'id', 'source', 'type'],
  properties: {
    specversion: { const: '1.0' },
    id: nonEmpty,
    source: { ...nonEmpty, format: 'uri-reference' },
    type: nonEmpty,
    datacontenttype: { ...nonEmpty, pattern: '^[a-zA-Z0-9!#$&^_.+-]+/[a-zA-Z0-9!#$&^_.+-]+' }, // RFC 2046
    dataschema: { ...nonEmpty, format: 'uri' },
    subject: nonEmpty,
    time: { type: 'string', format: 'date-time' }, // RFC 3339
    data: {},
    data_base64: { type: 'string', contentEncoding: 'base64' },
  },
  propertyNames: { pattern: '^([a-z0-9]{1,20}|data_base64)$' },
} as const;

const ajv = new (Ajv as unknown as typeof Ajv.default)({ allErrors: true, strict: true });
(addFormats as unknown as typeof addFormats.default)(ajv);
const validate = ajv.compile(CLOUDEVENT_SCHEMA);

/** The schema's complaints about `event`, empty when it is a valid CloudEvent. */
export function cloudEventProblems(event: unknown): string[] {
  return validate(event) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
