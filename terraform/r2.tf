# Backups of the assistant's state. Import an existing bucket with the id
# "<account_id>/<bucket_name>/" (empty jurisdiction keeps the trailing slash).
resource "cloudflare_r2_bucket" "backups" {
  account_id = var.account_id
  name       = "${local.name}-backups"
}

resource "cloudflare_r2_bucket_lifecycle" "backups" {
  account_id  = var.account_id
  bucket_name = cloudflare_r2_bucket.backups.name
  rules = [
    {
      id         = "${local.name}-expire-old-backups"
      enabled    = true
      conditions = { prefix = "backups/" }
      delete_objects_transition = {
        condition = {
          type    = "Age"
          max_age = var.backup_expire_days * 86400
        }
      }
    },
    {
      id         = "${local.name}-abort-stale-uploads"
      enabled    = true
      conditions = { prefix = "" }
      abort_multipart_uploads_transition = {
        condition = {
          type    = "Age"
          max_age = 86400
        }
      }
    },
  ]
}
