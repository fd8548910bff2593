import { done, value } from '../results'
import { guarded, handler } from '../operator'
import { sdk } from '../sdk'
import { store } from '../store'
import { groups } from './fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  enabled: Value.toggle({
    name: 'Demo mode: simulated payments, no money',
    description:
      'On: every purchase is paid through a simulated checkout ("Pay" / "Let it expire") instead of BTCPay, and the license is issued as for a real sale. No bitcoin moves. Off: buyers pay through your BTCPay store.',
    default: false,
  }),
})

export const demoMode = guarded(
  sdk.Action.withInput(
    'demo-mode',
    {
      name: 'Demo mode (simulated payments)',
      description:
        'Try the whole sale without BTCPay and without money: a simulated checkout takes the payment. Switching restarts Keysat.',
      warning:
        'In demo mode payments are SIMULATED: anyone with the buy link gets a license without paying. Turn it off before you share the buy link.',
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
            'Demo mode is on: payments are simulated',
            'Keysat restarts in demo mode. The buy pages show a simulated checkout and say so; no money moves and BTCPay is not used. Turn demo mode off before you share the buy link.',
            [
              value('Demo mode', 'on (simulated payments)', {
                copyable: false,
              }),
            ],
          )
        : done(
            'Demo mode is off',
            'Keysat restarts and takes payments through BTCPay again (run "Check BTCPay connection" to see that it is connected). Licenses issued in demo mode stay valid until you revoke them.',
            [value('Demo mode', 'off', { copyable: false })],
          )
    }),
  ),
)
