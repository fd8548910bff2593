import { sdk } from '../sdk'
import { adjustLicense } from './adjustLicense'
import { cancelSubscription } from './cancelSubscription'
import { changeTier } from './changeTier'
import { checkBtcpay } from './checkBtcpay'
import { chooseBtcpayStore } from './chooseBtcpayStore'
import { connectBtcpay } from './connectBtcpay'
import { connectStripe } from './connectStripe'
import { createDiscountCode } from './createDiscountCode'
import { createPolicy } from './createPolicy'
import { createProduct } from './createProduct'
import { deactivateMachine } from './deactivateMachine'
import { demoMode } from './demoMode'
import { editPolicy } from './editPolicy'
import { disconnectBtcpay } from './disconnectBtcpay'
import { issueLicense } from './issueLicense'
import { listDiscountCodes } from './listDiscountCodes'
import { listMachines } from './listMachines'
import { listSubscriptions } from './listSubscriptions'
import { listWebhookEndpoints } from './listWebhookEndpoints'
import { refundSale } from './refundSale'
import { registerWebhookEndpoint } from './registerWebhookEndpoint'
import { revokeLicense } from './revokeLicense'
import { searchLicenses } from './searchLicenses'
import { setDiscountCodeActive } from './setDiscountCodeActive'
import { setOperatorName } from './setOperatorName'
import { showCredentials } from './showCredentials'
import { showWebhookDeliveries } from './showWebhookDeliveries'
import { suspendLicense } from './suspendLicense'
import { unsuspendLicense } from './unsuspendLicense'
import { viewAuditLog } from './viewAuditLog'

/** Every action, in the order StartOS lists them (manifest.yaml has the same list). */
export const actions = sdk.Actions.of()
  .addAction(connectBtcpay)
  .addAction(checkBtcpay)
  .addAction(chooseBtcpayStore)
  .addAction(disconnectBtcpay)
  .addAction(connectStripe)
  .addAction(setOperatorName)
  .addAction(showCredentials)
  .addAction(demoMode)
  .addAction(createProduct)
  .addAction(createPolicy)
  .addAction(editPolicy)
  .addAction(createDiscountCode)
  .addAction(listDiscountCodes)
  .addAction(setDiscountCodeActive)
  .addAction(issueLicense)
  .addAction(searchLicenses)
  .addAction(suspendLicense)
  .addAction(unsuspendLicense)
  .addAction(revokeLicense)
  .addAction(changeTier)
  .addAction(adjustLicense)
  .addAction(listSubscriptions)
  .addAction(cancelSubscription)
  .addAction(refundSale)
  .addAction(listMachines)
  .addAction(deactivateMachine)
  .addAction(registerWebhookEndpoint)
  .addAction(listWebhookEndpoints)
  .addAction(showWebhookDeliveries)
  .addAction(viewAuditLog)
