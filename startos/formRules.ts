/**
 * Enforces an action form's own rules (required, patterns, lengths, numeric
 * bounds, choices) on the submitted input. The StartOS UI applies them as the
 * operator types, but the SDK's server-side parse checks only the shape, so an
 * action run another way (start-cli, another service's task) would skip
 * them. The daemon validates everything again.
 */
import { IST } from '@start9labs/start-sdk'

/** Input that breaks its form's rules; `message` names the field. */
export class InputError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InputError'
  }
}

export function checkInput(spec: IST.InputSpec, input: unknown) {
  const problems: string[] = []
  walk(spec, (input ?? {}) as Record<string, unknown>, '', problems)
  if (problems.length) throw new InputError(problems.join('; '))
}

function walk(
  spec: IST.InputSpec,
  input: Record<string, unknown>,
  prefix: string,
  problems: string[],
) {
  for (const [key, field] of Object.entries(spec)) {
    if (field.type === 'hidden') continue
    const label = `${prefix}${field.name}`
    const v = input[key]
    const empty = v === null || v === undefined || v === ''
    switch (field.type) {
      case 'text':
      case 'textarea':
        if (empty) {
          if (field.required) problems.push(`${label}: required`)
          break
        }
        if (typeof v !== 'string') {
          problems.push(`${label}: must be text`)
          break
        }
        text(label, v, field, problems)
        break
      case 'number':
        if (empty) {
          if (field.required) problems.push(`${label}: required`)
          break
        }
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          problems.push(`${label}: must be a number`)
        } else if (field.integer && !Number.isInteger(v)) {
          problems.push(`${label}: must be a whole number`)
        } else if (field.min !== null && v < field.min) {
          problems.push(`${label}: must be at least ${field.min}`)
        } else if (field.max !== null && v > field.max) {
          problems.push(`${label}: must be at most ${field.max}`)
        }
        break
      case 'datetime':
        if (empty) {
          if (field.required) problems.push(`${label}: required`)
        } else if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) {
          problems.push(`${label}: not a date and time`)
        }
        break
      case 'select':
        if (typeof v !== 'string' || !(v in field.values)) {
          problems.push(`${label}: choose one of the offered values`)
        }
        break
      case 'multiselect': {
        const list = Array.isArray(v) ? v : []
        if (list.some((x) => typeof x !== 'string' || !(x in field.values))) {
          problems.push(`${label}: choose among the offered values`)
        }
        if (field.minLength !== null && list.length < field.minLength) {
          problems.push(`${label}: choose at least ${field.minLength}`)
        }
        if (field.maxLength !== null && list.length > field.maxLength) {
          problems.push(`${label}: choose at most ${field.maxLength}`)
        }
        break
      }
      case 'list': {
        const list = Array.isArray(v) ? v : []
        if (field.minLength !== null && list.length < field.minLength) {
          problems.push(`${label}: give at least ${field.minLength}`)
        }
        if (field.maxLength !== null && list.length > field.maxLength) {
          problems.push(`${label}: give at most ${field.maxLength}`)
        }
        list.forEach((item, i) => {
          const itemLabel = `${label} #${i + 1}`
          if (field.spec.type === 'text') {
            if (typeof item !== 'string' || item === '') {
              problems.push(`${itemLabel}: must not be empty`)
            } else {
              text(itemLabel, item, field.spec, problems)
            }
          } else {
            walk(
              field.spec.spec,
              (item ?? {}) as Record<string, unknown>,
              `${itemLabel} › `,
              problems,
            )
          }
        })
        break
      }
      case 'object':
        walk(
          field.spec,
          (v ?? {}) as Record<string, unknown>,
          `${label} › `,
          problems,
        )
        break
      case 'union': {
        const u = (v ?? {}) as { selection?: unknown; value?: unknown }
        const variant =
          typeof u.selection === 'string'
            ? field.variants[u.selection]
            : undefined
        if (!variant) {
          problems.push(`${label}: choose one of the offered options`)
          break
        }
        walk(
          variant.spec,
          (u.value ?? {}) as Record<string, unknown>,
          `${label} › `,
          problems,
        )
        break
      }
      default:
        break
    }
  }
}

function text(
  label: string,
  v: string,
  rules: {
    patterns: IST.Pattern[]
    minLength: number | null
    maxLength: number | null
  },
  problems: string[],
) {
  if (rules.minLength !== null && v.length < rules.minLength) {
    problems.push(`${label}: at least ${rules.minLength} characters`)
  }
  if (rules.maxLength !== null && v.length > rules.maxLength) {
    problems.push(`${label}: at most ${rules.maxLength} characters`)
  }
  for (const p of rules.patterns) {
    if (!new RegExp(p.regex).test(v))
      problems.push(`${label}: ${p.description}`)
  }
}
