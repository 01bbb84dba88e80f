resource "google_artifact_registry_repository" "images" {
  # checkov:skip=CKV_GCP_84:Google-managed encryption is enough for a public-source image; use a CMEK key where policy requires it.
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "hybrid-chat container images"

  # Every release pushes an image of ~40 MB: keep the newest ten (a rollback's worth), delete
  # the rest after 30 days (the running image is among the newest unless no release for 10).
  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-newest"
    action = "KEEP"
    most_recent_versions {
      keep_count = 10
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      tag_state  = "ANY"
      older_than = "2592000s"
    }
  }

  # Scan every pushed image for known vulnerabilities (needs containerscanning.googleapis.com,
  # infra/apis.tf); findings show under the image in Artifact Registry.
  vulnerability_scanning_config {
    enablement_config = "INHERITED"
  }

  depends_on = [time_sleep.apis_ready]
}
