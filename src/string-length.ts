/**
 * Ajv's `minLength` and `maxLength` keywords, counting as Ajv does but without walking megabytes.
 *
 * JSON Schema counts a string's length in characters (code points: JSON Schema Validation 2020-12 §6.3.1), which
 * Ajv computes with `ucs2length`, a loop over every UTF-16 unit: about 4 ms per MB of item data for the
 * `minLength: 4` of an import item's `data`. A string of `n` UTF-16 units holds between n/2 and n characters, so
 * most bounds are decided from `.length` alone; only a string whose units straddle the bound is counted, and then
 * only as far as the bound needs. Results, error messages and parameters are Ajv's own
 * (ajv/dist/vocabularies/validation/limitLength.js), for every string, surrogate pairs and lone surrogates alike.
 */
import { _, str, type KeywordCxt, type KeywordDefinition } from 'ajv'

/**
 * Characters (code points) at the start of `value`, counting no further than `limit` of them: Ajv's ucs2length
 * (a high surrogate followed by a low one is one character, any other unit one), stopped at `limit`.
 */
function countUpTo (value: string, limit: number): number {
  const units = value.length
  let count = 0
  let pos = 0
  while (pos < units && count < limit) {
    count++
    const unit = value.charCodeAt(pos++)
    if (unit >= 0xd800 && unit <= 0xdbff && pos < units && (value.charCodeAt(pos) & 0xfc00) === 0xdc00) pos++
  }
  return count
}

/** Whether `value` has at least `n` characters (code points, as Ajv counts them). */
export function hasAtLeast (value: string, n: number): boolean {
  if (value.length < n) return false
  if (value.length >= 2 * n) return true
  return countUpTo(value, n) >= n
}

/** Whether `value` has at most `n` characters (code points, as Ajv counts them). */
export function hasAtMost (value: string, n: number): boolean {
  if (value.length <= n) return true
  if (value.length > 2 * n + 1) return false
  return countUpTo(value, n + 1) <= n
}

/**
 * The keyword definition replacing Ajv's (`ajv.removeKeyword('minLength'); ajv.removeKeyword('maxLength');
 * ajv.addKeyword(lengthKeywords)`). Not for standalone code: the helpers are referenced, not emitted as source.
 */
export const lengthKeywords: KeywordDefinition = {
  keyword: ['maxLength', 'minLength'],
  type: 'string',
  schemaType: 'number',
  $data: true,
  error: {
    message ({ keyword, schemaCode }) {
      const comp = keyword === 'maxLength' ? 'more' : 'fewer'
      return str`must NOT have ${comp} than ${schemaCode} characters`
    },
    params: ({ schemaCode }) => _`{limit: ${schemaCode}}`
  },
  code (cxt: KeywordCxt) {
    const { keyword, data, schemaCode, gen } = cxt
    const within = keyword === 'maxLength' ? hasAtMost : hasAtLeast
    const fn = gen.scopeValue('func', { ref: within })
    cxt.fail$data(_`!${fn}(${data}, ${schemaCode})`)
  }
}
