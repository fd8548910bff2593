import { i18n } from '../i18n'
import { done, value } from '../results'
import { handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../fileModels/store.json'
import { groups } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  enabled: Value.toggle({
    name: i18n('Demo mode: simulated payments, no money'),
    description: i18n(
      'On: every purchase is paid through a simulated checkout ("Pay" / "Let it expire") instead of BTCPay, and the license is issued as for a real sale. No bitcoin moves. Off: buyers pay through your BTCPay store.',
    ),
    default: false,
  }),
})

export const demoMode = sdk.Action.withInput(
  'demo-mode',
  {
    name: i18n('Demo mode (simulated payments)'),
    description: i18n(
      'Try the whole sale without BTCPay and without money: a simulated checkout takes the payment. Switching restarts Keysat.',
    ),
    warning: i18n(
      'In demo mode payments are SIMULATED: anyone with the buy link gets a license without paying. Turn it off before you share the buy link.',
    ),
    // Only the package store changes; main.ts restarts the daemon with KEYSAT_DEMO.
    allowedStatuses: 'any',
    group: groups.setup,
    visibility: 'enabled',
  },
  inputSpec,
  async () => ({
    enabled:
      (await store()
        .read((s) => s.demoMode === true)
        .once()) === true,
  }),
  handler<typeof inputSpec._TYPE>(async ({ effects, input }) => {
    await store().merge(effects, { demoMode: input.enabled })
    return input.enabled
      ? done(
          i18n('Demo mode is on: payments are simulated'),
          i18n(
            'Keysat restarts in demo mode. The buy pages show a simulated checkout and say so; no money moves and BTCPay is not used. Turn demo mode off before you share the buy link.',
          ),
          [
            value(i18n('Demo mode'), i18n('on (simulated payments)'), {
              copyable: false,
            }),
          ],
        )
      : done(
          i18n('Demo mode is off'),
          i18n(
            'Keysat restarts and takes payments through BTCPay again (run "Check BTCPay connection" to see that it is connected). Licenses issued in demo mode stay valid until you revoke them.',
          ),
          [value(i18n('Demo mode'), 'off', { copyable: false })],
        )
  }),
)
