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
        message: 'Keysat is answering buyers and applications',
      }
    }
    return {
      result: 'failure',
      message: `Keysat answered HTTP ${res.status} to its health check`,
    }
  } catch {
    return {
      result: 'failure',
      message: 'Keysat is not answering on its public port',
    }
  }
}
