import { sdk } from '../sdk'
import { adjustLicense } from './adjustLicense'
import { archivePolicy } from './archivePolicy'
import { archiveProduct } from './archiveProduct'
import { backUpNow } from './backUpNow'
import { backupStatus } from './backupStatus'
import { cancelSubscription } from './cancelSubscription'
import { changeTier } from './changeTier'
import { checkBtcpay } from './checkBtcpay'
import { chooseBtcpayStore } from './chooseBtcpayStore'
import { connectBtcpay } from './connectBtcpay'
import { connectStripe } from './connectStripe'
import { disconnectStripe } from './disconnectStripe'
import { reconcileStripe } from './reconcileStripe'
import { createApiKey } from './createApiKey'
import { createDiscountCode } from './createDiscountCode'
import { createPolicy } from './createPolicy'
import { createProduct } from './createProduct'
import { customerDetails } from './customerDetails'
import { deactivateMachine } from './deactivateMachine'
import { deleteDiscountCode } from './deleteDiscountCode'
import { deleteWebhookEndpoint } from './deleteWebhookEndpoint'
import { demoMode } from './demoMode'
import { disconnectBtcpay } from './disconnectBtcpay'
import { editDiscountCode } from './editDiscountCode'
import { editPolicy } from './editPolicy'
import { editProduct } from './editProduct'
import { editWebhookEndpoint } from './editWebhookEndpoint'
import { emailSettings } from './emailSettings'
import { importLicenses } from './importLicenses'
import { exportData } from './exportData'
import { issueLicense } from './issueLicense'
import { licenseDetails } from './licenseDetails'
import { listApiKeys } from './listApiKeys'
import { listCatalog } from './listCatalog'
import { listCustomers } from './listCustomers'
import { listDiscountCodes } from './listDiscountCodes'
import { listLicenses } from './listLicenses'
import { listMachines } from './listMachines'
import { listSales } from './listSales'
import { listSubscriptions } from './listSubscriptions'
import { listWebhookEndpoints } from './listWebhookEndpoints'
import { nostrRelays } from './nostrRelays'
import { notificationSettings } from './notificationSettings'
import { reconcileBtcpay } from './reconcileBtcpay'
import { refundSale } from './refundSale'
import { registerWebhookEndpoint } from './registerWebhookEndpoint'
import { resendKey } from './resendKey'
import { resetSeats } from './resetSeats'
import { retryWebhookDelivery } from './retryWebhookDelivery'
import { revenueSummary } from './revenueSummary'
import { revokeApiKey } from './revokeApiKey'
import { revokeLicense } from './revokeLicense'
import { rotateWebhookSecret } from './rotateWebhookSecret'
import { saleDetails } from './saleDetails'
import { searchLicenses } from './searchLicenses'
import { sendTestEmail } from './sendTestEmail'
import { serviceStatus } from './serviceStatus'
import { setDiscountCodeActive } from './setDiscountCodeActive'
import { setOperatorName } from './setOperatorName'
import { showCredentials } from './showCredentials'
import { showWebhookDeliveries } from './showWebhookDeliveries'
import { suspendLicense } from './suspendLicense'
import { unsuspendLicense } from './unsuspendLicense'
import { viewAuditLog } from './viewAuditLog'
import { webhookDeliveryDetails } from './webhookDeliveryDetails'

/**
 * Every action, group by group in the order StartOS lists them
 * (common/fields.ts `groups`; manifest.yaml has the same list).
 */
export const actions = sdk.Actions.of()
  // Setup
  .addAction(serviceStatus)
  .addAction(showCredentials)
  .addAction(setOperatorName)
  .addAction(demoMode)
  // BTCPay
  .addAction(connectBtcpay)
  .addAction(checkBtcpay)
  .addAction(chooseBtcpayStore)
  .addAction(reconcileBtcpay)
  .addAction(disconnectBtcpay)
  // Stripe (cards)
  .addAction(connectStripe)
  .addAction(reconcileStripe)
  .addAction(disconnectStripe)
  // Products and tiers
  .addAction(listCatalog)
  .addAction(createProduct)
  .addAction(editProduct)
  .addAction(archiveProduct)
  .addAction(createPolicy)
  .addAction(editPolicy)
  .addAction(archivePolicy)
  // Discount codes
  .addAction(listDiscountCodes)
  .addAction(createDiscountCode)
  .addAction(editDiscountCode)
  .addAction(setDiscountCodeActive)
  .addAction(deleteDiscountCode)
  // Licenses
  .addAction(searchLicenses)
  .addAction(listLicenses)
  .addAction(licenseDetails)
  .addAction(issueLicense)
  .addAction(resendKey)
  .addAction(suspendLicense)
  .addAction(unsuspendLicense)
  .addAction(revokeLicense)
  .addAction(refundSale)
  .addAction(changeTier)
  .addAction(adjustLicense)
  // Subscriptions
  .addAction(listSubscriptions)
  .addAction(cancelSubscription)
  // Machines
  .addAction(listMachines)
  .addAction(deactivateMachine)
  .addAction(resetSeats)
  // Sales and customers
  .addAction(revenueSummary)
  .addAction(listSales)
  .addAction(saleDetails)
  .addAction(listCustomers)
  .addAction(customerDetails)
  // Notifications
  .addAction(notificationSettings)
  .addAction(nostrRelays)
  .addAction(emailSettings)
  .addAction(sendTestEmail)
  // Webhooks
  .addAction(listWebhookEndpoints)
  .addAction(registerWebhookEndpoint)
  .addAction(editWebhookEndpoint)
  .addAction(rotateWebhookSecret)
  .addAction(deleteWebhookEndpoint)
  .addAction(showWebhookDeliveries)
  .addAction(webhookDeliveryDetails)
  .addAction(retryWebhookDelivery)
  // API keys
  .addAction(listApiKeys)
  .addAction(createApiKey)
  .addAction(revokeApiKey)
  // Backups and data
  .addAction(backupStatus)
  .addAction(backUpNow)
  .addAction(importLicenses)
  .addAction(exportData)
  // Audit
  .addAction(viewAuditLog)
