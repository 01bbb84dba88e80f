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

  release_channel {
    channel = "REGULAR"
  }

  timeouts {
    create = "30m"
    update = "30m"
  }

  depends_on = [google_project_service.enabled]
}
