/**
 * The machine rules of a tier, shared by "Create policy" and "Edit policy":
 * offline leases, buyers freeing their own machines, floating seats and one
 * trial per machine (the daemon's `MachineRules`).
 */
import type { MachineRules, Policy } from '../api'
import { days, value } from '../results'
import { sdk } from '../sdk'

const { Value } = sdk

/** The form fields; `required` false in the edit form (empty keeps the value). */
export function machineRuleFields(required: boolean) {
  const keep = required ? '' : ' Leave empty to keep it.'
  return {
    leaseDays: Value.number({
      name: 'Offline lease',
      description: `How long a machine may run without reaching Keysat (offline leases and air-gapped activations), never past the license's end.${keep}`,
      required,
      default: required ? 7 : null,
      integer: true,
      min: 1,
      max: 3_660,
      units: 'days',
    }),
    selfResetLimit: Value.number({
      name: 'Self-service frees',
      description: `How often per 30 days a buyer may free their own machines on the /seats page; 0 for never (you can always free them).${keep}`,
      required,
      default: required ? 3 : null,
      integer: true,
      min: 0,
      max: 1_000,
    }),
    seatTimeoutMinutes: Value.number({
      name: 'Floating seat timeout',
      description: `A machine not heard from for this long gives its seat back; 0 for never.${keep}`,
      required,
      default: required ? 0 : null,
      integer: true,
      min: 0,
      max: 527_040,
      units: 'minutes',
    }),
  }
}

/** The form's values as the daemon's fields (absent when left empty). */
export function machineRules(input: {
  leaseDays: number | null
  selfResetLimit: number | null
  seatTimeoutMinutes: number | null
}): MachineRules {
  return {
    lease_seconds:
      input.leaseDays === null ? undefined : input.leaseDays * 86_400,
    self_reset_limit: input.selfResetLimit ?? undefined,
    seat_timeout_seconds:
      input.seatTimeoutMinutes === null
        ? undefined
        : input.seatTimeoutMinutes * 60,
  }
}

/** The result lines showing a tier's machine rules. */
export function machineRuleValues(p: Policy) {
  return [
    value('Offline lease', days(p.lease_seconds), { copyable: false }),
    value(
      'Self-service frees',
      p.self_reset_limit === 0
        ? 'none (only you free machines)'
        : `${p.self_reset_limit} per 30 days`,
      { copyable: false },
    ),
    value(
      'Floating seat timeout',
      p.seat_timeout_seconds === 0
        ? 'never'
        : `${p.seat_timeout_seconds / 60} minutes`,
      { copyable: false },
    ),
    value('One trial per machine', p.one_trial_per_machine ? 'yes' : 'no', {
      copyable: false,
    }),
  ]
}
