# Identity-Aware Proxy: who may open the app when it runs behind deploy/iap-gateway.yaml.
# Granted on the project's IAP-secured web resources; an empty list grants nobody.
resource "google_iap_web_iam_member" "chat_users" {
  for_each = toset(var.iap_members)

  project = var.project_id
  role    = "roles/iap.httpsResourceAccessor"
  member  = each.value

  depends_on = [time_sleep.apis_ready]
}
