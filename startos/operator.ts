/**
 * How every action body runs: `handler(body)` is the action's `run`. It
 * enforces the form's own rules, hands the body a client of the daemon, and
 * turns whatever goes wrong into one plain sentence for the operator (the
 * daemon's own message when the daemon refused), never a stack trace.
 *
 * The SDK checks the input's shape (zod) before `run` is called; the StartOS
 * UI enforces the same shape as the operator types, so only a malformed
 * start-cli call meets the SDK's own message.
 */
import { IST, T } from '@start9labs/start-sdk'
import { KeysatApi, KeysatError, keysat } from './api'
import { checkInput, InputError } from './formRules'
import { i18n } from './i18n'
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

export function forOperator(e: unknown): OperatorError {
  if (e instanceof OperatorError) return e
  if (e instanceof KeysatError) return new OperatorError(e.message, e.code)
  if (e instanceof InputError)
    return new OperatorError(e.message, 'invalid_input')
  console.error('keysat action failed:', e)
  const what = e instanceof Error ? e.message : String(e)
  return new OperatorError(
    i18n(
      'Something unexpected went wrong: ${what} (details are in the service log)',
      { what },
    ),
    'unexpected',
  )
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
