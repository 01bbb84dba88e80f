variable "project_id" {
  description = "Google Cloud project to deploy into."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid project ID (6-30 lowercase letters, digits, hyphens)."
  }
}

variable "region" {
  description = "Region for the GKE Autopilot cluster and the Artifact Registry repository."
  type        = string
  default     = "us-central1"

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must look like us-central1."
  }
}

variable "cluster_name" {
  description = "Name of the GKE Autopilot cluster."
  type        = string
  default     = "hybrid-chat-cluster"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,22}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 2-24 lowercase letters, digits or hyphens (the node service account is named after it)."
  }
}

variable "database_id" {
  description = "Firestore database that keeps the chat sessions."
  type        = string
  default     = "chat-app-db"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{2,61}[a-z0-9]$", var.database_id))
    error_message = "database_id must be 4-63 lowercase letters, digits or hyphens."
  }
}

variable "firestore_location" {
  description = "Firestore location (multi-region nam5 as in the codelab, or a region)."
  type        = string
  default     = "nam5"
}

variable "repository_id" {
  description = "Artifact Registry repository for the hybrid-chat image."
  type        = string
  default     = "chat-app-repo"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,61}[a-z0-9]$", var.repository_id))
    error_message = "repository_id must be lowercase letters, digits or hyphens."
  }
}

variable "k8s_namespace" {
  description = "Kubernetes namespace of the hybrid-chat service account."
  type        = string
  default     = "default"
}

variable "k8s_service_account" {
  description = "Kubernetes service account the hybrid-chat pods run as (deploy/chat-deploy.yaml)."
  type        = string
  default     = "hybrid-chat-ksa"
}

variable "deletion_protection" {
  description = "Protect the cluster and the chat database from `terraform destroy` (on by default: the database holds every chat). Set false, apply, then destroy, to tear everything down."
  type        = bool
  default     = true
}

variable "iap_members" {
  description = "Who may use the app behind Identity-Aware Proxy, e.g. [\"user:ana@example.com\", \"group:chat@example.com\", \"domain:example.com\"]."
  type        = list(string)
  default     = []
}

variable "domain" {
  description = "The app's host name behind IAP, e.g. chat.example.com: a Google-managed certificate for it goes in the Gateway's certificate map. Empty makes no certificate (the public LoadBalancer needs none)."
  type        = string
  default     = ""

  validation {
    condition     = var.domain == "" || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain))
    error_message = "domain must be a lowercase host name such as chat.example.com, or empty."
  }
}

variable "gateway_address_name" {
  description = "Global static IP address the IAP Gateway names (deploy/iap-gateway.yaml, spec.addresses)."
  type        = string
  default     = "hybrid-chat-ip"
}

variable "certificate_map_name" {
  description = "Certificate Manager map the IAP Gateway serves (deploy/iap-gateway.yaml, annotation networking.gke.io/certmap)."
  type        = string
  default     = "hybrid-chat-certs"
}

variable "build_submitters" {
  description = "Who may start image builds as the build account besides project owners (roles/iam.serviceAccountUser on it), e.g. [\"user:ana@example.com\"]."
  type        = list(string)
  default     = []
}
