# Chat sessions live here (collection chat_sessions). No placeholder document is created, unlike
# the codelab: Firestore creates a collection on its first write, so an "initialize" document
# only adds a record every reader must skip.
resource "google_firestore_database" "chats" {
  project     = var.project_id
  name        = var.database_id
  location_id = var.firestore_location
  type        = "FIRESTORE_NATIVE"

  point_in_time_recovery_enablement = "POINT_IN_TIME_RECOVERY_ENABLED"
  delete_protection_state           = var.deletion_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.deletion_protection ? "ABANDON" : "DELETE"

  depends_on = [time_sleep.apis_ready]
}

# The sidebar lists a visitor's sessions newest first: equality on owner, order by update time.
resource "google_firestore_index" "sessions_by_owner" {
  project    = var.project_id
  database   = google_firestore_database.chats.name
  collection = "chat_sessions"

  fields {
    field_path = "owner"
    order      = "ASCENDING"
  }

  fields {
    field_path = "updated_at_ms"
    order      = "DESCENDING"
  }
}

# Per-visitor limit counters (collection visitor_usage) carry an expires_at timestamp; this
# TTL policy lets Firestore delete them once their window or day is over.
resource "google_firestore_field" "usage_ttl" {
  project    = var.project_id
  database   = google_firestore_database.chats.name
  collection = "visitor_usage"
  field      = "expires_at"

  ttl_config {}
  index_config {}
}

# Title search (server/src/store/firestore/search.rs): equality on owner, array-contains on the
# title's pieces, newest first. A search reads at most 200 documents through it.
resource "google_firestore_index" "sessions_by_title_gram" {
  project    = var.project_id
  database   = google_firestore_database.chats.name
  collection = "chat_sessions"

  fields {
    field_path = "owner"
    order      = "ASCENDING"
  }

  fields {
    field_path   = "title_grams"
    array_config = "CONTAINS"
  }

  fields {
    field_path = "updated_at_ms"
    order      = "DESCENDING"
  }
}

# Attached files' records (collection chat_files, server/src/store/firestore/files.rs): a
# visitor's files of the last day (the daily quota), and the files never sent, oldest first
# (the sweep).
resource "google_firestore_index" "files_by_owner" {
  project    = var.project_id
  database   = google_firestore_database.chats.name
  collection = "chat_files"

  fields {
    field_path = "owner"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at_ms"
    order      = "ASCENDING"
  }
}

resource "google_firestore_index" "unsent_files" {
  project    = var.project_id
  database   = google_firestore_database.chats.name
  collection = "chat_files"

  fields {
    field_path = "session_id"
    order      = "ASCENDING"
  }

  fields {
    field_path = "created_at_ms"
    order      = "ASCENDING"
  }
}
