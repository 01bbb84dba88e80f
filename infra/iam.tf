# Workload Identity: the hybrid-chat pods' Kubernetes service account gets exactly two project
# roles, granted to its federated principal (no Google service account, no key), and one role on
# the attachments bucket alone (attachments.tf).
#
# The codelab also granted roles/iam.serviceAccountTokenCreator project-wide. It is not needed:
# on GKE the metadata server mints this principal's own access tokens, so nothing impersonates
# another account. Project-wide, that role would let the pods act as every service account in
# the project.
data "google_project" "this" {
  project_id = var.project_id

  depends_on = [time_sleep.apis_ready]
}

# These grants name principals of the cluster's Workload Identity pool (PROJECT.svc.id.goog),
# which exists only once the first cluster is made: each waits for the cluster.
locals {
  wi_pool       = "principal://iam.googleapis.com/projects/${data.google_project.this.number}/locations/global/workloadIdentityPools/${var.project_id}.svc.id.goog/subject"
  ksa_principal = "${local.wi_pool}/ns/${var.k8s_namespace}/sa/${var.k8s_service_account}"
}

# Call Gemini on Vertex AI.
resource "google_project_iam_member" "vertex_user" {
  project = var.project_id
  role    = "roles/aiplatform.user"
  member  = local.ksa_principal

  depends_on = [google_container_cluster.primary]
}

# Read and write the chat sessions in Firestore.
resource "google_project_iam_member" "datastore_user" {
  project = var.project_id
  role    = "roles/datastore.user"
  member  = local.ksa_principal

  depends_on = [google_container_cluster.primary]
}

# The Custom Metrics Stackdriver Adapter (README, runbook step 5) reads Managed Prometheus for
# the app's HorizontalPodAutoscaler; it runs as this Kubernetes service account.
resource "google_project_iam_member" "metrics_adapter" {
  project = var.project_id
  role    = "roles/monitoring.viewer"
  member  = "${local.wi_pool}/ns/custom-metrics/sa/custom-metrics-stackdriver-adapter"

  depends_on = [google_container_cluster.primary]
}
