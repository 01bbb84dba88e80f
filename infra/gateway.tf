# The IAP Gateway's entry (deploy/iap-gateway.yaml): a global static address it names, so that
# re-creating the Gateway keeps the address DNS and the certificate point at, and the
# Certificate Manager map it serves (annotation networking.gke.io/certmap).
resource "google_compute_global_address" "gateway" {
  project = var.project_id
  name    = var.gateway_address_name

  depends_on = [time_sleep.apis_ready]
}

# A Google-managed certificate for var.domain, authorised by the load balancer once the domain's
# A record points at the address above (README, runbook step 4). Made only when a domain is set.
resource "google_certificate_manager_certificate" "chat" {
  count = var.domain == "" ? 0 : 1

  project = var.project_id
  name    = "hybrid-chat"
  scope   = "DEFAULT"

  managed {
    domains = [var.domain]
  }

  depends_on = [time_sleep.apis_ready]
}

resource "google_certificate_manager_certificate_map" "certs" {
  count = var.domain == "" ? 0 : 1

  project = var.project_id
  name    = var.certificate_map_name

  depends_on = [time_sleep.apis_ready]
}

resource "google_certificate_manager_certificate_map_entry" "chat" {
  count = var.domain == "" ? 0 : 1

  project      = var.project_id
  name         = "hybrid-chat"
  map          = google_certificate_manager_certificate_map.certs[0].name
  certificates = [google_certificate_manager_certificate.chat[0].id]
  hostname     = var.domain
}
