# Every API the resources below call, enabled here rather than by hand. One `terraform apply` on
# an empty project must succeed, so every resource that calls an API depends on this (directly
# or through what it references); CI checks that statically (.ci/check_terraform.py).
locals {
  services = [
    "cloudresourcemanager.googleapis.com", # project IAM bindings, the project lookup
    "iam.googleapis.com",                  # service accounts
    "serviceusage.googleapis.com",
    "compute.googleapis.com",            # the Gateway's static address
    "container.googleapis.com",          # GKE Autopilot
    "cloudbuild.googleapis.com",         # image builds
    "storage.googleapis.com",            # the build staging bucket
    "artifactregistry.googleapis.com",   # images
    "containerscanning.googleapis.com",  # vulnerability scanning of pushed images
    "firestore.googleapis.com",          # chats
    "aiplatform.googleapis.com",         # Gemini
    "iap.googleapis.com",                # Identity-Aware Proxy
    "certificatemanager.googleapis.com", # the Gateway's certificate map
    "monitoring.googleapis.com",         # Managed Prometheus, read by the HPA's metrics adapter
  ]
}

resource "google_project_service" "enabled" {
  for_each = toset(local.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}

# An API answers "has not been used in project … or it is disabled" for a short while after it
# is turned on; resources wait for this instead of the enablement alone.
resource "time_sleep" "apis_ready" {
  create_duration = "60s"

  depends_on = [google_project_service.enabled]
}
