output "cluster_name" {
  description = "GKE cluster; connect with gcloud container clusters get-credentials."
  value       = google_container_cluster.primary.name
}

output "image_repository" {
  description = "Pass to skaffold run --default-repo."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.images.repository_id}"
}

output "workload_identity_principal" {
  description = "The principal the hybrid-chat pods act as."
  value       = local.ksa_principal
}

output "firestore_database" {
  description = "Firestore database for chat sessions."
  value       = google_firestore_database.chats.name
}

output "build_service_account" {
  description = "The account image builds run as: deploy/cloud-build.sh reads it (BUILD_SERVICE_ACCOUNT)."
  value       = "projects/${var.project_id}/serviceAccounts/${google_service_account.build.email}"
}

output "gateway_address" {
  description = "The IAP Gateway's static IP: point your domain's A record here (runbook step 4)."
  value       = google_compute_global_address.gateway.address
}

output "attachments_bucket" {
  description = "Cloud Storage bucket for attached files: the runbook writes it into ConfigMap hybrid-chat-storage, read as ATTACHMENTS_BUCKET."
  value       = google_storage_bucket.attachments.name
}
