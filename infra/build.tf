# Cloud Build runs `skaffold run`'s image build as its own least-privilege account, not the
# project's default one (the legacy Cloud Build account, or the Compute Engine default account
# that newer projects fall back to: Editor on the project, and refused by the
# iam.automaticIamGrantsForDefaultServiceAccounts organisation policy in new organisations).
# deploy/cloud-build.sh passes it to `gcloud builds submit --service-account` (README, runbook
# step 5): nothing tracked is edited by hand.
resource "google_service_account" "build" {
  project      = var.project_id
  account_id   = "hybrid-chat-build"
  display_name = "Cloud Build for hybrid-chat images"

  depends_on = [time_sleep.apis_ready]
}

# Push the image.
resource "google_artifact_registry_repository_iam_member" "build_push" {
  project    = var.project_id
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.writer"
  member     = "serviceAccount:${google_service_account.build.email}"
}

# Write the build's logs (skaffold streams them).
resource "google_project_iam_member" "build_logs" {
  project = var.project_id
  role    = "roles/logging.logWriter"
  member  = "serviceAccount:${google_service_account.build.email}"
}

# Builds run as this account (deploy/cloud-build.sh passes it); whoever runs the release needs
# to act as it. Granted to the people in build_submitters.
resource "google_service_account_iam_member" "build_act_as" {
  for_each = toset(var.build_submitters)

  service_account_id = google_service_account.build.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# Read the source skaffold uploads to the staging bucket.
resource "google_storage_bucket" "build_staging" {
  # checkov:skip=CKV_GCP_62:Access logs for a bucket of build sources add nothing the build's own logs lack.
  # checkov:skip=CKV_GCP_78:Sources are uploaded again for every build; versions would only keep stale copies.
  project                     = var.project_id
  name                        = "${var.project_id}_cloudbuild"
  location                    = "US"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = true

  depends_on = [time_sleep.apis_ready]

  lifecycle_rule {
    condition {
      age = 7
    }
    action {
      type = "Delete"
    }
  }
}

resource "google_storage_bucket_iam_member" "build_sources" {
  bucket = google_storage_bucket.build_staging.name
  role   = "roles/storage.objectViewer"
  member = "serviceAccount:${google_service_account.build.email}"
}
