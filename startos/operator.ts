/**
 * How every action body runs: the form's rules are enforced first, then the
 * body talks to the daemon; whatever goes wrong reaches the operator as one
 * plain sentence (the daemon's own message when the daemon refused), never a
 * stack trace.
 */
import { IST, T } from '@start9labs/start-sdk'
import { KeysatApi, KeysatError, keysat } from './api'
import { checkInput, InputError } from './formRules'
import { Result } from './results'

/** A failure as the operator reads it. `stack` is the message alone. */
export class OperatorError extends Error {
  constructor(
    message: string,
    /** The daemon's error code, `invalid_input` or `unexpected`. */
    readonly code: string,
  ) {
    super(message)
    this.name = 'Error'
    this.stack = message
  }
}

export function forOperator(e: unknown, spec?: IST.InputSpec): OperatorError {
  if (e instanceof OperatorError) return e
  if (e instanceof KeysatError) return new OperatorError(e.message, e.code)
  if (e instanceof InputError)
    return new OperatorError(e.message, 'invalid_input')
  const zod = zodIssues(e, spec)
  if (zod) return new OperatorError(zod, 'invalid_input')
  console.error('keysat action failed:', e)
  const what = e instanceof Error ? e.message : String(e)
  return new OperatorError(
    `Something unexpected went wrong: ${what} (details are in the service log)`,
    'unexpected',
  )
}

/**
 * The SDK checks an input's shape (zod) before the action runs; say what
 * failed in one line, naming fields as the form does.
 */
function zodIssues(e: unknown, spec?: IST.InputSpec): string | null {
  const err = e as { name?: string; issues?: unknown } | null
  if (err?.name !== 'ZodError' || !Array.isArray(err.issues)) return null
  return err.issues
    .map((i: { path?: unknown[]; message?: string }) => {
      const [first, ...rest] = (i.path ?? []).map(String)
      const label =
        first === undefined
          ? 'Input'
          : ((spec?.[first] as { name?: string } | undefined)?.name ?? first)
      const what = /received (null|undefined)$/.test(i.message ?? '')
        ? 'required'
        : (i.message ?? 'invalid')
      return `${[label, ...rest].join(' › ')}: ${what}`
    })
    .join('; ')
}

type Guardable = {
  getInput: (o: never) => Promise<T.ActionInput>
  run: (o: never) => Promise<unknown>
}

/**
 * An action whose every failure, the SDK's own input check included, reaches
 * the operator as one sentence.
 */
export function guarded<A extends Guardable>(action: A): A {
  const getInput = action.getInput.bind(action) as (
    o: unknown,
  ) => Promise<T.ActionInput>
  const run = action.run.bind(action) as (o: unknown) => Promise<unknown>
  const specs = new Map<string, IST.InputSpec>()
  Object.assign(action, {
    getInput: async (o: unknown) => {
      const form = await getInput(o)
      specs.set(form.eventId, form.spec as IST.InputSpec)
      if (specs.size > 64) specs.delete(specs.keys().next().value as string)
      return form
    },
    run: async (o: { effects: T.Effects }) => {
      const spec = specs.get(o.effects.eventId ?? '')
      try {
        return await run(o)
      } catch (e) {
        throw forOperator(e, spec)
      } finally {
        specs.delete(o.effects.eventId ?? '')
      }
    },
  })
  return action
}

type Body<I> = (o: {
  effects: T.Effects
  input: I
  api: KeysatApi
}) => Promise<Result>

/** The `run` of an action: form rules, then `body` with a client of the daemon. */
export function handler<I>(body: Body<I>) {
  return async (o: {
    effects: T.Effects
    input: I
    spec: IST.InputSpec
  }): Promise<Result> => {
    try {
      checkInput(o.spec, o.input)
      return await body({
        effects: o.effects,
        input: o.input,
        api: await keysat(),
      })
    } catch (e) {
      throw forOperator(e)
    }
  }
}

/** Builds an input spec or prefill that needs the daemon, with the same error handling. */
export async function withApi<R>(
  fn: (api: KeysatApi) => Promise<R>,
): Promise<R> {
  try {
    return await fn(await keysat())
  } catch (e) {
    throw forOperator(e)
  }
}
