# The APIs the codelab enables, managed here rather than by hand.
locals {
  services = [
    "cloudbuild.googleapis.com",
    "artifactregistry.googleapis.com",
    "container.googleapis.com",
    "firestore.googleapis.com",
    "aiplatform.googleapis.com",
    "iap.googleapis.com",
  ]
}

resource "google_project_service" "enabled" {
  for_each = toset(local.services)

  project            = var.project_id
  service            = each.value
  disable_on_destroy = false
}
