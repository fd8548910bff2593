/** The marketplace texts, by locale (StartOS shows the operator's language, else en_US). */
export const short = {
  en_US: 'Sell software licenses for bitcoin from your own server',
}

export const long = {
  en_US:
    'Keysat is a self-hosted, Bitcoin-first software-licensing server. Define products and tiers, share a buy link, get paid in bitcoin through your own BTCPay Server, and issue Ed25519-signed license keys that your applications verify offline. Every operator task (catalogue, codes, licenses, sales, webhooks, notifications, backups) is an action button.',
}

export const btcpayDescription = {
  en_US:
    'Takes the payments (recommended): Keysat creates invoices in your BTCPay store and issues the license when BTCPay reports the invoice paid. Required once you connect BTCPay; before that Keysat runs without it.',
}
