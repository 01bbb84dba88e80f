resource "google_artifact_registry_repository" "images" {
  # checkov:skip=CKV_GCP_84:Google-managed encryption is enough for a public-source image; use a CMEK key where policy requires it.
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "hybrid-chat container images"

  depends_on = [google_project_service.enabled]
}
