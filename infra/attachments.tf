# Attached files (issue #28): their bytes live here; Firestore keeps only references (id, owner,
# chat, type, size, hash). The app reaches the bucket with its Workload Identity, through a role
# of exactly the three object permissions it uses.
resource "google_storage_bucket" "attachments" {
  # checkov:skip=CKV_GCP_62:Access logs would record every visitor's file reads; the app logs its own requests.
  # checkov:skip=CKV_GCP_78:A file is written once and never changed; deleting a chat must really delete its files, which versions would keep.
  project                     = var.project_id
  name                        = "${var.project_id}-hybrid-chat-attachments"
  location                    = var.region
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = !var.deletion_protection

  # Deleted means gone: no 7-day soft-delete copy of a file whose chat was deleted.
  soft_delete_policy {
    retention_duration_seconds = 0
  }

  depends_on = [time_sleep.apis_ready]
}

# Create, read and delete objects: no listing, no bucket settings, no other bucket.
resource "google_project_iam_custom_role" "attachments" {
  project     = var.project_id
  role_id     = "hybridChatAttachments"
  title       = "hybrid-chat attachments"
  description = "Create, read and delete the objects of the attachments bucket."
  permissions = [
    "storage.objects.create",
    "storage.objects.get",
    "storage.objects.delete",
  ]

  depends_on = [time_sleep.apis_ready]
}

resource "google_storage_bucket_iam_member" "attachments" {
  bucket = google_storage_bucket.attachments.name
  role   = google_project_iam_custom_role.attachments.id
  member = local.ksa_principal

  depends_on = [google_container_cluster.primary]
}
