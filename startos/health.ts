import { i18n } from './i18n'
/** The daemon's health: its public port answers GET /healthz with {"ok": true}. */
export type Health = { result: 'success' | 'failure'; message: string }

export async function checkHealthz(
  url: string,
  timeoutMs = 3000,
): Promise<Health> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
    const body = (await res.json().catch(() => null)) as { ok?: unknown } | null
    if (res.ok && body?.ok === true) {
      return {
        result: 'success',
        message: i18n('Keysat is answering buyers and applications'),
      }
    }
    return {
      result: 'failure',
      message: i18n('Keysat answered HTTP ${status} to its health check', {
        status: res.status,
      }),
    }
  } catch {
    return {
      result: 'failure',
      message: i18n('Keysat is not answering on its public port'),
    }
  }
}
