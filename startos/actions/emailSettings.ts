import { InputError } from '../formRules'
import { i18n } from '../i18n'
import { handler, withApi } from '../operator'
import { done, value, yesNo } from '../results'
import { sdk } from '../sdk'
import { emailPattern, groups, metadata, opt } from './common/fields'

const { InputSpec, Value } = sdk

const inputSpec = InputSpec.of({
  enabled: Value.toggle({
    name: i18n('Send e-mail'),
    description: i18n(
      'Off: Keysat sends no e-mail at all. On: buyers who gave an e-mail address get their key (with its .lic file), renewal notices, new keys, refund notices and recovered keys by e-mail.',
    ),
    default: false,
  }),
  host: Value.text({
    name: i18n('SMTP server'),
    description: i18n(
      "Your mail provider's SMTP host. StartOS has no mail server of its own: use your provider's (for example smtp.fastmail.com).",
    ),
    required: false,
    default: null,
    placeholder: 'smtp.example.com',
    maxLength: 253,
  }),
  port: Value.number({
    name: i18n('Port'),
    description: i18n('Usually 587 with STARTTLS, 465 with TLS.'),
    required: false,
    default: 587,
    integer: true,
    min: 1,
    max: 65_535,
  }),
  security: Value.select({
    name: i18n('Connection security'),
    default: 'starttls',
    values: {
      starttls: i18n('STARTTLS (usually port 587)'),
      tls: i18n('TLS (usually port 465)'),
      none: i18n('None (only for a server on your own network)'),
    },
  }),
  username: Value.text({
    name: i18n('Username'),
    description: i18n('Empty when the server needs no login.'),
    required: false,
    default: null,
    maxLength: 254,
  }),
  password: Value.text({
    name: i18n('Password'),
    description: i18n(
      'Never shown again. Leave empty to keep the stored password for the same username.',
    ),
    required: false,
    default: null,
    masked: true,
    maxLength: 1024,
  }),
  from: Value.text({
    name: i18n('From address'),
    description: i18n(
      'The sender of every e-mail; your operator name is shown as its name.',
    ),
    required: false,
    default: null,
    placeholder: 'shop@example.com',
    patterns: [emailPattern],
  }),
})

export const emailSettings = sdk.Action.withInput(
  'email-settings',
  metadata(
    i18n('E-mail (SMTP) settings'),
    i18n(
      'Turns e-mail to buyers on or off, through your own SMTP server (StartOS has no built-in mail server).',
    ),
    groups.notifications,
  ),
  inputSpec,
  async () =>
    withApi(async (api) => {
      const { smtp } = await api.settings()
      if (!smtp) return { enabled: false }
      return {
        enabled: true,
        host: smtp.host,
        port: smtp.port,
        security: smtp.security,
        username: smtp.username ?? undefined,
        from: smtp.from,
      }
    }),
  handler<typeof inputSpec._TYPE>(async ({ input, api }) => {
    if (!input.enabled) {
      await api.updateSettings({ smtp: null })
      return done(i18n('E-mail is off'), i18n('Keysat sends no e-mail.'), [])
    }
    const host = opt(input.host)
    const from = opt(input.from)
    if (!host) throw new InputError(i18n('SMTP server: required'))
    if (!from) throw new InputError(i18n('From address: required'))
    const s = await api.updateSettings({
      smtp: {
        host,
        port: input.port ?? 587,
        security: input.security,
        username: opt(input.username),
        password: opt(input.password),
        from,
      },
    })
    const smtp = s.smtp
    return done(
      i18n('E-mail is on'),
      i18n(
        'Buyers who give an e-mail address get their keys and notices by e-mail. Try it with "Send a test e-mail".',
      ),
      smtp
        ? [
            value(i18n('SMTP server'), `${smtp.host}:${smtp.port}`),
            value(i18n('Connection security'), smtp.security, {
              copyable: false,
            }),
            value(i18n('Username'), smtp.username),
            value(i18n('Password stored'), yesNo(smtp.password_set), {
              copyable: false,
            }),
            value(i18n('From address'), smtp.from),
          ]
        : [],
    )
  }),
)
