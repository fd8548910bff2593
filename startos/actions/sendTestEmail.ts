import { i18n } from '../i18n'
import { handler } from '../operator'
import { done, value } from '../results'
import { sdk } from '../sdk'
import { emailPattern, groups, metadata } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  to: Value.text({
    name: i18n('Send to'),
    description: i18n('An address of yours to receive the test e-mail.'),
    required: true,
    default: null,
    placeholder: 'you@example.com',
    patterns: [emailPattern],
  }),
})

export const sendTestEmail = sdk.Action.withInput(
  'send-test-email',
  metadata(
    i18n('Send a test e-mail'),
    i18n(
      'Sends an e-mail now through your SMTP settings and shows what the server answered.',
    ),
    groups.notifications,
  ),
  inputSpec,
  async () => null,
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    const r = await api.sendTestEmail(input.to.trim())
    return done(
      i18n('Test e-mail sent'),
      i18n('The SMTP server took it; check the inbox of ${to}.', {
        to: r.to,
      }),
      [
        value(i18n('To'), r.to),
        value(i18n('Server answer'), r.server_reply, { copyable: false }),
      ],
    )
  }),
)
