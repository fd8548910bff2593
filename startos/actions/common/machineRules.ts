/**
 * The machine rules of a tier, shared by "Create policy" and "Edit policy":
 * offline leases, buyers freeing their own machines, floating seats and one
 * trial per machine (the daemon's `MachineRules`).
 */
import type { MachineRules, Policy } from '../../api'
import { i18n } from '../../i18n'
import { days, value, yesNo } from '../../results'
import { sdk } from '../../sdk'

const { Value } = sdk

/** The form fields; `required` false in the edit form (empty keeps the value). */
export function machineRuleFields(required: boolean) {
  const keep = required ? '' : ` ${i18n('Leave empty to keep it.')}`
  return {
    leaseDays: Value.number({
      name: i18n('Offline lease'),
      description:
        i18n(
          "How long a machine may run without reaching Keysat (offline leases and air-gapped activations), never past the license's end.",
        ) + keep,
      required,
      default: required ? 7 : null,
      integer: true,
      min: 1,
      max: 3_660,
      units: i18n('days'),
    }),
    selfResetLimit: Value.number({
      name: i18n('Self-service frees'),
      description:
        i18n(
          'How often per 30 days a buyer may free their own machines on the /seats page; 0 for never (you can always free them).',
        ) + keep,
      required,
      default: required ? 3 : null,
      integer: true,
      min: 0,
      max: 1_000,
    }),
    seatTimeoutMinutes: Value.number({
      name: i18n('Floating seat timeout'),
      description:
        i18n(
          'A machine not heard from for this long gives its seat back; 0 for never.',
        ) + keep,
      required,
      default: required ? 0 : null,
      integer: true,
      min: 0,
      max: 527_040,
      units: i18n('minutes'),
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
    value(i18n('Offline lease'), days(p.lease_seconds), { copyable: false }),
    value(
      i18n('Self-service frees'),
      p.self_reset_limit === 0
        ? i18n('none (only you free machines)')
        : i18n('${n} per 30 days', { n: p.self_reset_limit }),
      { copyable: false },
    ),
    value(
      i18n('Floating seat timeout'),
      p.seat_timeout_seconds === 0
        ? i18n('never')
        : i18n('${n} minutes', { n: p.seat_timeout_seconds / 60 }),
      { copyable: false },
    ),
    value(i18n('One trial per machine'), yesNo(p.one_trial_per_machine), {
      copyable: false,
    }),
  ]
}
