/**
 * Enforces an action form's own rules (required, patterns, lengths, numeric
 * bounds, choices) on the submitted input. The StartOS UI applies them as the
 * operator types, but the SDK's server-side parse checks only the shape, so an
 * action run another way (start-cli, another service's task) would skip
 * them. The daemon validates everything again.
 */
import { IST } from '@start9labs/start-sdk'
import { i18n } from './i18n'

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
          if (field.required)
            problems.push(i18n('${label}: required', { label }))
          break
        }
        if (typeof v !== 'string') {
          problems.push(i18n('${label}: must be text', { label }))
          break
        }
        text(label, v, field, problems)
        break
      case 'number':
        if (empty) {
          if (field.required)
            problems.push(i18n('${label}: required', { label }))
          break
        }
        if (typeof v !== 'number' || !Number.isFinite(v)) {
          problems.push(i18n('${label}: must be a number', { label }))
        } else if (field.integer && !Number.isInteger(v)) {
          problems.push(i18n('${label}: must be a whole number', { label }))
        } else if (field.min !== null && v < field.min) {
          problems.push(
            i18n('${label}: must be at least ${min}', {
              label,
              min: field.min,
            }),
          )
        } else if (field.max !== null && v > field.max) {
          problems.push(
            i18n('${label}: must be at most ${max}', { label, max: field.max }),
          )
        }
        break
      case 'datetime':
        if (empty) {
          if (field.required)
            problems.push(i18n('${label}: required', { label }))
        } else if (typeof v !== 'string' || Number.isNaN(Date.parse(v))) {
          problems.push(i18n('${label}: not a date and time', { label }))
        }
        break
      case 'select':
        if (typeof v !== 'string' || !(v in field.values)) {
          problems.push(
            i18n('${label}: choose one of the offered values', { label }),
          )
        }
        break
      case 'multiselect': {
        const list = Array.isArray(v) ? v : []
        if (list.some((x) => typeof x !== 'string' || !(x in field.values))) {
          problems.push(
            i18n('${label}: choose among the offered values', { label }),
          )
        }
        if (field.minLength !== null && list.length < field.minLength) {
          problems.push(
            i18n('${label}: choose at least ${minLength}', {
              label,
              minLength: field.minLength,
            }),
          )
        }
        if (field.maxLength !== null && list.length > field.maxLength) {
          problems.push(
            i18n('${label}: choose at most ${maxLength}', {
              label,
              maxLength: field.maxLength,
            }),
          )
        }
        break
      }
      case 'list': {
        const list = Array.isArray(v) ? v : []
        if (field.minLength !== null && list.length < field.minLength) {
          problems.push(
            i18n('${label}: give at least ${minLength}', {
              label,
              minLength: field.minLength,
            }),
          )
        }
        if (field.maxLength !== null && list.length > field.maxLength) {
          problems.push(
            i18n('${label}: give at most ${maxLength}', {
              label,
              maxLength: field.maxLength,
            }),
          )
        }
        list.forEach((item, i) => {
          const itemLabel = `${label} #${i + 1}`
          if (field.spec.type === 'text') {
            if (typeof item !== 'string' || item === '') {
              problems.push(
                i18n('${itemLabel}: must not be empty', { itemLabel }),
              )
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
          problems.push(
            i18n('${label}: choose one of the offered options', { label }),
          )
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
    problems.push(
      i18n('${label}: at least ${minLength} characters', {
        label,
        minLength: rules.minLength,
      }),
    )
  }
  if (rules.maxLength !== null && v.length > rules.maxLength) {
    problems.push(
      i18n('${label}: at most ${maxLength} characters', {
        label,
        maxLength: rules.maxLength,
      }),
    )
  }
  for (const p of rules.patterns) {
    if (!new RegExp(p.regex).test(v))
      problems.push(
        i18n('${label}: ${description}', { label, description: p.description }),
      )
  }
}
