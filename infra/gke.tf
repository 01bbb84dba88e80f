# GKE Autopilot: Google manages the nodes, including the L4 GPU nodes vLLM asks for.
resource "google_container_cluster" "primary" {
  # checkov:skip=CKV_GCP_65:Google Groups for RBAC needs a Workspace domain; not assumed here.
  # checkov:skip=CKV_GCP_66:Binary Authorization needs an attestation pipeline; images come from our own Cloud Build.
  # checkov:skip=CKV_GCP_25:A private cluster needs Cloud NAT for Hugging Face downloads; left to the operator.
  # checkov:skip=CKV_GCP_64:Private nodes need Cloud NAT for Hugging Face downloads; left to the operator.
  # checkov:skip=CKV_GCP_20:Master authorized networks need the operator's fixed IP ranges; add them in a tfvars override.
  # checkov:skip=CKV_GCP_12:Autopilot always runs GKE Dataplane V2, which enforces NetworkPolicy (deploy/network-policy.yaml).
  # checkov:skip=CKV_GCP_18:Autopilot's control plane is public by default; restrict with master_authorized_networks where operators have fixed IPs.
  # checkov:skip=CKV_GCP_69:Autopilot always enables the GKE Metadata Server (Workload Identity).
  # checkov:skip=CKV_GCP_21:Labels are left to the operator's conventions.
  # checkov:skip=CKV_GCP_13:Autopilot always disables client certificate authentication.
  # checkov:skip=CKV_GCP_61:Autopilot manages VPC flow logs per subnet; not a cluster setting.
  name     = var.cluster_name
  location = var.region
  project  = var.project_id

  enable_autopilot    = true
  deletion_protection = var.deletion_protection

  network    = "default"
  subnetwork = "projects/${var.project_id}/regions/${var.region}/subnetworks/default"

  # VPC-native (alias IP) networking, which Autopilot requires; ranges chosen by GKE.
  ip_allocation_policy {}

  # Nodes run as their own least-privilege account, not the Compute Engine default one (which
  # is Editor on the project, and which new organisation projects no longer grant).
  cluster_autoscaling {
    auto_provisioning_defaults {
      service_account = google_service_account.nodes.email
      oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    }
  }

  release_channel {
    channel = "REGULAR"
  }

  timeouts {
    create = "30m"
    update = "30m"
  }

  depends_on = [time_sleep.apis_ready]
}

# The nodes' identity: write logs and metrics, pull our images. Workloads do not act as it (they
# use Workload Identity, infra/iam.tf).
resource "google_service_account" "nodes" {
  project      = var.project_id
  account_id   = "${var.cluster_name}-nodes"
  display_name = "GKE nodes of ${var.cluster_name}"

  depends_on = [time_sleep.apis_ready]
}

resource "google_project_iam_member" "nodes_default" {
  project = var.project_id
  role    = "roles/container.defaultNodeServiceAccount"
  member  = "serviceAccount:${google_service_account.nodes.email}"
}

resource "google_artifact_registry_repository_iam_member" "nodes_pull" {
  project    = var.project_id
  location   = google_artifact_registry_repository.images.location
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.nodes.email}"
}
